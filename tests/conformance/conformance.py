"""Outside suites as corsgate conformance data: load, compare, judge.

Shared by the C, nginx and Envoy runners; tests/conformance.rs is its Rust
twin (both follow tests/conformance/README.md). Standard library only.

    import conformance as cf
    cases = cf.load_cases()                  # every request case, all suites
    obs = cf.Observed(respond, status, header_lines)
    problems = cf.compare(case, obs)         # [] = corsgate agrees
    cf.check_one(case.suite, case.id, problems, "nginx")   # [] = as listed
    cf.judge({(suite, id): problems, ...}, "c")            # all cases at once

Command line (scripts/c-tests uses it around tests/conformance/replay.c):
    conformance.py c-input OUT.txt           flatten every case for replay.c
    conformance.py c-judge RESULTS.txt       judge replay.c's output
    conformance.py table                     differences.json as Markdown
    conformance.py readme                    ... written into README.md
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITES = ("jub0bs-cors", "rs-cors", "wpt")

CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
)
VARY_TOKENS = ("origin", "access-control-request-method",
               "access-control-request-headers")
SAFELISTED_METHODS = ("GET", "HEAD", "POST")
# Fetch, "CORS-safelisted response-header name"
SAFELISTED_RESPONSE = ("cache-control", "content-language", "content-length",
                       "content-type", "expires", "last-modified", "pragma")
NEVER_EXPOSED = ("set-cookie", "set-cookie2")


@dataclass(frozen=True)
class Case:
    suite: str
    id: str            # "TestSpec/MaxAge", the row key of differences.json
    policy: dict | None  # None: no corsgate equivalent (a listed difference)
    method: str
    headers: tuple     # ((name, value), ...) request lines in order
    expect: dict
    http: bool

    @property
    def slug(self) -> str:
        keep = "".join(c if c.isalnum() or c in "._+-" else "-" for c in self.id)
        return f"{self.suite}/{keep}"


@dataclass(frozen=True)
class ConfigCase:
    suite: str
    id: str
    policy: dict | None
    accepted: bool


def _suite_docs():
    for suite in SUITES:
        path = HERE / f"{suite}.json"
        yield suite, json.loads(path.read_text(encoding="utf-8"))


def case_id(test: str, group: str | None, name: str | None) -> str:
    return "/".join(p for p in (test, group, name) if p)


def load_cases() -> list[Case]:
    out = []
    for suite, doc in _suite_docs():
        for g in doc.get("groups", []):
            for c in g["cases"]:
                out.append(Case(
                    suite=suite,
                    id=case_id(g["test"], g.get("group"), c.get("name")),
                    policy=g["policy"],
                    method=c["request"]["method"],
                    headers=tuple((n, v) for n, v in c["request"]["headers"]),
                    expect=c["expect"],
                    http=c.get("http", True),
                ))
    return out


def load_configs() -> list[ConfigCase]:
    out = []
    for suite, doc in _suite_docs():
        for c in doc.get("configs", []):
            out.append(ConfigCase(suite, case_id(c["test"], None, c["name"]),
                                  c["policy"], c["accepted"]))
    return out


# --------------------------------------------------------------------------
# What a response tells a browser


@dataclass
class Observed:
    """What corsgate did: answered itself (respond, with status) or let the
    upstream answer; and the response's header lines."""

    respond: bool
    status: int | None
    lines: list  # [(name, value)]

    def header(self, name: str) -> str | None:
        vals = [v for n, v in self.lines if n.lower() == name]
        return ", ".join(vals) if vals else None

    def vary(self) -> set[str]:
        return {t.strip().lower() for n, v in self.lines if n.lower() == "vary"
                for t in v.split(",") if t.strip()}


def elements(value: str | None) -> list[str]:
    """A comma list's non-empty elements, trimmed of spaces and tabs."""
    if value is None:
        return []
    return [e.strip(" \t") for e in value.split(",") if e.strip(" \t")]


def request_line(case: Case, name: str) -> list[str]:
    return [v for n, v in case.headers if n.lower() == name]


def requested_method(case: Case) -> str | None:
    v = request_line(case, "access-control-request-method")
    return v[0] if len(v) == 1 else None


def requested_headers(case: Case) -> list[str]:
    return [e.lower() for v in request_line(case, "access-control-request-headers")
            for e in elements(v)]


def method_admitted(acam: str | None, method: str, credentials: bool) -> bool:
    """Fetch's CORS-preflight check for the method."""
    allowed = elements(acam)
    return (method in SAFELISTED_METHODS or method in allowed
            or ("*" in allowed and not credentials))


def headers_admitted(acah: str | None, names: list[str], credentials: bool) -> bool:
    """Fetch's CORS-preflight check for the request's header names."""
    allowed = {e.lower() for e in elements(acah)}
    return all(n in allowed or ("*" in allowed and not credentials
                                and n != "authorization") for n in names)


def origin_admitted(headers: dict, origin: str | None, credentials: bool) -> bool:
    """Fetch's CORS check (ACAO, then ACAC when credentialed)."""
    acao = headers.get("access-control-allow-origin")
    if acao is None or origin is None:
        return False
    if acao == "*" and not credentials:
        return True
    if acao != origin:
        return False
    return not credentials or headers.get("access-control-allow-credentials") == "true"


def exposed(headers: dict, name: str, credentials: bool) -> bool:
    """Whether a browser lets script read response header NAME."""
    n = name.lower()
    if n in NEVER_EXPOSED:
        return False
    listed = {e.lower() for e in elements(headers.get("access-control-expose-headers"))}
    return (n in SAFELISTED_RESPONSE or n in listed
            or ("*" in listed and not credentials))


def browser_view(case: Case, obs: Observed, expect: dict) -> dict:
    """The facts a browser derives from OBS, for the keys EXPECT asks."""
    cred = expect.get("credentials", False)
    h = {n: obs.header(n) for n in CORS_HEADERS}
    origin = (request_line(case, "origin") or [None])[0]
    view = {}
    if "ok" in expect:
        ok = origin_admitted(h, origin, cred)
        if requested_method(case) is not None and case.method == "OPTIONS":
            status = obs.status if obs.respond else 200
            ok = (ok and status is not None and 200 <= status <= 299
                  and method_admitted(h["access-control-allow-methods"],
                                      requested_method(case), cred)
                  and headers_admitted(h["access-control-allow-headers"],
                                       requested_headers(case), cred))
        view["ok"] = ok
    if "exposes" in expect:
        view["exposes"] = {n: exposed(h, n, cred) for n in expect["exposes"]}
    return view


def compare(case: Case, obs: Observed) -> list[str]:
    """Where OBS departs from the outside suite's expectation (README rules)."""
    e = case.expect
    if "browser" in e:
        want = e["browser"]
        got = browser_view(case, obs, want)
        return [f"{k}: corsgate gives {json.dumps(got[k])}, the suite expects "
                f"{json.dumps(want[k])}"
                for k in got if got[k] != want[k]]
    problems = []
    if e.get("respond") is not None and obs.respond != e["respond"]:
        problems.append("respond: corsgate answers itself" if obs.respond
                        else "respond: corsgate lets the upstream answer")
    elif e.get("status") is not None and obs.respond and obs.status != e["status"]:
        problems.append(f"status: {obs.status}, the suite expects {e['status']}")
    want = {n.lower(): v for n, v in e.get("headers", {}).items()}
    got = {n: obs.header(n) for n in CORS_HEADERS}
    method = requested_method(case)
    preflight = case.method == "OPTIONS" and method is not None
    names = requested_headers(case)
    for n in CORS_HEADERS:
        w, g = want.get(n), got[n]
        if preflight and n in ADMITS:
            # Compared by what a browser would do with each value, given
            # each side's credentials.
            admitted, which, them = ADMITS[n]
            asked = method if which == "method" else names
            wc = want.get("access-control-allow-credentials") == "true"
            gc = got["access-control-allow-credentials"] == "true"
            wa, ga = admitted(w, asked, wc), admitted(g, asked, gc)
            if wa != ga:
                problems.append(f"{n}: {g!r} {'admits' if ga else 'refuses'} "
                                f"{asked}, the suite's {w!r} "
                                f"{'admits' if wa else 'refuses'} {them}")
            continue
        if n == "access-control-expose-headers":
            ws = {x.lower() for x in elements(w)} if w is not None else None
            gs = {x.lower() for x in elements(g)} if g is not None else None
            if ws != gs:
                problems.append(f"{n}: {g!r}, the suite expects {w!r}")
            continue
        if w != g:
            problems.append(f"{n}: {g!r}, the suite expects {w!r}")
    missing = [t for t in e.get("vary", []) if t.lower() not in obs.vary()]
    if missing:
        problems.append(f"vary: lacks {missing}")
    return problems


NO_EQUIVALENT = "no-equivalent: corsgate has no such feature"


def refused(message: str) -> str:
    """The problem of every case whose policy corsgate refuses."""
    return f"refused: corsgate refuses the policy: {message.strip()[:300]}"


def facets(problems: list[str]) -> set[str]:
    """What differs: each problem's leading word (`status`, a header name,
    `vary`, `ok`, `exposes`, `respond`, `accepted`, `refused`,
    `no-equivalent`)."""
    return {p.split(":", 1)[0] for p in problems}


# A preflight's allow lists, by the request's method or header names.
ADMITS = {
    "access-control-allow-methods": (method_admitted, "method", "it"),
    "access-control-allow-headers": (headers_admitted, "names", "them"),
}


def config_problems(case: ConfigCase, accepted: dict, key) -> list[str]:
    """compare_config for a surface that loaded each case's policy once:
    accepted[key(policy)] is (loaded, message)."""
    if case.policy is None:
        return compare_config(case, False)
    ok, message = accepted[key(case.policy)]
    return compare_config(case, ok, message)


def compare_config(case: ConfigCase, accepted: bool, message: str = "") -> list[str]:
    if case.policy is None:
        return [NO_EQUIVALENT]
    if accepted == case.accepted:
        return []
    if accepted:
        return ["accepted: corsgate accepts the policy, the suite refuses it"]
    return [f"refused: corsgate refuses the policy ({message.strip()[:200]}), "
            "the suite accepts it"]


def glob(pattern: str, text: str) -> bool:
    """`*` in a row's case matches any run of characters, `\\*` is a
    literal `*` (WPT names contain some); nothing else is special (case
    names contain brackets)."""
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("\\*", i):
            regex, i = regex + re.escape("*"), i + 2
        elif pattern[i] == "*":
            regex, i = regex + ".*", i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.fullmatch(regex, text, re.S) is not None


SURFACES = ("rust", "c", "nginx", "envoy")


def applies(row: dict, surface: str) -> bool:
    """A row holds on every surface unless it names some in "surfaces"."""
    return surface in row.get("surfaces", SURFACES)


def judge(results: dict[tuple[str, str], list[str]], surface: str) -> list[str]:
    """RESULTS: (suite, case id) -> problems, for every case a runner
    replayed. Returns the failures: differences no row of differences.json
    lists, and rows whose cases (among those replayed) no longer differ.
    A row's case may name a group with `*`; then every case it matches must
    differ."""
    failures, covered = [], set()
    for row in rows():
        if not applies(row, surface):
            continue
        suite, pattern = row["suite"], row["case"]
        for field in ("difference", "reason"):
            if not str(row.get(field, "")).strip():
                failures.append(f"differences.json: {suite} {pattern}: no {field}")
        for key, problems in results.items():
            if key[0] == suite and glob(pattern, key[1]):
                covered.add(key)
                failures += [f"{suite}: {key[1]}: {f}"
                             for f in row_failures(row, problems)]
        if suite in SUITES and not any(k[0] == suite and glob(pattern, k[1])
                                       for k in results):
            failures.append(f"differences.json: {suite} {pattern}: matches no case")
    for key, problems in sorted(results.items()):
        if problems and key not in covered:
            failures.append(f"{key[0]}: {key[1]}: unlisted difference: "
                            + "; ".join(problems))
    return failures


def rows() -> list[dict]:
    return json.loads((HERE / "differences.json").read_text(encoding="utf-8"))


def listed(suite: str, case: str, surface: str) -> list[dict]:
    """The rows of differences.json that cover (SUITE, CASE) on SURFACE."""
    return [r for r in rows() if r["suite"] == suite and glob(r["case"], case)
            and applies(r, surface)]


def row_failures(row: dict, problems: list[str]) -> list[str]:
    """Why ROW does not describe a case with PROBLEMS ([] when it does):
    the case must differ, and in exactly the row's "facets"."""
    if not problems:
        return [f"listed in differences.json ({row['case']}) but corsgate "
                "now agrees: remove or narrow the row"]
    if set(row["facets"]) != facets(problems):
        return [f"differs in {sorted(facets(problems))}, the row of "
                f"differences.json ({row['case']}) says {sorted(row['facets'])}: "
                + "; ".join(problems)]
    return []


def check_one(suite: str, case: str, problems: list[str], surface: str) -> list[str]:
    """judge() for one case: [] when it differs exactly as listed."""
    rows_here = listed(suite, case, surface)
    if problems and not rows_here:
        return ["unlisted difference: " + "; ".join(problems)]
    return [f for r in rows_here for f in row_failures(r, problems)]


def unmatched_rows(keys, surface: str) -> list[str]:
    """Rows (other than gateway-api's) for SURFACE that match none of KEYS."""
    return [f"{r['suite']}: {r['case']}" for r in rows()
            if r["suite"] in SUITES and applies(r, surface)
            and not any(s == r["suite"] and glob(r["case"], c) for s, c in keys)]


def observe_unreplayable(case) -> list[str]:
    """Problems of a case whose group has no corsgate policy."""
    return [NO_EQUIVALENT]


def table() -> str:
    """differences.json as the Markdown table of README.md: rows that share
    suite, difference, reason and surfaces are one line listing their cases."""
    lines = ["| suite | cases | differs in | what corsgate does instead | why | surfaces |",
             "| --- | --- | --- | --- | --- | --- |"]
    short = {"access-control-allow-origin": "ACAO",
             "access-control-allow-credentials": "ACAC",
             "access-control-allow-methods": "ACAM",
             "access-control-allow-headers": "ACAH",
             "access-control-max-age": "ACMA",
             "access-control-expose-headers": "ACEH"}
    merged: dict[tuple, list[str]] = {}
    for r in rows():
        key = (r["suite"], ", ".join(short.get(f, f) for f in r.get("facets", [])),
               r["difference"], r["reason"], ", ".join(r.get("surfaces", ["all"])))
        merged.setdefault(key, []).append(r["case"])

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    for (suite, facets_, difference, reason, surfaces), cases in merged.items():
        names = "<br>".join(f"`{cell(c)}`" for c in cases)
        lines.append(f"| {suite} | {names} | {facets_} | {cell(difference)} | "
                     f"{cell(reason)} | {surfaces} |")
    return "\n".join(lines) + "\n"


README_START = "<!-- differences table: generated, do not edit -->\n"
README_END = "<!-- end of differences table -->\n"


def readme_with_table(text: str) -> str:
    """README.md's text with the generated table between its markers."""
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    return head + README_START + "\n" + table() + "\n" + README_END + tail


# --------------------------------------------------------------------------
# C replay (tests/conformance/replay.c): line format in both directions


def _hex(text: str) -> str:
    data = text.encode("utf-8")
    return data.hex() if data else "-"


def _unhex(field: str) -> str:
    return "" if field == "-" else bytes.fromhex(field).decode("utf-8", "replace")


def c_input(out: str) -> int:
    """P <policy hex>        a policy, only checked (config case)
       Q <policy hex>        the policy of the requests that follow
       C <method hex>        a request ...
       H <name hex> <value hex>
       .                     ... ends"""
    lines = []
    for c in load_configs():
        if c.policy is not None:
            lines.append(f"P {_hex(json.dumps(c.policy))}")
    for c in load_cases():
        if c.policy is None:
            continue
        lines.append(f"Q {_hex(json.dumps(c.policy))}")
        lines.append(f"C {_hex(c.method)}")
        lines += [f"H {_hex(n)} {_hex(v)}" for n, v in c.headers]
        lines.append(".")
    Path(out).write_text("\n".join(lines) + "\n", encoding="ascii")
    print(f"conformance: {len(lines)} lines -> {out}")
    return 0


def c_judge(path: str) -> int:
    """replay.c answers, in input order:
       A <0|1> <message hex>                 config case: accepted?
       D <respond 0|1> <status>               a request's decision ...
       R <name hex> <value hex>               ... each header it adds
       E                                      ... end
       X <message hex>                        the group's policy was refused"""
    answers = Path(path).read_text(encoding="ascii").splitlines()
    i = 0
    results = {}
    for c in load_configs():
        if c.policy is None:
            results[(c.suite, c.id)] = compare_config(c, False)
            continue
        kind, ok, msg = answers[i].split(" ")
        assert kind == "A", answers[i]
        i += 1
        results[(c.suite, c.id)] = compare_config(c, ok == "1", _unhex(msg))
    for c in load_cases():
        if c.policy is None:
            results[(c.suite, c.id)] = observe_unreplayable(c)
            continue
        f = answers[i].split(" ")
        i += 1
        if f[0] == "X":
            results[(c.suite, c.id)] = [refused(_unhex(f[1]))]
            continue
        assert f[0] == "D", f
        respond, status = f[1] == "1", int(f[2])
        lines = []
        while answers[i] != "E":
            _, n, v = answers[i].split(" ")
            lines.append((_unhex(n), _unhex(v)))
            i += 1
        i += 1
        results[(c.suite, c.id)] = compare(
            c, Observed(respond, status if respond else None, lines))
    failures = judge(results, "c")
    for f in failures:
        print("FAIL", f)
    differing = sum(1 for p in results.values() if p)
    print(f"conformance (C ABI): {len(results)} cases, {differing} listed "
          f"differences, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["table"]:
        print(table(), end="")
        sys.exit(0)
    if sys.argv[1:] == ["readme"]:
        path = HERE / "README.md"
        path.write_text(readme_with_table(path.read_text(encoding="utf-8")),
                        encoding="utf-8")
        sys.exit(0)
    cmd, arg = sys.argv[1], sys.argv[2]
    sys.exit({"c-input": c_input, "c-judge": c_judge}[cmd](arg))
