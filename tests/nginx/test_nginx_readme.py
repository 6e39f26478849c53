"""README.md's NGINX section, as a user pastes it, with the nginx under test
(Debian's 1.22.1, then 1.28.3: see nginx_process.py)."""
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from nginx_process import MODULE, NGINX, ROOT, nginx_version

README = (ROOT / "README.md").read_text()


def test_readme_nginx_example_passes_nginx_t_as_pasted(tmp_path):
    blocks = re.findall(r"```nginx\n(.*?)```", README, re.S)
    assert len(blocks) == 1, "expected exactly one ```nginx block"
    # nginx's prefix, laid out as the text under the snippet says; the
    # snippet itself is nginx.conf, byte for byte
    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / MODULE.name).symlink_to(MODULE)
    (tmp_path / "logs").mkdir()
    (tmp_path / "cors.json").write_text(
        (ROOT / "examples" / "policy.json").read_text())
    (tmp_path / "htpasswd").write_text("user:{PLAIN}secret\n")
    (tmp_path / "nginx.conf").write_text(blocks[0])
    res = subprocess.run(
        [NGINX, "-t", "-p", f"{tmp_path}/",
         "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert "[warn]" not in res.stderr, res.stderr


def nginx_source(version):
    """The source tree of nginx `version` on this machine: Debian's module
    kit, or the tree scripts/build-nginx compiled."""
    for src in (Path("/usr/share/nginx/src"),
                ROOT / "build" / f"nginx-{version}" / "src"):
        h = src / "src" / "core" / "nginx.h"
        if h.exists() and f'"{version}"' in h.read_text():
            return src
    pytest.fail(f"no source of nginx {version} (make build)")


def readme_build_command():
    """The README's `scripts/build-nginx-module --nginx ...` command."""
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    for block in blocks:
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            if line.startswith("scripts/build-nginx-module --nginx"):
                return shlex.split(line)
    pytest.fail("no `scripts/build-nginx-module --nginx` command in README")


def run_build(argv, **paths):
    """The README command with its --nginx/--src/--out values replaced."""
    argv = list(argv)
    for opt, value in paths.items():
        i = argv.index(f"--{opt}")
        argv[i + 1] = str(value)
    return subprocess.run([str(ROOT / argv[0]), *argv[1:]], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_readme_module_build_for_a_source_nginx(tmp_path):
    # configure + compile against the nginx under test, from its source
    # tree; the module loads into that nginx (binary compatible)
    version = ".".join(map(str, nginx_version()))
    out = tmp_path / "modules" / "ngx_http_corsgate_module.so"
    res = run_build(readme_build_command(), nginx=NGINX,
                    src=nginx_source(version), out=out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"nginx {version}" in res.stdout
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"load_module {out};\nevents {{}}\n"
                    "http { cors_allow_origins https://a.example; }\n")
    (tmp_path / "logs").mkdir()
    res = subprocess.run([NGINX, "-t", "-p", f"{tmp_path}/", "-c", str(conf)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr


def test_module_build_refuses_another_versions_source(tmp_path):
    version = ".".join(map(str, nginx_version()))
    other = next((d / "src" for d in sorted((ROOT / "build").glob("nginx-*"))
                  if d.name != f"nginx-{version}" and (d / "src").is_dir()),
                 Path("/usr/share/nginx/src"))
    if f'"{version}"' in (other / "src/core/nginx.h").read_text():
        pytest.skip("one nginx version only on this machine")
    res = run_build(readme_build_command(), nginx=NGINX, src=other,
                    out=tmp_path / "x.so")
    assert res.returncode != 0
    assert f"{NGINX} is nginx {version}" in res.stderr, res.stderr
    assert "source of the nginx that loads it" in res.stderr, res.stderr
    assert not (tmp_path / "x.so").exists()
