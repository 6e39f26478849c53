"""The NGINX example in README.md passes `nginx -t` with the real module."""
import re
import subprocess

from nginx_process import MODULE, NGINX, ROOT


def test_readme_nginx_example_passes_nginx_t(tmp_path):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```nginx\n(.*?)```", readme, re.S)
    assert len(blocks) == 1, "expected exactly one ```nginx block"
    conf = blocks[0]
    (tmp_path / "cors.json").write_text(
        (ROOT / "examples" / "policy.json").read_text())
    (tmp_path / "htpasswd").write_text("user:{PLAIN}secret\n")
    (tmp_path / "logs").mkdir()
    conf = (conf.replace("/path/to/build/ngx_http_corsgate_module.so",
                         str(MODULE))
                .replace("/etc/nginx/", f"{tmp_path}/"))
    assert str(tmp_path) in conf
    # the snippet leaves out what every nginx.conf has
    conf = conf.replace("http {", f"error_log {tmp_path}/error.log;\n"
                        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{", 1)
    (tmp_path / "nginx.conf").write_text(conf)
    res = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
