"""A real nginx with the corsgate module, in its own prefix directory.

`Nginx(prefix, http)` writes `prefix/nginx.conf` around the given http block
body (module loaded, foreground master, one worker, error log and temp files
under the prefix); `check()` runs `nginx -t`; `start()` runs it in a
subprocess and waits until its ports accept; `reload()` runs
`nginx -s reload`; `stop()` ends it by PID.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The nginx under test and the module built for it: by default Debian's
# nginx and build/ngx_http_corsgate_module.so; `make test` runs the suites a
# second time with CORSGATE_NGINX=build/nginx-1.28.3/sbin/nginx and
# CORSGATE_NGINX_MODULE=build/nginx-1.28.3/ngx_http_corsgate_module.so.
MODULE = Path(os.environ.get("CORSGATE_NGINX_MODULE")
              or ROOT / "build" / "ngx_http_corsgate_module.so").resolve()
NGINX = (os.environ.get("CORSGATE_NGINX") or shutil.which("nginx")
         or "/usr/sbin/nginx")
if os.sep in NGINX:
    NGINX = str(Path(NGINX).resolve())


def nginx_version(nginx=None):
    """(major, minor, patch) of `nginx -v`."""
    out = subprocess.run([nginx or NGINX, "-v"], capture_output=True,
                         text=True, timeout=30).stderr
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise RuntimeError(f"cannot read the version of {nginx or NGINX}: "
                           f"{out!r}")
    return tuple(int(x) for x in m.groups())


def nginx_configure_args(nginx=None):
    """The `configure arguments:` line of `nginx -V`."""
    out = subprocess.run([nginx or NGINX, "-V"], capture_output=True,
                         text=True, timeout=30).stderr
    return re.search(r"configure arguments: (.*)", out).group(1)

sys.path.insert(0, str(ROOT / "tests" / "harness"))
import corsgate_http as harness  # noqa: E402,F401 -- re-exported

# the instances running now, whose logs go into failing tests' reports
running = []

MAIN_TEMPLATE = """\
load_module {module};

daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
{user}
events {{
    worker_connections 1024;
}}

http {{
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    access_log off;

{http}
}}
"""


class Nginx:
    def __init__(self, prefix, http, module=MODULE):
        self.prefix = Path(prefix)
        self.conf = self.prefix / "nginx.conf"
        self.error_log = self.prefix / "error.log"
        self.module = Path(module)
        self.proc = None
        (self.prefix / "temp").mkdir(parents=True, exist_ok=True)
        (self.prefix / "logs").mkdir(exist_ok=True)
        self.write(http)

    def write(self, http):
        """(Re)writes nginx.conf with `http` as the http block body."""
        # Workers must reach files under a private tmp dir: when the master
        # runs as root, let them run as root too (loopback test server).
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.conf.write_text(MAIN_TEMPLATE.format(
            module=self.module, prefix=self.prefix, user=user, http=http))

    def line_of(self, needle):
        """1-based line of the first nginx.conf line containing `needle`."""
        text = self.conf.read_bytes().decode("utf-8", "replace")
        for n, line in enumerate(text.splitlines(), 1):
            if needle in line:
                return n
        raise AssertionError(f"{needle!r} not in {self.conf}")

    def _cmd(self, *args):
        return [NGINX, "-p", str(self.prefix), "-c", str(self.conf),
                "-e", str(self.error_log), *args]

    def check(self):
        """`nginx -t`: CompletedProcess with its output in .stderr."""
        return subprocess.run(self._cmd("-t"), capture_output=True,
                              text=True, timeout=30)

    def start(self, ports, timeout=10.0):
        res = self.check()
        if res.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{res.stderr}")
        out = open(self.prefix / "stderr.log", "ab")
        self.proc = subprocess.Popen(self._cmd(), stdout=out,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.monotonic() + timeout
        for port in ports:
            while not _accepts(port):
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"nginx exited ({self.proc.returncode}):\n"
                        + self.log())
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx not listening on {port}")
                time.sleep(0.02)
        return self

    def reload(self):
        """`nginx -s reload`; returns once the master has re-read its
        configuration (new workers may still be starting)."""
        before = self.log().count("reconfiguring")
        res = subprocess.run(self._cmd("-s", "reload"), capture_output=True,
                             text=True, timeout=30)
        if res.returncode != 0:
            raise RuntimeError(f"nginx -s reload failed:\n{res.stderr}")
        deadline = time.monotonic() + 10
        while self.log().count("reconfiguring") == before:
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not reload:\n" + self.log())
            time.sleep(0.02)

    def stop(self):
        """Graceful stop of the master by PID; kills it after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self):
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_nginx(tmp_path_factory, name, http, ports):
    """Starts an Nginx in a fresh tmp prefix and waits for its ports."""
    n = Nginx(tmp_path_factory.mktemp(name), http)
    n.start(ports)
    running.append(n)
    return n


def stop_nginx(n):
    n.stop()
    if n in running:
        running.remove(n)


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
