"""Every function in include/corsgate.h documents Ownership, Lifetime,
Thread safety, NULL and Returns (ABI.md; README "C"), and every export is
inside the one panic boundary (src/ffi/mod.rs)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINES = ("Ownership:", "Lifetime:", "Thread safety:", "NULL:", "Returns:")


def functions():
    header = (ROOT / "include" / "corsgate.h").read_text()
    # a doc block, then a declaration ending in `name(...);`
    for doc, decl in re.findall(r"/\*\*(.*?)\*/\n([^/#]*?\);)", header, re.S):
        m = re.search(r"\b(corsgate_[a-z_]+)\(", decl)
        if m:
            yield m.group(1), doc


def test_every_function_documents_the_five_rules():
    seen = dict(functions())
    assert len(seen) >= 28, sorted(seen)
    missing = {name: [l for l in LINES if l not in doc]
               for name, doc in seen.items()}
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, missing


def test_every_export_runs_inside_the_panic_boundary():
    src = (ROOT / "src" / "ffi" / "mod.rs").read_text()
    bodies = re.findall(
        r'#\[no_mangle\]\npub extern "C" fn (\w+)\([^{]*\{\n(.*?)\n\}\n', src,
        re.S)
    assert len(bodies) >= 28
    unguarded = [name for name, body in bodies
                 if not body.lstrip().startswith(("ffi_panic_boundary!",
                                                  "static NAMES",
                                                  "let empty"))
                 or "ffi_panic_boundary!" not in body]
    assert not unguarded, unguarded
