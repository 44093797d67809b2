"""What a user installs: the wheel and the sdist (licence, metadata), and ``make venv``.

The wheel is built once, offline, with the venv's own hatchling (the ``[build-system]`` pin,
also in the dev extra), then installed with uv into a directory of its own and run from there.
``make venv`` is run with fake interpreters that only say their version and record their calls.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LICENSE = (ROOT / "LICENSE").read_text(encoding="utf-8")
VERSION = "0.1.0"


def _run(
    argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # sdist first, then the wheel from it: the wheel proves the sdist is complete.
    built = _run(
        [str(BIN / "uv"), "build", "--offline", "--no-build-isolation", "--python", sys.executable,
         "--out-dir", str(out), str(ROOT)],
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob(f"authing_wechat-{VERSION}-py3-none-any.whl")
    return wheel


def test_the_licence_is_mit_by_the_maintainers() -> None:
    assert LICENSE.startswith("MIT License\n")
    assert "authing-wechat maintainers" in LICENSE


def test_the_wheel_carries_the_licence_and_its_metadata(dist: Path) -> None:
    with zipfile.ZipFile(_wheel(dist)) as wheel:
        info = f"authing_wechat-{VERSION}.dist-info"
        assert wheel.read(f"{info}/licenses/LICENSE").decode() == LICENSE
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata.get_all("Project-URL")


def test_the_sdist_carries_the_licence_and_the_changelog(dist: Path) -> None:
    (sdist,) = dist.glob(f"authing_wechat-{VERSION}.tar.gz")
    with tarfile.open(sdist) as archive:
        root = f"authing_wechat-{VERSION}"
        names = set(archive.getnames())
        assert {f"{root}/LICENSE", f"{root}/CHANGELOG.md", f"{root}/README.md"} <= names
        license_file = archive.extractfile(f"{root}/LICENSE")
        assert license_file is not None
        assert license_file.read().decode() == LICENSE


def test_the_installed_wheel_runs_and_knows_its_licence_and_version(
    dist: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    installed = _run([str(BIN / "uv"), "pip", "install", "--offline", "--no-deps",
                      "--target", str(target), str(_wheel(dist))])  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    # The target comes first on sys.path; its dependencies come from this venv.
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = (
        "import importlib.metadata as m, authing_wechat, authing_wechat._core._settings as s\n"
        "d = m.distribution('authing-wechat')\n"
        "print(authing_wechat.__file__)\n"
        "print(d.read_text('licenses/LICENSE') == open('LICENSE').read())\n"
        "print(s.user_agent())\n"
    )
    result = _run([sys.executable, "-c", probe], cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    module_file, same_licence, user_agent = result.stdout.splitlines()
    assert module_file.startswith(str(target))
    assert same_licence == "True"
    assert user_agent.startswith(f"authing-wechat/{VERSION} python-httpx/")
    version = _run([sys.executable, "-m", "authing_wechat", "--version"], cwd=tmp_path, env=env)
    assert version.stdout == f"authing-wechat {VERSION}\n"


# --- make venv with the wrong Python ----------------------------------------------------

_FAKE_PYTHON = """\
#!/bin/sh
# A fake interpreter: says it is Python {version}; `-m venv DIR` makes a fake venv of itself.
echo "{name} $*" >> "{log}"
case "$1" in
  --version) echo "Python {version}" ;;
  -c) exit {check_status} ;;
  -m) if [ "$2" = venv ]; then
        mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && cp "$0" "$3/bin/uv"
      fi ;;
esac
"""


def _fake_python(path: Path, version: str, log: Path) -> Path:
    ok = tuple(int(part) for part in version.split(".")[:2]) >= (3, 11)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_FAKE_PYTHON.format(
        name=path.name, version=version, log=log, check_status=0 if ok else 1
    ))  # fmt: skip
    path.chmod(0o755)
    return path


def _make_venv(python: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    # Not a sub-make of `make test`: its flags would change what make prints.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    argv = ["make", "--no-print-directory", "-C", str(ROOT), "venv", f"PYTHON={python}"]
    return _run([*argv, f"VENV={venv}"], env=env)


def test_make_venv_with_an_old_python_says_so_in_one_line_and_makes_nothing(
    tmp_path: Path,
) -> None:
    log = tmp_path / "calls.log"
    python = _fake_python(tmp_path / "python3.10", "3.10.12", log)
    result = _make_venv(python, tmp_path / "venv")
    assert result.returncode != 0
    (ours,) = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert "needs Python 3.11 or newer" in ours
    assert "Python 3.10.12" in ours
    assert not (tmp_path / "venv").exists()
    assert "-m venv" not in log.read_text()


def test_make_venv_rebuilds_a_venv_made_by_an_old_python(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    venv = tmp_path / "venv"
    _fake_python(venv / "bin" / "python", "3.10.12", log)  # left by an earlier `make`
    (venv / "left-over").touch()
    python = _fake_python(tmp_path / "python3.11", "3.11.9", log)
    result = _make_venv(python, venv)
    assert result.returncode == 0, result.stderr
    assert "was not made by Python 3.11+; making it again" in result.stdout
    assert not (venv / "left-over").exists()
    assert f"python3.11 -m venv {venv}" in log.read_text()
    assert (venv / ".installed-stamp").exists()


def test_make_venv_keeps_a_good_venv_whatever_python_is(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    venv = tmp_path / "venv"
    _fake_python(venv / "bin" / "python", "3.11.9", log)
    (venv / "bin" / "uv").symlink_to(venv / "bin" / "python")
    python = _fake_python(tmp_path / "python3.10", "3.10.12", log)
    result = _make_venv(python, venv)
    assert result.returncode == 0, result.stderr
    assert "python3.10" not in log.read_text()


def test_every_file_the_project_files_mention_is_in_the_repository() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    for name in ("pyproject.toml", "Makefile", "README.md"):
        text = (root / name).read_text(encoding="utf-8")
        for mentioned in set(re.findall(r"\b[A-Z][A-Z_]+\.md\b", text)):
            assert (root / mentioned).exists(), f"{name} mentions {mentioned}, which is not here"


# --- make test's other Pythons, when one is missing --------------------------------------


def _make_other_python(
    target: str, tmp_path: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    # No python3.12 on this PATH, and a pyenv root without versions.
    env = {
        k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CI")
    }
    env.update(PATH="/usr/bin:/bin", PYENV_ROOT=str(tmp_path), **extra)
    return _run(["make", "--no-print-directory", "-C", str(ROOT), target], env=env)


@pytest.mark.parametrize("target", ["venv-3.12", "test-3.12"])
def test_a_missing_other_python_is_skipped_saying_so(tmp_path: Path, target: str) -> None:
    if shutil.which("python3.12", path="/usr/bin:/bin"):
        pytest.skip("this machine has python3.12 on its system PATH")
    result = _make_other_python(target, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "make: Python 3.12 not found" in result.stderr
    assert "the tests on Python 3.12 are skipped here (CI fails on this)" in result.stderr
    assert not (tmp_path / "versions").exists()


def test_a_missing_other_python_fails_under_ci(tmp_path: Path) -> None:
    if shutil.which("python3.12", path="/usr/bin:/bin"):
        pytest.skip("this machine has python3.12 on its system PATH")
    result = _make_other_python("test-3.12", tmp_path, CI="true")
    assert result.returncode != 0
    assert "CI tests every Python that pyproject declares" in result.stderr
    assert "pytest" not in result.stdout


def _pins(lock: Path) -> dict[str, str]:
    import re

    text = lock.read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", text, flags=re.MULTILINE))


def test_the_runtime_lock_pins_what_the_dev_lock_pins() -> None:
    # A user's install (as bench.py measures the import in) and the tested venv hold the same
    # versions of every runtime dependency.
    runtime, dev = _pins(ROOT / "requirements/runtime.lock"), _pins(ROOT / "requirements/dev.lock")
    assert {"httpx", "attrs", "typing-extensions"} <= runtime.keys()
    assert {name: version for name, version in runtime.items() if dev.get(name) != version} == {}
