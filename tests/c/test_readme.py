"""The C section of README.md, as pasted: its program compiles with
-Werror and prints what the README says it decides, both linked
statically from the repository and after `make install` (the install
commands run line by line, with only the prefix /usr/local replaced by a
temporary one, and pkg-config pointed there, since /usr/local/lib/pkgconfig
is pkg-config's default on Debian). Also: no file in the repository points
to a DESIGN.md the repository does not have."""
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = [
    "preflight allowed (allowed)",
    "respond 204",
    "set access-control-allow-origin: https://app.example.com",
    "set access-control-allow-methods: GET, PUT",
    "append vary: Origin, Access-Control-Request-Method, "
    "Access-Control-Request-Headers",
]


def c_section():
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## C\n", 1)[1].split("\n## ", 1)[0]


def c_program():
    blocks = re.findall(r"```c\n(.*?)```", c_section(), re.S)
    assert len(blocks) == 1, "expected exactly one ```c block in README's C section"
    return blocks[0]


def install_commands():
    for block in re.findall(r"```sh\n(.*?)```", c_section(), re.S):
        if "make install" in block:
            # join continuation lines, drop comments
            text = block.replace("\\\n", " ")
            return [re.sub(r"\s+#.*$", "", line).strip()
                    for line in text.splitlines() if line.strip()]
    raise AssertionError("no `make install` block in README's C section")


def test_readme_c_example_compiles_and_runs(tmp_path):
    src = tmp_path / "readme.c"
    src.write_text(c_program())
    exe = tmp_path / "readme"
    subprocess.run(
        ["cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
         "-I", str(ROOT / "include"), str(src),
         str(ROOT / "target/release/libcorsgate.a"),
         "-lpthread", "-ldl", "-lm", "-o", str(exe)],
        check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == EXPECTED


def test_readme_install_then_build_and_run(tmp_path):
    prefix = tmp_path / "usr-local"
    work = tmp_path / "work"
    work.mkdir()
    (work / "app.c").write_text(c_program())
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    env["PKG_CONFIG_PATH"] = str(prefix / "lib" / "pkgconfig")
    commands = install_commands()
    assert commands[0].startswith("make install PREFIX=/usr/local"), commands
    assert commands[-1] == "./app", commands
    for command in commands:
        command = command.replace("/usr/local", str(prefix))
        cwd = ROOT if command.startswith("make ") else work
        proc = subprocess.run(["bash", "-euc", command], cwd=cwd, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
    assert proc.stdout.splitlines() == EXPECTED
    # What the README warns about: without the run path, the loader does
    # not find the library.
    cc = next(c for c in commands if c.startswith("cc "))
    bare = re.sub(r"\s*-Wl,-rpath,\$\([^)]*\)", "", cc).replace("-o app", "-o bare")
    subprocess.run(["bash", "-euc", bare], cwd=work, env=env, check=True)
    proc = subprocess.run([str(work / "bare")], env=env, capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert "libcorsgate.so.2: cannot open shared object file" in proc.stderr


def test_no_reference_to_a_missing_design_md():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    have = {Path(f).name for f in files}
    for name in ("include/corsgate.h", "tests/vectors/README.md",
                 "examples/envoy.yaml"):
        assert name in files, name
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if "DESIGN.md" in text and name != "tests/c/test_readme.py":
            assert "DESIGN.md" in have, f"{name} points to a DESIGN.md " \
                "that is not in the repository"
