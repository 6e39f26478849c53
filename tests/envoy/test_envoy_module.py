"""The module itself: what libcorsgate_envoy.so exports and needs, and how
Envoy refuses a bad policy (with the library's own message in its log)."""

import ctypes
import json
import subprocess
import time

import pytest

import corsgate_http as harness
import envoy_config as ec
from envoy_stack import ROOT
from envoy_process import Envoy

REQUIRED_HOOKS = {
    "program_init", "http_filter_config_new", "http_filter_config_destroy",
    "http_filter_new", "http_filter_destroy", "http_filter_stream_complete",
    "http_filter_request_headers", "http_filter_request_body",
    "http_filter_request_trailers", "http_filter_response_headers",
    "http_filter_response_body", "http_filter_response_trailers",
    "http_filter_http_callout_done", "http_filter_http_stream_headers",
    "http_filter_http_stream_data", "http_filter_http_stream_trailers",
    "http_filter_http_stream_complete", "http_filter_http_stream_reset",
    "http_filter_scheduled",
    "http_filter_downstream_above_write_buffer_high_watermark",
    "http_filter_downstream_below_write_buffer_low_watermark",
    "http_filter_per_route_config_new", "http_filter_per_route_config_destroy",
}


def dynamic_symbols(path, defined):
    flag = "--defined-only" if defined else "--undefined-only"
    out = subprocess.run(["nm", "-D", flag, str(path)], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines()
            if line.strip()}


def test_exports_only_envoy_hooks(module_dir):
    exported = dynamic_symbols(module_dir / "libcorsgate_envoy.so", True)
    assert exported, "nothing exported"
    stray = sorted(s for s in exported
                   if not s.startswith("envoy_dynamic_module_on_"))
    assert stray == []
    hooks = {s[len("envoy_dynamic_module_on_"):] for s in exported}
    assert REQUIRED_HOOKS <= hooks, sorted(REQUIRED_HOOKS - hooks)


def test_envoy_provides_every_callback_used(module_dir):
    needed = {s for s in dynamic_symbols(module_dir / "libcorsgate_envoy.so",
                                         False)
              if s.startswith("envoy_dynamic_module_callback_")}
    assert needed
    provided = dynamic_symbols(ec.envoy_binary(), True)
    assert sorted(needed - provided) == []


def test_module_is_stripped(module_dir):
    out = subprocess.run(["file", "-L", str(module_dir /
                                             "libcorsgate_envoy.so")],
                         capture_output=True, text=True).stdout
    if not out:
        pytest.skip("file(1) not available")
    assert "not stripped" not in out


def library_message(policy_text):
    """The corsgate library's own message for a bad policy (one problem a
    line), through the C ABI of target/release/libcorsgate.so; None when
    that is not built."""
    path = ROOT / "target" / "release" / "libcorsgate.so"
    if not path.exists():
        return None
    lib = ctypes.CDLL(str(path))
    fn = lib.corsgate_policy_from_json
    fn.restype = ctypes.c_uint32
    fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                   ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p,
                   ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    data = policy_text.encode()
    policy = ctypes.c_void_p()
    buf = ctypes.create_string_buffer(8192)
    length = ctypes.c_size_t()
    rc = fn(data, len(data), ctypes.byref(policy), buf, len(buf),
            ctypes.byref(length))
    assert rc != 0, "the library accepted %s" % policy_text
    return buf.raw[:min(length.value, len(buf))].decode()


def assert_logged(log, where, policy_text):
    """Each problem the library names is one error line of the log."""
    prefix = "corsgate: invalid policy in %s of filter 'cors': " % where
    assert prefix in log, log
    message = library_message(policy_text)
    if message is None:
        return
    for problem in message.splitlines():
        assert prefix + problem in log, (problem, log)


BAD_POLICIES = [
    pytest.param('{"allow_origins": ["*"], "allow_credentials": true}',
                 id="star-with-credentials"),
    pytest.param('{"allow_origins": ["https://a.example.com:443"]}',
                 id="default-port"),
    pytest.param('{"allow_origins": ["*"], "allow_credentials": true, '
                 '"max_age": 99999, "allow_methods": ["TRACE"]}',
                 id="several-problems"),
    pytest.param('{"allow_origins": ["https://a.example.com"], "colour": 1}',
                 id="unknown-field"),
    pytest.param('{"allow_origins": [', id="invalid-json"),
    pytest.param('', id="empty"),
]


def refused(tmp_path, module_dir, listener_filter, per_route=None):
    admin = harness.free_port()
    routes = [ec.route("/", direct_status=200, per_filter=per_route)]
    cfg = ec.bootstrap(admin, [ec.listener(
        "bad", harness.free_port(), [ec.virtual_host("bad", routes)],
        [listener_filter])], [])
    envoy = Envoy(cfg, tmp_path, module_dir, admin)
    with envoy:
        ready = envoy.wait_ready(timeout=30)
        code = None if ready else envoy.wait_exit(timeout=30)
        log = envoy.log()
    assert not ready, "envoy started with a bad policy"
    assert code != 0
    return log


@pytest.mark.parametrize("policy", BAD_POLICIES)
def test_bad_policy_refused_with_library_message(tmp_path, module_dir,
                                                 policy):
    log = refused(tmp_path, module_dir, ec.corsgate_filter(policy))
    assert_logged(log, "filter_config", policy)


def test_bad_per_route_policy_refused(tmp_path, module_dir):
    bad = '{"allow_origins": ["*"], "allow_credentials": true}'
    log = refused(tmp_path, module_dir,
                  ec.corsgate_filter({"allow_origins": ["https://a.example.com"]}),
                  per_route=ec.corsgate_per_route(bad))
    assert_logged(log, "per-route filter_config", bad)


def test_bad_struct_policy_refused(tmp_path, module_dir):
    policy = {"allow_origins": ["null"]}
    log = refused(tmp_path, module_dir,
                  ec.corsgate_filter(policy, struct=True))
    assert_logged(log, "filter_config", json.dumps(policy))


def test_local_reply_details_name_the_reason(tmp_path, module_dir):
    """%RESPONSE_CODE_DETAILS% of the filter's own replies is
    corsgate_<reason>; Envoy's direct_response keeps its own."""
    admin, port = harness.free_port(), harness.free_port()
    log_path = tmp_path / "access.log"
    cfg = ec.bootstrap(admin, [ec.listener(
        "details", port,
        [ec.virtual_host("details", [ec.route("/", direct_status=200)])],
        [ec.corsgate_filter({"allow_origins": ["https://a.example.com"]})],
        access_log=log_path)], [])
    requests = [
        ([("Origin", "https://a.example.com"),
          ("Access-Control-Request-Method", "GET")], 204),
        ([("Origin", "https://evil.example.com"),
          ("Access-Control-Request-Method", "GET")], 403),
        ([("Origin", "https://a.example.com"),
          ("Access-Control-Request-Method", "PUT")], 403),
    ]
    with Envoy(cfg, tmp_path, module_dir, admin) as envoy:
        assert envoy.wait_ready(), envoy.log_tail()
        for lines, status in requests:
            resp = harness.raw_request("127.0.0.1", port, "OPTIONS", "/",
                                       lines)
            assert resp.status == status
        resp = harness.raw_request("127.0.0.1", port, "GET", "/", [])
        assert resp.status == 200
        deadline = time.monotonic() + 10  # Envoy flushes its log each second
        logged = []
        while len(logged) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
            if log_path.exists():
                logged = log_path.read_text().splitlines()
    assert logged == ["204 corsgate_allowed",
                      "403 corsgate_origin-not-allowed",
                      "403 corsgate_method-not-allowed",
                      "200 direct_response"]


def test_policy_with_bom_accepted(tmp_path, module_dir):
    """A filter_config that starts with a UTF-8 byte order mark (a policy
    file pasted as is) loads and enforces (issue 12 item 6); on old main
    Envoy refused it: "expected value at line 1 column 1"."""
    admin, port = harness.free_port(), harness.free_port()
    policy = "\ufeff" + json.dumps({"allow_origins": ["https://a.example.com"]})
    cfg = ec.bootstrap(admin, [ec.listener(
        "bom", port, [ec.virtual_host("bom", [ec.route("/", direct_status=200)])],
        [ec.corsgate_filter(policy)])], [])
    with Envoy(cfg, tmp_path, module_dir, admin) as envoy:
        assert envoy.wait_ready(), envoy.log_tail()
        resp = harness.raw_request("127.0.0.1", port, "GET", "/",
                                   [("Origin", "https://a.example.com")])
        assert resp.header_values("access-control-allow-origin") == [
            "https://a.example.com"]
