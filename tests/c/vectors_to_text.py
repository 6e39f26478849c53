#!/usr/bin/env python3
"""Flattens tests/vectors/*.json into the line format tests/c/vectors.c reads.

C has no JSON parser, so the shared vectors are rewritten, at test time, as
plain lines of space-separated fields. Every byte string is hex-encoded (an
empty one is written `-`), so any byte (CR, LF, NUL, non-ASCII) survives and
no field ever contains a space. The policy stays JSON (the library parses it)
but is hex-encoded too.

    F <file name>                              one vector file
    P <policy JSON> <report 0|1>               its policy; report = mode report
    C <case name> <method>                     one case ...
    H <name> <value>                           ... each request header line
    E <verdict> <kind> <reason> <action> <status> <strip 0|1>
    R <name> <value> <SET|APPEND>              ... each expected header
    .                                          end of the case

verdict, kind, reason and action are plain ASCII words (not hex); status is
decimal. Expected header ops follow tests/vectors/README.md: `vary` is
APPEND, every other header SET.

Usage: vectors_to_text.py OUT.txt VECTOR.json...
"""

import json
import sys


def hexs(text):
    """Hex of the UTF-8 bytes of `text`, or `-` when empty."""
    data = text.encode("utf-8")
    return data.hex() if data else "-"


def word(text):
    """A plain field: must be non-empty ASCII without spaces."""
    if not text or not text.isascii() or any(c.isspace() for c in text):
        raise ValueError(f"not a plain word: {text!r}")
    return text


def convert(path):
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    name = path.rsplit("/", 1)[-1]
    policy = doc["policy"]
    report = 1 if policy.get("mode") == "report" else 0
    lines = [
        f"F {hexs(name)}",
        f"P {hexs(json.dumps(policy, ensure_ascii=False))} {report}",
    ]
    for case in doc["cases"]:
        request = case["request"]
        expect = case["expect"]
        lines.append(f"C {hexs(case['name'])} {hexs(request['method'])}")
        for hname, hvalue in request["headers"]:
            lines.append(f"H {hexs(hname)} {hexs(hvalue)}")
        status = int(expect["status"])
        strip = 1 if expect["strip_upstream"] else 0
        lines.append(
            "E "
            + " ".join(
                word(expect[k]) for k in ("verdict", "kind", "reason", "action")
            )
            + f" {status} {strip}"
        )
        for hname, hvalue in expect["headers"]:
            op = "APPEND" if hname.lower() == "vary" else "SET"
            lines.append(f"R {hexs(hname)} {hexs(hvalue)} {op}")
        lines.append(".")
    return lines, len(doc["cases"])


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    out, paths = argv[1], sorted(argv[2:])
    lines, total = [], 0
    for path in paths:
        file_lines, count = convert(path)
        lines += file_lines
        total += count
    with open(out, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"vectors_to_text: {total} cases from {len(paths)} files -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
