"""Shared HTTP replay harness for the real-NGINX and real-Envoy tests.

Standard library only (Python 3.11). Tests put this directory on sys.path:

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
    import corsgate_http as ch

    CASES = [c for c in ch.load_vectors() if c.http]

    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.case_id)
    def test_vector(case, proxy):              # proxy: (host, port) of the server under test
        resp = ch.replay(case, *proxy)
        assert not ch.check_all(case, resp)

What it holds:
- load_vectors(): every case of tests/vectors/*.json as a Case.
- free_port(), wait_for_http(): loopback ports and readiness.
- Upstream: a threaded HTTP/1.1 upstream that echoes requested response
  headers (X-Test-Upstream-Header: Name: value) and answers /status/NNN.
- raw_request(): sends header lines exactly as given over a raw socket.
- check_case() / check_body() / check_all(): compare a response with a case.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterable, Sequence

VECTORS_DIR = Path(__file__).resolve().parent.parent / "vectors"

UPSTREAM_BODY = b"upstream\n"
UPSTREAM_HEADER = "X-Test-Upstream-Header"
REASON_HEADER = "x-corsgate-reason"

HeaderLine = tuple  # (name, value); each str (sent as UTF-8) or bytes


# --------------------------------------------------------------------------
# Vectors


@dataclass(frozen=True)
class Request:
    """The request of a case: method and header lines in order."""

    method: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Case:
    """One vector case, with its file's policy."""

    file: str  # "methods.json"
    name: str  # the case's name, unique in its file
    description: str  # the file's description
    policy: dict
    request: Request
    upstream_headers: tuple[tuple[str, str], ...]
    expect: dict
    http: bool

    @property
    def case_id(self) -> str:
        """Stable ASCII id, usable as a pytest id: "methods/preflight-PUT-..."."""
        return case_id(self.file, self.name)

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return self.request.headers

    @property
    def policy_json(self) -> str:
        """The policy as a compact JSON document."""
        return json.dumps(self.policy, separators=(",", ":"))

    @property
    def responds(self) -> bool:
        """True when corsgate answers itself (the upstream must not run)."""
        return self.expect["action"] == "respond"

    @property
    def expected_http_status(self) -> int:
        """The status an HTTP replay expects: corsgate's, or the upstream's 200."""
        return self.expect["status"] if self.responds else 200

    def __repr__(self) -> str:  # keeps pytest output short
        return f"Case({self.case_id})"


def case_id(file_name: str, case_name: str) -> str:
    """The id of a case (tests/vectors/check_vectors.py checks uniqueness)."""
    stem = file_name[:-5] if file_name.endswith(".json") else file_name
    slug = re.sub(r"[^A-Za-z0-9._+-]+", "-", case_name).strip("-")
    return f"{stem}/{slug}"


def _pairs(x) -> tuple[tuple[str, str], ...]:
    return tuple((str(n), str(v)) for n, v in (x or ()))


def load_vectors(root: str | Path | None = None, *, http_only: bool = False) -> list[Case]:
    """Every case of ROOT/*.json (default tests/vectors), files in name order.

    http_only=True keeps only the cases HTTP can carry ("http": true).
    """
    root = Path(root) if root is not None else VECTORS_DIR
    files = sorted(root.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no vector files in {root}")
    cases: list[Case] = []
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for raw in doc["cases"]:
            case = Case(
                file=path.name,
                name=raw["name"],
                description=doc.get("description", ""),
                policy=doc["policy"],
                request=Request(raw["request"]["method"], _pairs(raw["request"]["headers"])),
                upstream_headers=_pairs(raw.get("upstream_headers")),
                expect=raw["expect"],
                http=raw.get("http", True),
            )
            if case.http or not http_only:
                cases.append(case)
    return cases


def upstream_header_lines(case: Case) -> list[tuple[str, str]]:
    """The X-Test-Upstream-Header lines that make Upstream send the case's
    upstream_headers."""
    return [(UPSTREAM_HEADER, f"{n}: {v}") for n, v in case.upstream_headers]


def request_lines(case: Case) -> list[tuple[str, str]]:
    """The case's header lines followed by its upstream header requests."""
    return list(case.headers) + upstream_header_lines(case)


# --------------------------------------------------------------------------
# Ports and readiness


_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on HOST a moment ago, and that this process
    has not handed out before: the kernel may give the same ephemeral port
    to two calls in a row (seen: an Envoy admin port equal to its listener
    port, two nginx servers on one port), since nothing holds it between
    the call and the server's bind."""
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no fresh free port after 1000 tries")


def wait_for_http(host: str, port: int, path: str = "/", timeout: float = 10.0) -> "Response":
    """Poll until HOST:PORT accepts a connection and answers PATH with any
    HTTP response; return it. Raises TimeoutError with the last error."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            return raw_request(host, port, "GET", path, [], timeout=1.0)
        except (OSError, HTTPError) as e:
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no HTTP answer from {host}:{port}{path} in {timeout}s: {last!r}")
        time.sleep(0.05)


# --------------------------------------------------------------------------
# Upstream


@dataclass
class RecordedRequest:
    """What the upstream saw."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


class _UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "corsgate-test-upstream"
    sys_version = ""

    def log_message(self, format, *args):  # quiet
        pass

    def __getattr__(self, name):
        # Any method (GET, OPTIONS, PROPFIND, PURGE...) is handled the same.
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        return b""

    def _answer(self):
        body_in = self._read_body()
        server: _UpstreamServer = self.server  # type: ignore[assignment]
        server.record(RecordedRequest(self.command, self.path, list(self.headers.items()), body_in))

        status = 200
        m = re.match(r"/status/([1-5][0-9][0-9])(?:[/?#]|$)", self.path)
        if m:
            status = int(m.group(1))
        no_body = self.command == "HEAD" or status in (204, 304) or status < 200
        self.send_response(status)
        for line in self.headers.get_all(UPSTREAM_HEADER) or []:
            name, sep, value = line.partition(":")
            if sep and name.strip():
                self.send_header(name.strip(), value.strip())
        self.send_header("Content-Type", "text/plain")
        if status not in (204, 304) and status >= 200:
            self.send_header("Content-Length", str(len(UPSTREAM_BODY)))
        self.end_headers()
        if not no_body:
            self.wfile.write(UPSTREAM_BODY)


class _UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr):
        super().__init__(addr, _UpstreamHandler)
        self.lock = threading.Lock()
        self.hits = 0
        self.requests: list[RecordedRequest] = []

    def record(self, req: RecordedRequest) -> None:
        with self.lock:
            self.hits += 1
            self.requests.append(req)

    def handle_error(self, request, client_address):  # quiet on resets
        pass


class Upstream:
    """Threaded HTTP/1.1 upstream on 127.0.0.1 (keep-alive capable).

    Answers any method with 200 and body "upstream\\n" (none for HEAD);
    /status/NNN answers NNN. Each request line `X-Test-Upstream-Header:
    Name: value` adds `Name: value` to the response. `hits` counts requests
    served, `requests` keeps them.

        with Upstream() as up:
            ... proxy to up.port ...
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self._server = _UpstreamServer((host, port))
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def hits(self) -> int:
        with self._server.lock:
            return self._server.hits

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._server.lock:
            return list(self._server.requests)

    def reset(self) -> None:
        with self._server.lock:
            self._server.hits = 0
            self._server.requests.clear()

    def start(self) -> "Upstream":
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"upstream-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "Upstream":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------
# Raw HTTP/1.1 client


class HTTPError(Exception):
    """The peer sent something that is not an HTTP/1.1 response."""


class NoResponseError(HTTPError, ConnectionError):
    """The connection closed (or was reset) before any response byte."""


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # (name as sent, value), in order
    body: bytes
    raw_head: bytes = field(repr=False, default=b"")

    def header_values(self, name: str) -> list[str]:
        """Every value of NAME (case-insensitive), one per line, in order."""
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def header(self, name: str) -> str | None:
        """The first value of NAME, or None."""
        vals = self.header_values(name)
        return vals[0] if vals else None

    def vary_tokens(self) -> list[str]:
        """Every Vary token, lowercased, across all Vary lines."""
        return [t.strip().lower() for v in self.header_values("vary") for t in v.split(",") if t.strip()]


def _b(x) -> bytes:
    return x if isinstance(x, (bytes, bytearray)) else str(x).encode("utf-8")


class _Reader:
    def __init__(self, sock: socket.socket, peer: str):
        self.sock = sock
        self.peer = peer
        self.buf = b""
        self.eof = False
        self.got_any = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
            if not self.got_any and not self.buf:
                raise NoResponseError(f"{self.peer}: connection reset without a response")
        if not data:
            self.eof = True
            return False
        self.got_any = True
        self.buf += data
        return True

    def read_until(self, sep: bytes, limit: int = 1 << 20) -> bytes:
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise HTTPError(f"{self.peer}: response head larger than {limit} bytes")
            if not self._fill():
                if not self.got_any:
                    raise NoResponseError(f"{self.peer}: connection closed without a response")
                raise HTTPError(f"{self.peer}: connection closed inside the response: {self.buf[:200]!r}")
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise HTTPError(f"{self.peer}: body closed after {len(self.buf)} of {n} bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_all(self) -> bytes:
        while self._fill():
            pass
        out, self.buf = self.buf, b""
        return out


def _read_head(r: _Reader) -> tuple[int, str, list[tuple[str, str]], bytes]:
    while True:
        head = r.read_until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        m = re.match(rb"HTTP/(\d)\.(\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise HTTPError(f"{r.peer}: bad status line {lines[0][:200]!r}")
        status = int(m.group(3))
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise HTTPError(f"{r.peer}: bad header line {line[:200]!r}")
            headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        if 100 <= status < 200 and status != 101:
            continue  # interim response (100 Continue...): read the final one
        return status, (m.group(4) or b"").decode("latin-1"), headers, head


def _read_chunked(r: _Reader) -> bytes:
    body = []
    while True:
        line = r.read_until(b"\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HTTPError(f"{r.peer}: bad chunk size line {line[:100]!r}") from None
        if size == 0:
            while r.read_until(b"\n").strip():  # trailers
                pass
            return b"".join(body)
        body.append(r.read_exact(size))
        r.read_until(b"\n")


def raw_request(host: str, port: int, method: str, path: str,
                header_lines: Iterable[HeaderLine], timeout: float = 5,
                body: bytes | None = None) -> Response:
    """Send one request over a fresh socket, header lines exactly as given.

    Lines keep their order and duplicates; names and values are sent as they
    are (str as UTF-8, or bytes), so any byte can be sent. `Host` and
    `Connection: close` are added when missing (case-insensitive). Reads the
    whole response (Content-Length, chunked, or until close) and returns it.
    Raises NoResponseError if the peer closes with no reply, HTTPError on a
    malformed reply, socket.timeout / OSError on network trouble.
    """
    lines = [(_b(n), _b(v)) for n, v in header_lines]
    present = {n.lower() for n, _ in lines}
    if b"host" not in present:
        lines.append((b"Host", f"{host}:{port}".encode()))
    if b"connection" not in present:
        lines.append((b"Connection", b"close"))
    if body is not None and b"content-length" not in present and b"transfer-encoding" not in present:
        lines.append((b"Content-Length", str(len(body)).encode()))
    wire = _b(method) + b" " + _b(path) + b" HTTP/1.1\r\n"
    wire += b"".join(n + b": " + v + b"\r\n" for n, v in lines) + b"\r\n"
    if body:
        wire += body
    peer = f"{host}:{port}"
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendall(wire)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the peer may answer (400/431) before reading everything
        r = _Reader(sock, peer)
        status, reason, headers, head = _read_head(r)
        names = {n.lower(): v for n, v in headers}
        if _b(method) == b"HEAD":
            data = b""
        elif status in (204, 304):
            data = b""
        elif "chunked" in names.get("transfer-encoding", "").lower():
            data = _read_chunked(r)
        elif "content-length" in names:
            data = r.read_exact(int(names["content-length"]))
        else:
            data = r.read_all()
    return Response(status, reason, headers, data, head)


def replay(case: Case, host: str, port: int, path: str = "/", timeout: float = 5) -> Response:
    """Send CASE's request (plus its upstream header requests) to HOST:PORT."""
    return raw_request(host, port, case.method, path, request_lines(case), timeout=timeout)


# --------------------------------------------------------------------------
# Checks


def _checked(name: str) -> bool:
    n = name.lower()
    return n.startswith("access-control-") or n == REASON_HEADER


def _tokens(values: Iterable[str]) -> list[str]:
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def check_case(case: Case, response: Response, upstream_status: int = 200) -> list[str]:
    """Mismatches between RESPONSE and CASE (empty list = pass).

    - status: expect.status when corsgate responds, else UPSTREAM_STATUS;
    - access-control-* and x-corsgate-reason: exactly the expected ones, each
      value exact and each expected line present exactly once, no other such
      line (names compared case-insensitively). When the upstream answered
      and strip_upstream is false (report mode), the upstream's own such
      headers are expected as they were sent;
    - Vary: every token of the expected value is present among the Vary
      lines; when the upstream answered, its own Vary tokens are still
      there. Extra Vary tokens are fine; no Vary is required when none is
      expected.
    Whether the upstream ran at all is for check_body / Upstream.hits.
    """
    e = case.expect
    problems: list[str] = []
    want_status = e["status"] if case.responds else upstream_status
    if response.status != want_status:
        problems.append(f"status {response.status}, expected {want_status}")

    upstream_answered = not case.responds
    want: dict[str, list[str]] = {}
    want_vary: list[str] = []
    for n, v in e["headers"]:
        if n.lower() == "vary":
            want_vary.append(v)
        else:
            want.setdefault(n.lower(), []).append(v)
    if upstream_answered:
        for n, v in case.upstream_headers:
            if n.lower() == "vary":
                want_vary.append(v)
            elif _checked(n) and not e["strip_upstream"]:
                want.setdefault(n.lower(), []).append(v)

    got: dict[str, list[str]] = {}
    for n, v in response.headers:
        if _checked(n):
            got.setdefault(n.lower(), []).append(v)

    for name in sorted(set(want) | set(got)):
        w, g = want.get(name, []), got.get(name, [])
        if sorted(w) == sorted(g):
            continue
        if not w:
            problems.append(f"unexpected header {name}: {g!r}")
        elif not g:
            problems.append(f"missing header {name}: expected {w!r}")
        else:
            problems.append(f"header {name}: got {g!r}, expected {w!r}")

    have = set(response.vary_tokens())
    missing = [t for t in _tokens(want_vary) if t not in have]
    if missing:
        problems.append(f"vary lacks {missing}: response Vary lines {response.header_values('vary')!r}")
    return problems


def check_body(case: Case, response: Response, require_empty: bool = True) -> list[str]:
    """Whether the right party answered, judged by the body.

    respond: the upstream must not have answered (body is not "upstream\\n")
    and, with require_empty (README: "an empty body"), the body is empty.
    continue: the upstream's body, except for HEAD (no body).
    """
    if case.responds:
        if response.body == UPSTREAM_BODY:
            return ["the upstream answered, but corsgate should have responded itself"]
        if require_empty and response.body:
            return [f"body should be empty when corsgate responds, got {response.body[:80]!r}"]
        return []
    if case.method == "HEAD":
        return [] if not response.body else [f"HEAD response has a body {response.body[:80]!r}"]
    if response.body != UPSTREAM_BODY:
        return [f"expected the upstream's body {UPSTREAM_BODY!r}, got {response.body[:80]!r}"]
    return []


def check_all(case: Case, response: Response, require_empty: bool = True) -> list[str]:
    """check_case + check_body."""
    return check_case(case, response) + check_body(case, response, require_empty)


__all__ = [
    "VECTORS_DIR", "UPSTREAM_BODY", "UPSTREAM_HEADER", "REASON_HEADER",
    "Request", "Case", "case_id", "load_vectors", "upstream_header_lines", "request_lines",
    "free_port", "wait_for_http", "RecordedRequest", "Upstream",
    "HTTPError", "NoResponseError", "Response", "raw_request", "replay",
    "check_case", "check_body", "check_all",
]
