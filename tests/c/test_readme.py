"""The C example in README.md compiles with -Werror against the header and
the static library, and prints what the README says it decides."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_c_example_compiles_and_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```c\n(.*?)```", readme, re.S)
    assert len(blocks) == 1, "expected exactly one ```c block in README.md"
    src = tmp_path / "readme.c"
    src.write_text(blocks[0])
    exe = tmp_path / "readme"
    subprocess.run(
        ["cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
         "-I", str(ROOT / "include"), str(src),
         str(ROOT / "target/release/libcorsgate.a"),
         "-lpthread", "-ldl", "-lm", "-o", str(exe)],
        check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "preflight allowed (allowed)",
        "respond 204",
        "set access-control-allow-origin: https://app.example.com",
        "set access-control-allow-methods: GET, PUT",
        "append vary: Origin, Access-Control-Request-Method, "
        "Access-Control-Request-Headers",
    ]
