//! Loads the shared vectors (tests/vectors/*.json) for the Rust runners.
#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;

/// One vector file.
pub struct VectorFile {
    pub file: String,
    pub policy: String,
    pub cases: Vec<Case>,
}

/// One case: a request and what corsgate must decide.
pub struct Case {
    pub name: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub expect: Value,
}

pub fn load() -> Vec<VectorFile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let files: Vec<VectorFile> = paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let doc: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let cases = doc["cases"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: no cases", path.display()))
                .iter()
                .map(|c| Case {
                    name: c["name"].as_str().unwrap().to_owned(),
                    method: c["request"]["method"].as_str().unwrap().to_owned(),
                    headers: c["request"]["headers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|h| {
                            (
                                h[0].as_str().unwrap().to_owned(),
                                h[1].as_str().unwrap().to_owned(),
                            )
                        })
                        .collect(),
                    expect: c["expect"].clone(),
                })
                .collect();
            VectorFile {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                policy: doc["policy"].to_string(),
                cases,
            }
        })
        .collect();
    let total: usize = files.iter().map(|f| f.cases.len()).sum();
    assert!(
        total >= 200,
        "expected at least 200 shared vectors, found {total}"
    );
    files
}
