"""Start and stop one Envoy for tests and the bench: loopback only, stopped
by PID, its log kept in a file."""

import itertools
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from envoy_config import envoy_binary

_base_ids = itertools.count(1)


def _next_base_id():
    # Distinct per Envoy started from this process (never reused: a
    # session-scoped Envoy may still hold an early one), and per process.
    return (os.getpid() % 20000) * 100000 + next(_base_ids)


class Envoy:
    def __init__(self, config, workdir, module_dir, admin_port,
                 cpu=None, log_level="info", wrapper=()):
        self.config = config
        self.workdir = Path(workdir)
        self.module_dir = str(Path(module_dir).resolve())
        self.admin_port = admin_port
        self.cpu = cpu
        self.log_level = log_level
        self.wrapper = list(wrapper)  # e.g. valgrind and its options
        self.proc = None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "envoy.yaml"
        self.config_text = None  # YAML to use instead of `config`
        self.log_path = self.workdir / "envoy.log"

    def command(self):
        cmd = self.wrapper + [envoy_binary(), "-c", str(self.config_path),
               "--concurrency", "1", "--disable-hot-restart",
               "--base-id", str(_next_base_id()),
               "-l", self.log_level]
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu)] + cmd
        return cmd

    def start(self):
        if self.config_text is not None:
            self.config_path.write_text(self.config_text)
        else:
            self.config_path.write_text(json.dumps(self.config, indent=1))
        env = dict(os.environ,
                   ENVOY_DYNAMIC_MODULES_SEARCH_PATH=self.module_dir)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdout=self._log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     cwd=self.workdir)
        return self

    def wait_ready(self, timeout=None):
        """True once admin /ready says LIVE; False if Envoy exited first."""
        if timeout is None:
            timeout = 180.0 if self.wrapper else 30.0
        deadline = time.monotonic() + timeout
        url = "http://127.0.0.1:%d/ready" % self.admin_port
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200 and b"LIVE" in resp.read():
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError("envoy not ready after %.0fs:\n%s"
                           % (timeout, self.log_tail()))

    def wait_exit(self, timeout=30.0):
        """Exit code, once Envoy stops by itself (e.g. a rejected config)."""
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.flush()

    def admin(self, path):
        url = "http://127.0.0.1:%d%s" % (self.admin_port, path)
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.read().decode()

    def log(self):
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines=60):
        return "\n".join(self.log().splitlines()[-lines:])

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60 if self.wrapper else 10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
