//! YAML streams read into JSON values, bounded for hostile manifests.
//!
//! saphyr-parser (maintained, pure Rust, YAML 1.2) hands over events; this
//! module builds the tree itself so that every limit is ours: the input size
//! (checked before parsing), the nesting depth, and the number of nodes and
//! scalar bytes **after** alias expansion, so a "billion laughs" document
//! stops after a fixed amount of work with an error naming the limit. One
//! bad document is reported alone; the others are still read, unless the
//! stream itself is not YAML (then the error names the line).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

/// The largest manifest read, in bytes (Kubernetes objects are at most
/// 1.5 MiB each in etcd; 16 MiB leaves room for long multi-document files).
pub const MAX_INPUT: usize = 16 << 20;
/// Deepest nesting of mappings and sequences.
const MAX_DEPTH: usize = 64;
/// Nodes per document, aliases counted by the size of what they repeat.
const MAX_NODES: usize = 200_000;
/// Scalar bytes per document, aliases counted by what they repeat.
const MAX_BYTES: usize = 32 << 20;

/// One document of the stream.
pub struct Document {
    /// 1-based position in the stream.
    pub index: usize,
    /// 1-based line where it starts.
    pub line: usize,
    /// The document as JSON, or why it could not be read.
    pub value: Result<Value, String>,
}

enum Container {
    Seq(Vec<Value>),
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        merges: Vec<Value>,
    },
}

struct Frame {
    container: Container,
    anchor: usize,
    nodes: usize,
    bytes: usize,
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize, usize)>,
    nodes: usize,
    bytes: usize,
    root: Option<Value>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            bytes: 0,
            root: None,
        }
    }

    fn charge(&mut self, nodes: usize, bytes: usize) -> Result<(), String> {
        self.nodes = self.nodes.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
        if self.nodes > MAX_NODES {
            return Err(format!(
                "more than {MAX_NODES} nodes once aliases are expanded (a YAML \"billion laughs\"?): not read"
            ));
        }
        if self.bytes > MAX_BYTES {
            return Err(format!(
                "more than {} MiB of text once aliases are expanded: not read",
                MAX_BYTES >> 20
            ));
        }
        Ok(())
    }

    /// A complete node: stored under its anchor, then given to its parent.
    fn finish(
        &mut self,
        value: Value,
        anchor: usize,
        nodes: usize,
        bytes: usize,
    ) -> Result<(), String> {
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), nodes, bytes));
        }
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        parent.nodes = parent.nodes.saturating_add(nodes);
        parent.bytes = parent.bytes.saturating_add(bytes);
        match &mut parent.container {
            Container::Seq(items) => items.push(value),
            Container::Map { map, key, merges } => match key.take() {
                None => {
                    *key = Some(match value {
                        Value::String(s) => s,
                        Value::Null => "null".into(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => return Err("a mapping key is itself a mapping or a list".into()),
                    })
                }
                Some(k) if k == "<<" => merges.push(value),
                Some(k) => {
                    if map.contains_key(&k) {
                        return Err(format!("duplicate key {k:?}"));
                    }
                    map.insert(k, value);
                }
            },
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), String> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let bytes = text.len();
                self.charge(1, bytes)?;
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !is_str_tag {
                    plain_scalar(&text)
                } else {
                    Value::String(text.into_owned())
                };
                self.finish(value, anchor, 1, bytes)
            }
            Event::Alias(id) => {
                let (value, nodes, bytes) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or("an alias names an unknown anchor")?;
                // Charge before the clone above is kept: the budget bounds
                // every byte and node ever built.
                self.charge(nodes, bytes)?;
                self.finish(value, 0, nodes, bytes)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(format!("nested deeper than {MAX_DEPTH} levels: not read"));
                }
                if let Some(Frame {
                    container: Container::Map { key: None, .. },
                    ..
                }) = self.stack.last()
                {
                    return Err("a mapping key is itself a mapping or a list".into());
                }
                self.charge(1, 0)?;
                let container = if matches!(event, Event::SequenceStart(..)) {
                    Container::Seq(Vec::new())
                } else {
                    Container::Map {
                        map: Map::new(),
                        key: None,
                        merges: Vec::new(),
                    }
                };
                self.stack.push(Frame {
                    container,
                    anchor,
                    nodes: 1,
                    bytes: 0,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().ok_or("unbalanced YAML events")?;
                let value = match frame.container {
                    Container::Seq(items) => Value::Array(items),
                    Container::Map {
                        mut map, merges, ..
                    } => {
                        // `<<: *base` (and `<<: [*a, *b]`): keys written in
                        // the mapping win; earlier merges win over later.
                        for merge in merges {
                            let sources = match merge {
                                Value::Array(items) => items,
                                other => vec![other],
                            };
                            for source in sources {
                                let Value::Object(source) = source else {
                                    return Err("`<<` merges only mappings".into());
                                };
                                for (k, v) in source {
                                    map.entry(k).or_insert(v);
                                }
                            }
                        }
                        Value::Object(map)
                    }
                };
                self.finish(value, frame.anchor, frame.nodes, frame.bytes)
            }
            _ => Ok(()),
        }
    }
}

/// A plain scalar by the YAML 1.2 core schema (what Kubernetes' YAML reader
/// also resolves): null, booleans, integers, floats, else a string.
fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Number(n.into());
        }
    }
    let looks_float = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().filter(|&b| b == b'.').count() <= 1;
    if looks_float {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_owned())
}

/// Every document of a YAML (or JSON) stream.
pub fn documents(text: &str) -> Vec<Document> {
    let mut out = Vec::new();
    let mut parser = Parser::new_from_str(text);
    let mut current: Option<(Document, Builder)> = None;
    let mut skip_to_end = false;
    let mut index = 0;
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(ev) => ev,
            Err(e) => {
                let line = e.marker().line();
                let message = format!("line {line}: not YAML: {}", e.info());
                match current.take() {
                    Some((mut doc, _)) => {
                        // A budget error found first stays the reason.
                        if doc.value.is_ok() {
                            doc.value = Err(message);
                        }
                        out.push(doc);
                    }
                    None => out.push(Document {
                        index: index + 1,
                        line,
                        value: Err(message),
                    }),
                }
                return out;
            }
        };
        match event {
            Event::DocumentStart(_) => {
                index += 1;
                skip_to_end = false;
                current = Some((
                    Document {
                        index,
                        line: span.start.line(),
                        value: Ok(Value::Null),
                    },
                    Builder::new(),
                ));
            }
            Event::DocumentEnd => {
                if let Some((mut doc, builder)) = current.take() {
                    if doc.value.is_ok() {
                        doc.value = Ok(builder.root.unwrap_or(Value::Null));
                    }
                    out.push(doc);
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            event => {
                if skip_to_end {
                    continue;
                }
                if let Some((doc, builder)) = current.as_mut() {
                    if let Err(message) = builder.event(event) {
                        doc.value = Err(message);
                        // Drop what was built; read on to the next document.
                        *builder = Builder::new();
                        skip_to_end = true;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_anchors_merges() {
        let docs =
            documents("a: &x {k: 1, m: [true, null, '7', 2.5]}\nb:\n  <<: *x\n  k: 2\n---\n- x\n");
        assert_eq!(docs.len(), 2);
        let v = docs[0].value.as_ref().unwrap();
        assert_eq!(v["a"]["m"], serde_json::json!([true, null, "7", 2.5]));
        assert_eq!(v["b"]["k"], 2);
        assert_eq!(v["b"]["m"][2], "7");
        assert_eq!(docs[1].value.as_ref().unwrap(), &serde_json::json!(["x"]));
    }

    #[test]
    fn billion_laughs_stops_and_next_document_reads() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (n, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            bomb += &format!("{n}: &{n} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n");
        }
        bomb += "---\nok: 1\n";
        let docs = documents(&bomb);
        assert!(docs[0]
            .value
            .as_ref()
            .unwrap_err()
            .contains("billion laughs"));
        assert_eq!(docs[1].value.as_ref().unwrap()["ok"], 1);
    }

    #[test]
    fn deep_nesting_and_duplicates_and_garbage() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(documents(&deep)[0]
            .value
            .as_ref()
            .unwrap_err()
            .contains("nested deeper"));
        assert!(documents("a: 1\na: 2\n")[0]
            .value
            .as_ref()
            .unwrap_err()
            .contains("duplicate key \"a\""));
        let bad = documents("a: [1, 2\nb: {");
        assert!(bad
            .last()
            .unwrap()
            .value
            .as_ref()
            .unwrap_err()
            .contains("not YAML"));
    }
}
