"""scripts/run-nginx (the README's run command) serves what it prints."""

import os
import signal
import subprocess

from nginx_process import MODULE, NGINX, ROOT, harness

APP = "https://app.example.com"


def test_run_nginx(tmp_path, module):
    port = harness.free_port()
    env = dict(os.environ, PORT=str(port), PREFIX=str(tmp_path / "run"),
               NGINX=NGINX, MODULE=str(MODULE))
    # append mode: nginx appends its access log to the same file
    out = open(tmp_path / "out.log", "a+")
    proc = subprocess.Popen([str(ROOT / "scripts" / "run-nginx")], env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    try:
        harness.wait_for_http("127.0.0.1", port, "/api/")
        out.seek(0)
        printed = out.read()
        assert f"http://127.0.0.1:{port}/api/" in printed
        assert "curl -i -H 'Origin: https://app.example.com'" in printed

        r = harness.raw_request("127.0.0.1", port, "GET", "/api/",
                                [("Origin", APP)])
        assert (r.status, r.body) == (200, b'{"ok":true}\n')
        assert r.header_values("access-control-allow-origin") == [APP]
        assert r.header_values("access-control-allow-credentials") == [
            "true"]

        r = harness.raw_request("127.0.0.1", port, "OPTIONS", "/api/", [
            ("Origin", APP), ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "content-type, x-request-id")])
        assert r.status == 204
        assert r.header_values("access-control-max-age") == ["600"]

        r = harness.raw_request("127.0.0.1", port, "GET", "/api/",
                                [("Origin", "https://evil.example.net")])
        assert r.status == 200
        assert r.header_values("access-control-allow-origin") == []
    finally:
        # run-nginx execs nginx: this PID is nginx's master
        proc.send_signal(signal.SIGQUIT)
        proc.wait(timeout=10)
        out.close()
    out_text = (tmp_path / "out.log").read_text()
    assert 'cors=allowed' in out_text, out_text
