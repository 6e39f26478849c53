"""The installed library, used by a real C service.

scripts/install puts corsgate into a temporary prefix; pkg-config must find
it there, with the SONAME symlinks in place. examples/c-service is built
against that install with `pkg-config --cflags --libs corsgate` (linked
dynamically, run with LD_LIBRARY_PATH), started on a free loopback port
(port 0: it prints the one it got) and sent shared-vector cases over raw
sockets. Every service is stopped by its PID.
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
SERVICE_SRC = ROOT / "examples" / "c-service"
LIB_SO = ROOT / "target" / "release" / "libcorsgate.so"
LIB_A = ROOT / "target" / "release" / "libcorsgate.a"

CORS_PREFIXES = ("access-control-", "x-corsgate-reason")


def cargo_version():
    text = (ROOT / "Cargo.toml").read_text()
    return re.search(r'^version = "([0-9.]+)"$', text, re.M).group(1)


def abi_version():
    text = (ROOT / "include" / "corsgate.h").read_text()
    return re.search(r"^#define CORSGATE_ABI_VERSION (\d+)$", text, re.M).group(1)


def run(cmd, **kw):
    """Runs a command; fails the test with its output when it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


# --- install + build ----------------------------------------------------------

@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """A fresh install of corsgate (scripts/install) into a temp prefix."""
    if not LIB_SO.exists() or not LIB_A.exists():
        run(["cargo", "build", "--release", "--lib"], cwd=ROOT)
    prefix = tmp_path_factory.mktemp("prefix") / "corsgate"
    run([str(ROOT / "scripts" / "install"), str(prefix)])
    return prefix


@pytest.fixture(scope="module")
def pc_env(prefix):
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = str(prefix / "lib" / "pkgconfig")
    return env


@pytest.fixture(scope="module")
def service_bin(prefix, pc_env, tmp_path_factory):
    """examples/c-service built with pkg-config against the install."""
    out = tmp_path_factory.mktemp("c-service")
    run(["make", "-s", "-C", str(SERVICE_SRC), f"O={out}",
         f"PKG_CONFIG_PATH={prefix / 'lib' / 'pkgconfig'}"], env=pc_env)
    binary = out / "corsgate-service"
    assert binary.is_file()
    return binary


@pytest.fixture(scope="module")
def run_env(prefix):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = str(prefix / "lib")
    return env


def test_install_layout(prefix):
    abi, version = abi_version(), cargo_version()
    minor_patch = version.split(".", 1)[1]
    lib = prefix / "lib"
    real = f"libcorsgate.so.{abi}.{minor_patch}"
    assert (prefix / "include" / "corsgate.h").read_bytes() == \
        (ROOT / "include" / "corsgate.h").read_bytes()
    assert (lib / "libcorsgate.a").is_file()
    assert (lib / real).is_file() and not (lib / real).is_symlink()
    assert os.readlink(lib / f"libcorsgate.so.{abi}") == real
    assert os.readlink(lib / "libcorsgate.so") == f"libcorsgate.so.{abi}"
    dynamic = run(["readelf", "-d", str(lib / real)]).stdout
    assert f"Library soname: [libcorsgate.so.{abi}]" in dynamic


def test_pkg_config(prefix, pc_env):
    cflags_libs = run(["pkg-config", "--cflags", "--libs", "corsgate"],
                      env=pc_env).stdout.split()
    assert cflags_libs == [f"-I{prefix}/include", f"-L{prefix}/lib",
                           "-lcorsgate"]
    static = run(["pkg-config", "--static", "--libs", "corsgate"],
                 env=pc_env).stdout.split()
    assert static == [f"-L{prefix}/lib", "-lcorsgate", "-lpthread", "-ldl",
                      "-lm"]
    modversion = run(["pkg-config", "--modversion", "corsgate"],
                     env=pc_env).stdout.strip()
    assert modversion == cargo_version()


def test_install_destdir(tmp_path):
    """DESTDIR stages the files; corsgate.pc still names the PREFIX."""
    env = dict(os.environ, DESTDIR=str(tmp_path / "stage"))
    run([str(ROOT / "scripts" / "install"), "/opt/corsgate"], env=env)
    staged = tmp_path / "stage" / "opt" / "corsgate"
    assert (staged / "include" / "corsgate.h").is_file()
    assert (staged / "lib" / "libcorsgate.so").is_symlink()
    pc = (staged / "lib" / "pkgconfig" / "corsgate.pc").read_text()
    assert "prefix=/opt/corsgate\n" in pc
    assert str(tmp_path) not in pc


def test_service_links_the_shared_library(service_bin):
    dynamic = run(["readelf", "-d", str(service_bin)]).stdout
    assert f"Shared library: [libcorsgate.so.{abi_version()}]" in dynamic


# --- the service ----------------------------------------------------------------

class Service:
    """corsgate-service on 127.0.0.1, port 0 (it prints the port it got)."""

    def __init__(self, binary, policy_path, env, log_path):
        self.binary, self.policy_path = binary, policy_path
        self.env, self.log_path = env, log_path
        self.proc = None
        self.port = None

    def start(self, timeout=10.0):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(self.binary), str(self.policy_path), "0"],
            stdout=subprocess.PIPE, stderr=self.log, env=self.env)
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [],
                                        max(left, 0))
            if not ready:
                raise AssertionError(f"no start line; log:\n{self.log_text()}")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise AssertionError(
                    f"exited {self.proc.wait()}; log:\n{self.log_text()}")
            line += chunk
        match = re.search(rb"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        self.port = int(match.group(1))
        self.wait_ready(deadline)
        return self

    def wait_ready(self, deadline):
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        """SIGTERM by PID; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode

    def log_text(self):
        self.log.flush()
        return Path(self.log_path).read_text(errors="replace")[-4000:]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def http(port, method, path, headers, timeout=5.0):
    """One request over a raw socket, header lines exactly as given (any
    name, repeated names, any bytes). Returns (status, [(lower name,
    value)], body)."""
    lines = [f"{method} {path} HTTP/1.1".encode("utf-8"),
             f"Host: 127.0.0.1:{port}".encode()]
    for name, value in headers:
        lines.append(name.encode("utf-8") + b": " + value.encode("utf-8"))
    if method not in ("GET", "HEAD", "OPTIONS"):
        lines.append(b"Content-Length: 0")
    lines.append(b"Connection: close")
    with socket.create_connection(("127.0.0.1", port), timeout) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    status = int(status_line.split()[1])
    response_headers = []
    for line in header_lines:
        name, _, value = line.partition(b":")
        response_headers.append((name.strip().decode("latin-1").lower(),
                                 value.strip().decode("latin-1")))
    return status, response_headers, body


def vary_tokens(headers):
    tokens = set()
    for name, value in headers:
        if name == "vary":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


def check_case(port, case, path="/api/vectors"):
    """Replays one vector case; returns a list of problems (empty: ok)."""
    request, expect = case["request"], case["expect"]
    method = request["method"]
    status, headers, body = http(port, method, path, request["headers"])
    problems = []
    if expect["action"] == "respond":
        if status != expect["status"]:
            problems.append(f"status {status}, expected {expect['status']}")
        if body:
            problems.append(f"body {body!r}, expected none")
    else:
        if status != 200:
            problems.append(f"status {status}, expected 200 from the service")
        if method != "HEAD" and body != b'{"ok":true}\n':
            problems.append(f"body {body!r}")
    got = [(n, v) for n, v in headers if n.startswith(CORS_PREFIXES)]
    want = [(n, v) for n, v in expect["headers"] if n != "vary"]
    if got != want:
        problems.append(f"CORS headers {got}, expected {want}")
    for name, value in expect["headers"]:
        if name == "vary":
            missing = {t.strip().lower() for t in value.split(",")} - \
                vary_tokens(headers)
            if missing:
                problems.append(f"Vary lacks {sorted(missing)}: {headers}")
    return problems


def load_vector_files():
    files = []
    for path in sorted(VECTORS.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        cases = [c for c in doc["cases"] if c.get("http", True)]
        files.append((path.name, doc["policy"], cases))
    return files


VECTOR_FILES = load_vector_files()


def start_service(service_bin, run_env, tmp_path, policy, name="policy"):
    policy_path = tmp_path / f"{name}.json"
    policy_path.write_text(json.dumps(policy))
    return Service(service_bin, policy_path, run_env,
                   tmp_path / f"{name}.log")


def first_case(predicate):
    """(policy, case) of the first HTTP vector case that matches."""
    for _, policy, cases in VECTOR_FILES:
        for case in cases:
            if predicate(case["expect"], case):
                return policy, case
    pytest.fail("no shared vector case matches")


def no_upstream_headers(case):
    return not case.get("upstream_headers")


HANDFUL = {
    "allowed actual request": lambda e, c: (
        e["kind"] == "actual" and e["verdict"] == "allowed"
        and no_upstream_headers(c)),
    "allowed preflight": lambda e, c: (
        e["kind"] == "preflight" and e["verdict"] == "allowed"),
    "denied origin": lambda e, c: (
        e["kind"] == "actual" and e["reason"] == "origin-not-allowed"
        and e["action"] == "continue" and no_upstream_headers(c)),
    "no Origin": lambda e, c: e["kind"] == "not-cors" and e["headers"],
    "denied preflight is a 403": lambda e, c: (
        e["kind"] == "preflight" and e["verdict"] == "denied"
        and e["status"] == 403),
}


@pytest.mark.parametrize("what", list(HANDFUL))
def test_service_vector_case(what, service_bin, run_env, tmp_path):
    policy, case = first_case(HANDFUL[what])
    with start_service(service_bin, run_env, tmp_path, policy) as svc:
        problems = check_case(svc.port, case)
        assert not problems, f"{case['name']}: {problems}\n{svc.log_text()}"


@pytest.mark.parametrize("name,policy,cases", VECTOR_FILES,
                         ids=[f[0] for f in VECTOR_FILES])
def test_service_all_http_vectors(name, policy, cases, service_bin, run_env,
                                  tmp_path):
    """Every case HTTP can carry, of every shared vector file."""
    if not cases:
        pytest.skip(f"{name} has no HTTP case")
    failures = []
    with start_service(service_bin, run_env, tmp_path, policy) as svc:
        for case in cases:
            problems = check_case(svc.port, case)
            if problems:
                failures.append(f"{case['name']}: {problems}")
        assert not failures, "\n".join(failures) + "\n" + svc.log_text()


APP_POLICY = {
    "allow_origins": ["https://app.example.com"],
    "allow_methods": ["GET", "PUT"],
    "allow_credentials": True,
}


def test_service_strips_the_application_cors_headers(service_bin, run_env,
                                                      tmp_path):
    """/api/legacy sets its own Access-Control-Allow-Origin: *; corsgate
    owns that header, so it is replaced (allowed) or removed (denied)."""
    with start_service(service_bin, run_env, tmp_path, APP_POLICY) as svc:
        _, headers, _ = http(svc.port, "GET", "/api/legacy",
                             [("Origin", "https://app.example.com")])
        acao = [v for n, v in headers if n == "access-control-allow-origin"]
        assert acao == ["https://app.example.com"]
        _, headers, _ = http(svc.port, "GET", "/api/legacy",
                             [("Origin", "https://evil.example")])
        assert not [h for h in headers if h[0].startswith("access-control-")]
        assert "origin" in vary_tokens(headers)


def test_service_headers_on_every_status(service_bin, run_env, tmp_path):
    """CORS headers go on the application's 404 too."""
    with start_service(service_bin, run_env, tmp_path, APP_POLICY) as svc:
        status, headers, _ = http(svc.port, "GET", "/nope",
                                  [("Origin", "https://app.example.com")])
        assert status == 404
        assert ("access-control-allow-origin",
                "https://app.example.com") in headers
        assert ("access-control-allow-credentials", "true") in headers


def test_service_concurrent_requests(service_bin, run_env, tmp_path):
    """Many connections at once, one shared policy, every answer right."""
    origins = ["https://app.example.com", "https://evil.example"]
    errors = []

    def client(i):
        try:
            for j in range(10):
                origin = origins[(i + j) % 2]
                _, headers, _ = http(svc.port, "GET", f"/api/{i}/{j}",
                                     [("Origin", origin)])
                acao = dict(headers).get("access-control-allow-origin")
                want = origin if origin == origins[0] else None
                if acao != want:
                    errors.append((origin, headers))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    with start_service(service_bin, run_env, tmp_path, APP_POLICY) as svc:
        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:3]
        assert svc.proc.poll() is None


def test_service_stops_cleanly(service_bin, run_env, tmp_path):
    svc = start_service(service_bin, run_env, tmp_path, APP_POLICY).start()
    try:
        http(svc.port, "GET", "/api/x", [])
    finally:
        status = svc.stop()
    assert status == 0, svc.log_text()


def test_service_refuses_a_bad_policy(service_bin, run_env, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({
        "allow_origins": ["https://a.com:443", "*"],
        "allow_credentials": True,
        "max_age": 100000,
    }))
    proc = subprocess.run([str(service_bin), str(bad), "0"], env=run_env,
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2
    assert "invalid policy" in proc.stderr
    for field in ("allow_origins[0]", ":443", "allow_origins[1]", "max_age"):
        assert field in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_service_refuses_bad_arguments(service_bin, run_env, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(APP_POLICY))
    for args in ([], [str(good)], [str(good), "http"], [str(good), "70000"],
                 [str(tmp_path / "missing.json"), "0"]):
        proc = subprocess.run([str(service_bin), *args], env=run_env,
                              capture_output=True, text=True, timeout=10)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.strip(), args


# --- hot swap: SIGHUP reloads under load (ABI.md "Swapping a policy") ----------

@pytest.fixture(scope="module")
def asan_service_bin(prefix, pc_env, tmp_path_factory):
    """examples/c-service built with ASan + UBSan against the install."""
    out = tmp_path_factory.mktemp("c-service-asan")
    san = "-fsanitize=address,undefined -fno-omit-frame-pointer " \
          "-fno-sanitize-recover=all"
    run(["make", "-s", "-C", str(SERVICE_SRC), f"O={out}",
         f"PKG_CONFIG_PATH={prefix / 'lib' / 'pkgconfig'}",
         f"CFLAGS=-O1 -g {san}", f"LDFLAGS={san}"], env=pc_env)
    return out / "corsgate-service"


def reloads(svc):
    svc.log.flush()
    return Path(svc.log_path).read_text(errors="replace").count(
        "policy reloaded")


def test_service_reloads_on_sighup_under_load(asan_service_bin, run_env,
                                              tmp_path):
    """Clients send preflights without pause while the policy file flips
    between two policies and SIGHUP reloads it 50 times: every answer is
    one of the two policies' (never a mix, never garbage), the last reload
    is the one in force, and ASan sees no use after free (a request still
    reading header values of the policy just swapped out) nor a leak."""
    a = {"allow_origins": ["https://a.example"], "allow_methods": ["PUT"],
         "max_age": 600}
    b = {"allow_origins": ["https://b.example"], "allow_methods": ["PATCH"],
         "max_age": 60}
    env = dict(run_env)
    env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    svc = start_service(asan_service_bin, env, tmp_path, a, name="swap")
    svc.start()
    stop = threading.Event()
    answers, errors = [], []

    def client(i):
        origin = ("https://a.example", "https://b.example")[i % 2]
        method = ("PUT", "PATCH")[i % 2]
        while not stop.is_set():
            try:
                status, headers, _ = http(
                    svc.port, "OPTIONS", "/api/x",
                    [("Origin", origin),
                     ("Access-Control-Request-Method", method)])
            except (OSError, IndexError) as e:
                errors.append(repr(e))
                return
            h = dict(headers)
            answers.append((origin, status, h.get("access-control-allow-origin"),
                            h.get("access-control-allow-methods"),
                            h.get("access-control-max-age")))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    try:
        for t in threads:
            t.start()
        for n in range(50):
            svc.policy_path.write_text(json.dumps(b if n % 2 == 0 else a))
            os.kill(svc.proc.pid, signal.SIGHUP)
            # One reload at a time (pending SIGHUPs would merge into one).
            deadline = time.monotonic() + 10
            while reloads(svc) <= n:
                assert time.monotonic() < deadline, svc.log_text()
                time.sleep(0.02)
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
        status, headers, _ = http(svc.port, "OPTIONS", "/api/x",
                                  [("Origin", "https://a.example"),
                                   ("Access-Control-Request-Method", "PUT")])
        assert status == 204 and ("access-control-max-age", "600") in headers
    finally:
        stop.set()
        code = svc.stop()
    log = Path(svc.log_path).read_text(errors="replace")
    assert "AddressSanitizer" not in log and "runtime error" not in log, log
    assert code == 0, log
    assert not errors, errors[:3]
    assert len(answers) > 100, len(answers)
    allowed = {("https://a.example", 204, "https://a.example", "PUT", "600"),
               ("https://b.example", 204, "https://b.example", "PATCH", "60")}
    for origin, status, acao, acam, max_age in answers:
        if status == 204:
            assert (origin, status, acao, acam, max_age) in allowed, answers[:5]
        else:  # the other policy was in force: a denial, no CORS headers
            assert (status, acao, acam, max_age) == (403, None, None, None)
    seen = {a[1] for a in answers}
    assert seen == {204, 403}, seen
