"""`nginx -s reload` swaps policies with no failed request."""

import json
import threading
import time

from nginx_process import harness, start_nginx, stop_nginx

A = "https://a.example.com"
B = "https://b.example.com"


def test_reload_swaps_policy_without_failures(tmp_path_factory, module,
                                              upstream):
    files = tmp_path_factory.mktemp("reload-files")
    policy = files / "policy.json"
    policy.write_text(json.dumps({"allow_origins": [A]}))
    port = harness.free_port()
    http = f"""
    server {{
        listen 127.0.0.1:{port};
        cors_policy_file {policy};

        location / {{
            proxy_pass http://127.0.0.1:{upstream.port};
        }}
    }}
"""
    n = start_nginx(tmp_path_factory, "reload", http, [port])
    results, errors = [], []
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                r = harness.raw_request("127.0.0.1", port, "GET", "/",
                                        [("Origin", B)])
                results.append((r.status, tuple(
                    r.header_values("access-control-allow-origin")), r.body))
            except Exception as e:  # noqa: BLE001 -- every failure counts
                errors.append(repr(e))

    def wait_for(pred, what, timeout=20):
        deadline = time.monotonic() + timeout
        while not pred():
            assert time.monotonic() < deadline, f"timed out: {what}"
            assert not errors, errors[:5]
            time.sleep(0.01)

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(results) >= 150, "traffic before the reloads")
        for allowed, want in [(B, (B,)), (A, ()), (B, (B,))]:
            policy.write_text(json.dumps({"allow_origins": [allowed]}))
            before = len(results)
            n.reload()
            # new workers answer with the new policy; once the old ones
            # have finished, only the new policy is seen
            wait_for(lambda: len(results) >= before + 150 and all(
                acao == want for _, acao, _ in results[-50:]),
                f"policy allowing {allowed} in effect")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        stop_nginx(n)

    assert errors == []
    assert len(results) >= 600
    assert {(s, b) for s, _, b in results} == {(200, harness.UPSTREAM_BODY)}
    assert {acao for _, acao, _ in results} == {(), (B,)}
