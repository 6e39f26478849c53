"""scripts/build-nginx-module with configure arguments it must leave out: the
nginx under test, seen through a wrapper whose `nginx -V` adds what other
builds carry (another dynamic module, a bundled OpenSSL's source dir that is
not on this machine) or lacks `--with-compat`. The module is still built,
and loads into the real nginx."""

import os
import re
import subprocess

import pytest

from nginx_process import NGINX, ROOT, nginx_version
from test_nginx_readme import nginx_source

# Two module builds (10-20 s each): the script's handling of `nginx -V` is
# the same for every nginx, so once, against Debian's (the first run of
# `make test`; test_nginx_readme.py builds for every version).
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("CORSGATE_NGINX")),
    reason="checked once, with the default nginx")

EXTRA = ("--add-dynamic-module=/nonexistent/njs/nginx "
         "--with-openssl=/nonexistent/openssl-3.0 "
         "--with-http_xslt_module=dynamic")


def wrapper(tmp_path, sed):
    """An `nginx` that is the real one, with `nginx -V` edited by `sed`."""
    w = tmp_path / "nginx"
    w.write_text(f"""#!/bin/sh
if [ "$1" = -V ]; then
    {NGINX} -V 2>&1 | sed '{sed}' >&2
    exit 0
fi
exec {NGINX} "$@"
""")
    w.chmod(0o755)
    return w


def build(tmp_path, nginx):
    version = ".".join(map(str, nginx_version()))
    out = tmp_path / "ngx_http_corsgate_module.so"
    res = subprocess.run(
        [str(ROOT / "scripts" / "build-nginx-module"), "--nginx", str(nginx),
         "--src", str(nginx_source(version)), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    return res, out


def loads(tmp_path, so):
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"load_module {so};\nevents {{}}\n"
                    "http { cors_allow_origins https://a.example; }\n")
    (tmp_path / "logs").mkdir(exist_ok=True)
    return subprocess.run([NGINX, "-t", "-p", f"{tmp_path}/", "-c",
                           str(conf)], capture_output=True, text=True,
                          timeout=30)


def test_other_modules_and_absent_source_dirs_left_out(tmp_path):
    w = wrapper(tmp_path, f"s|^configure arguments: .*|& {EXTRA}|")
    assert EXTRA in subprocess.run([w, "-V"], capture_output=True,
                                   text=True).stderr
    res, so = build(tmp_path, w)
    assert res.returncode == 0, res.stdout + res.stderr
    assert ("leaving out --with-openssl=/nonexistent/openssl-3.0"
            in res.stdout), res.stdout
    res = loads(tmp_path, so)
    assert res.returncode == 0, res.stderr


def test_without_with_compat_warns(tmp_path):
    w = wrapper(tmp_path, "s| --with-compat||")
    res, so = build(tmp_path, w)
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"warning: .* was built without --with-compat",
                     res.stderr), res.stderr
    # built without it, as the (pretended) binary: the real one refuses it
    res = loads(tmp_path, so)
    assert res.returncode != 0
    assert "is not binary compatible" in res.stderr, res.stderr
