#!/usr/bin/env python3
"""Validate the structure of every shared vector file (see README.md here).

Checks each file's keys and value types, the allowed strings, the header
order of `expect.headers`, `status` 0 exactly when the action is `continue`,
report mode (no headers, nothing stripped), enforce mode (strip_upstream),
that `kind` follows from the request, that the `vary` value is the one the
kind calls for, and that cases HTTP cannot carry faithfully are marked
`"http": false`. It does not re-derive the decisions: the Rust, C, NGINX and
Envoy runners do that.

Usage: check_vectors.py [DIR]   (default: the directory of this script)
Prints the number of cases per file and in all; exits 1 on any problem.
Standard library only.
"""

import json
import re
import sys
from pathlib import Path

TOP_KEYS = {"description", "policy", "cases"}
CASE_KEYS = {"name", "http", "request", "upstream_headers", "expect"}
CASE_REQUIRED = {"name", "request", "expect"}
REQUEST_KEYS = {"method", "headers"}
EXPECT_KEYS = {"verdict", "kind", "reason", "action", "status", "strip_upstream", "headers"}

POLICY_FIELDS = {
    "allow_origins": list,
    "allow_methods": list,
    "allow_headers": list,
    "expose_headers": list,
    "allow_credentials": bool,
    "max_age": int,
    "preflight_status": int,
    "on_preflight_deny": str,
    "on_actual_deny": str,
    "mode": str,
    "debug": bool,
}
POLICY_ENUMS = {
    "preflight_status": {200, 204},
    "on_preflight_deny": {"reject", "forward"},
    "on_actual_deny": {"omit", "reject"},
    "mode": {"enforce", "report"},
}

VERDICTS = {"allowed", "denied", "not-cors"}
KINDS = {"preflight", "actual", "not-cors"}
ACTIONS = {"continue", "respond"}
REASONS = {
    "not-cors", "allowed", "origin-not-allowed", "origin-malformed",
    "origin-too-long", "origin-duplicated", "origin-null",
    "method-not-allowed", "method-malformed", "method-duplicated",
    "header-not-allowed", "headers-malformed", "headers-too-long",
    "too-many-headers", "too-many-header-lines",
}
HEADER_ORDER = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
    "vary",
    "x-corsgate-reason",
]
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
ACTUAL_VARY = "Origin"
RESPOND_STATUSES = {200, 204, 403}

TCHAR = frozenset(
    "!#$%&'*+-.^_`|~0123456789"
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
# A header line longer than this does not fit NGINX's default 8k buffer.
HTTP_MAX_LINE = 8000
# Proxies merge repeated lines of these (Envoy: inline headers joined by ",").
MERGED_BY_PROXIES = ("access-control-request-method",)
MAX_UNMERGED_ACRH_LINES = 8


def case_id(file_name, case_name):
    """The pytest id of a case (same rule as tests/harness/corsgate_http.py)."""
    stem = file_name[:-5] if file_name.endswith(".json") else file_name
    slug = re.sub(r"[^A-Za-z0-9._+-]+", "-", case_name).strip("-")
    return f"{stem}/{slug}"


def is_token(s):
    return bool(s) and all(c in TCHAR for c in s)


def http_unsafe_value(v):
    """Why HTTP/1.1 servers cannot carry this header value as is, or None."""
    if any(c in v for c in "\r\n\x00"):
        return "CR, LF or NUL"
    if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in v):
        return "control byte"
    if any(ord(c) > 0x7E for c in v):
        return "non-ASCII"
    if v != v.strip(" \t"):
        return "leading or trailing whitespace"
    return None


def is_pair_list(x):
    return isinstance(x, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
        for p in x
    )


class Checker:
    def __init__(self):
        self.problems = []
        self.ids = {}

    def bad(self, where, msg):
        self.problems.append(f"{where}: {msg}")

    def check_policy(self, where, policy):
        if not isinstance(policy, dict):
            self.bad(where, "policy is not an object")
            return None
        for k, v in policy.items():
            if k not in POLICY_FIELDS:
                self.bad(where, f"policy has unknown field {k!r}")
                continue
            t = POLICY_FIELDS[k]
            if t is int and (isinstance(v, bool) or not isinstance(v, int)):
                self.bad(where, f"policy.{k} must be an integer")
            elif t is not int and not isinstance(v, t):
                self.bad(where, f"policy.{k} must be {t.__name__}")
            elif t is list and not all(isinstance(s, str) and s for s in v):
                self.bad(where, f"policy.{k} must be a list of non-empty strings")
            elif k in POLICY_ENUMS and v not in POLICY_ENUMS[k]:
                self.bad(where, f"policy.{k} = {v!r} not in {sorted(POLICY_ENUMS[k])}")
        if "allow_origins" not in policy or not policy.get("allow_origins"):
            self.bad(where, "policy.allow_origins is required and non-empty")
        if "max_age" in policy and isinstance(policy["max_age"], int):
            if not 0 <= policy["max_age"] <= 86400:
                self.bad(where, "policy.max_age must be within 0..86400")
        origins = policy.get("allow_origins") or []
        if "*" in origins and policy.get("allow_credentials"):
            self.bad(where, "policy: \"*\" with allow_credentials is invalid")
        return policy

    def check_case(self, where, case, policy, names, file_name):
        if not isinstance(case, dict):
            self.bad(where, "case is not an object")
            return
        for k in case:
            if k not in CASE_KEYS:
                self.bad(where, f"unknown case key {k!r}")
        for k in CASE_REQUIRED - case.keys():
            self.bad(where, f"missing case key {k!r}")
        name = case.get("name")
        if not isinstance(name, str) or not name:
            self.bad(where, "name must be a non-empty string")
            return
        where = f"{where} {name!r}"
        if name in names:
            self.bad(where, "duplicate case name in file")
        names.add(name)
        cid = case_id(file_name, name)
        if cid in self.ids:
            self.bad(where, f"case id {cid!r} collides with {self.ids[cid]}")
        self.ids[cid] = where
        http = case.get("http", True)
        if not isinstance(http, bool):
            self.bad(where, "http must be a boolean")

        request = case.get("request")
        if not isinstance(request, dict) or set(request) != REQUEST_KEYS:
            self.bad(where, "request must have exactly method and headers")
            return
        method, headers = request["method"], request["headers"]
        if not isinstance(method, str) or not method:
            self.bad(where, "request.method must be a non-empty string")
            return
        if not is_pair_list(headers):
            self.bad(where, "request.headers must be a list of [name, value] string pairs")
            return
        for n, _ in headers:
            if not is_token(n):
                self.bad(where, f"request header name {n!r} is not a token")
        up = case.get("upstream_headers")
        if up is not None:
            if not is_pair_list(up):
                self.bad(where, "upstream_headers must be a list of [name, value] string pairs")
                up = []
            for n, v in up:
                if not is_token(n):
                    self.bad(where, f"upstream header name {n!r} is not a token")
                if http_unsafe_value(v):
                    self.bad(where, f"upstream header {n!r} value is not HTTP-safe")

        # Cases HTTP cannot carry faithfully must say so.
        if http is True:
            if not re.fullmatch(r"[A-Z]+", method):
                self.bad(where, f"method {method!r} is not plain uppercase: needs \"http\": false")
            for n, v in headers:
                why = http_unsafe_value(v)
                if why:
                    self.bad(where, f"header {n!r} has {why}: needs \"http\": false")
                if len(n) + 2 + len(v.encode("utf-8")) > HTTP_MAX_LINE:
                    self.bad(where, f"header {n!r} longer than {HTTP_MAX_LINE} bytes: needs \"http\": false")

        lower = [n.lower() for n, _ in headers]
        n_origin = lower.count("origin")
        n_acrm = lower.count("access-control-request-method")
        n_acrh = lower.count("access-control-request-headers")
        if n_origin == 0:
            want_kind = "not-cors"
        elif method == "OPTIONS" and n_acrm > 0:
            want_kind = "preflight"
        else:
            want_kind = "actual"
        if http is True and want_kind == "preflight":
            for merged in MERGED_BY_PROXIES:
                if lower.count(merged) > 1:
                    self.bad(where, f"several {merged} lines (proxies merge them): needs \"http\": false")
            if n_acrh > MAX_UNMERGED_ACRH_LINES:
                self.bad(where, "more than 8 request-headers lines (Envoy merges them): needs \"http\": false")

        expect = case.get("expect")
        if not isinstance(expect, dict):
            self.bad(where, "expect must be an object")
            return
        if set(expect) != EXPECT_KEYS:
            self.bad(where, f"expect keys must be exactly {sorted(EXPECT_KEYS)}")
            return
        verdict, kind, reason = expect["verdict"], expect["kind"], expect["reason"]
        action, status, strip = expect["action"], expect["status"], expect["strip_upstream"]
        out = expect["headers"]
        if verdict not in VERDICTS:
            self.bad(where, f"verdict {verdict!r} not in {sorted(VERDICTS)}")
        if kind not in KINDS:
            self.bad(where, f"kind {kind!r} not in {sorted(KINDS)}")
        if reason not in REASONS:
            self.bad(where, f"reason {reason!r} is not a reason string")
        if action not in ACTIONS:
            self.bad(where, f"action {action!r} not in {sorted(ACTIONS)}")
        if not isinstance(status, int) or isinstance(status, bool):
            self.bad(where, "status must be an integer")
        if not isinstance(strip, bool):
            self.bad(where, "strip_upstream must be a boolean")
        if not is_pair_list(out):
            self.bad(where, "expect.headers must be a list of [name, value] string pairs")
            return

        if kind != want_kind:
            self.bad(where, f"kind {kind!r} but the request makes it {want_kind!r}")
        if (verdict == "not-cors") != (kind == "not-cors") or (kind == "not-cors") != (reason == "not-cors"):
            self.bad(where, "verdict, kind and reason must all be not-cors or none")
        if (verdict == "allowed") != (reason == "allowed"):
            self.bad(where, "verdict allowed exactly when reason is allowed")
        if (action == "continue") != (status == 0):
            self.bad(where, "status must be 0 exactly when the action is continue")
        if action == "respond":
            if status not in RESPOND_STATUSES:
                self.bad(where, f"respond status {status} not in {sorted(RESPOND_STATUSES)}")
            if verdict == "allowed" and (kind != "preflight" or status == 403):
                self.bad(where, "only an allowed preflight responds with 200/204")
            if verdict == "denied" and status != 403:
                self.bad(where, "a denial responds with 403")
            if verdict == "not-cors":
                self.bad(where, "not-cors never responds")
        if verdict == "allowed" and kind == "preflight" and action == "respond":
            if status != policy.get("preflight_status", 204):
                self.bad(where, "allowed preflight status must be the policy's preflight_status")

        report = policy.get("mode") == "report"
        if report:
            if out:
                self.bad(where, "report mode writes no headers")
            if strip is not False:
                self.bad(where, "report mode: strip_upstream must be false")
            if action != "continue":
                self.bad(where, "report mode: action must be continue")
            return
        if strip is not True:
            self.bad(where, "enforce mode: strip_upstream must be true")

        names_out = [n for n, _ in out]
        for n in names_out:
            if n not in HEADER_ORDER:
                self.bad(where, f"expect header {n!r} is not one corsgate writes (lowercase names)")
        known = [n for n in names_out if n in HEADER_ORDER]
        echo_headers = bool(policy.get("allow_credentials")) and "*" in policy.get("allow_headers", [])
        repeated = [n for n in set(known) if known.count(n) > 1]
        if repeated and (repeated != ["access-control-allow-headers"] or not echo_headers):
            self.bad(where, "an expect header appears twice (only access-control-allow-headers "
                            "may, echoing request lines under credentials and *)")
        if known != sorted(known, key=HEADER_ORDER.index):
            self.bad(where, f"expect headers out of order: {known}")
        values = dict((n, v) for n, v in out)
        exposes = bool(policy.get("expose_headers"))
        any_origin = "*" in policy.get("allow_origins", [])
        if "vary" in values:
            want = PREFLIGHT_VARY if kind == "preflight" else ACTUAL_VARY
            if values["vary"] != want:
                self.bad(where, f"vary must be {want!r} for kind {kind}")
        elif kind == "preflight" or verdict == "denied":
            self.bad(where, "preflights and denials always carry vary")
        if "x-corsgate-reason" in values:
            if verdict != "denied":
                self.bad(where, "x-corsgate-reason only on denials")
            elif values["x-corsgate-reason"] != reason:
                self.bad(where, "x-corsgate-reason must equal the reason")
            if not policy.get("debug"):
                self.bad(where, "x-corsgate-reason without debug")
        elif verdict == "denied" and policy.get("debug"):
            self.bad(where, "debug: a denial must carry x-corsgate-reason")
        if verdict == "not-cors" and any_origin:
            # Fetch, "CORS protocol and HTTP caches": a cached copy may
            # answer a later CORS request.
            want = [["access-control-allow-origin", "*"]]
            if exposes:
                want.append(["access-control-expose-headers", values.get("access-control-expose-headers")])
            if [list(h) for h in out] != want or (exposes and "access-control-expose-headers" not in values):
                self.bad(where, "a not-cors decision under * writes exactly ACAO * and ACEH (when exposing)")
        elif verdict != "allowed":
            extra = [n for n in known if n not in ("vary", "x-corsgate-reason")]
            if extra:
                self.bad(where, f"a {verdict} decision writes only vary (+debug), not {extra}")
        else:
            acao = values.get("access-control-allow-origin")
            origins = [v for n, v in headers if n.lower() == "origin"]
            if acao is None:
                self.bad(where, "allowed decision without access-control-allow-origin")
            elif acao != "*" and [acao] != origins:
                self.bad(where, "access-control-allow-origin must be * or the request's one Origin")
            if ("access-control-allow-credentials" in values) != bool(policy.get("allow_credentials")):
                self.bad(where, "access-control-allow-credentials exactly when allow_credentials")
            if values.get("access-control-allow-credentials", "true") != "true":
                self.bad(where, "access-control-allow-credentials value must be true")
            if kind == "actual":
                for n in ("access-control-allow-methods", "access-control-allow-headers",
                          "access-control-max-age"):
                    if n in values:
                        self.bad(where, f"{n} only on preflights")
            if ("access-control-expose-headers" in values) != exposes:
                self.bad(where, "access-control-expose-headers exactly when the policy exposes headers")
            if kind == "preflight" and policy.get("allow_methods", ["GET"]) \
                    and "access-control-allow-methods" not in values:
                self.bad(where, "an allowed preflight always carries access-control-allow-methods")

    def check_file(self, path):
        where = path.name
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            self.bad(where, f"cannot read JSON: {e}")
            return 0
        if not isinstance(doc, dict):
            self.bad(where, "top level is not an object")
            return 0
        for k in doc:
            if k not in TOP_KEYS:
                self.bad(where, f"unknown top-level key {k!r}")
        if not isinstance(doc.get("description"), str) or not doc.get("description"):
            self.bad(where, "description must be a non-empty string")
        policy = self.check_policy(where, doc.get("policy"))
        cases = doc.get("cases")
        if not isinstance(cases, list) or not cases:
            self.bad(where, "cases must be a non-empty list")
            return 0
        if policy is None:
            return len(cases)
        names = set()
        for i, case in enumerate(cases):
            self.check_case(f"{where}#{i}", case, policy, names, path.name)
        return len(cases)


def main(argv):
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    files = sorted(root.glob("*.json"))
    checker = Checker()
    if not files:
        checker.bad(str(root), "no vector files")
    total = 0
    for path in files:
        n = checker.check_file(path)
        total += n
        print(f"{path.name:36} {n:4d}")
    print(f"{'total':36} {total:4d} cases in {len(files)} files")
    for p in checker.problems:
        print(f"PROBLEM {p}", file=sys.stderr)
    if checker.problems:
        print(f"{len(checker.problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
