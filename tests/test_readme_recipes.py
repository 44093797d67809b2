"""The recipes of the README and of the guides it sends readers to, run as a user would: their
own text, in a temporary project, as subprocesses.

Each test reads the code block it checks from ``README.md`` or the guide page, so a recipe
edited there is the recipe tested here (``tests/test_docs_examples.py`` runs every Python block
of the docs as well; these tests check what the blocks promise, line by line). The user's
project sees the package as installed in this venv; pytest runs without this repository's own
dev-only pytest plugins (a user's project would not have them, and they cost seconds of
start-up each), but with ours, loaded from its entry point.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CLIENT_GUIDE = ROOT / "docs" / "guide" / "client.md"
TESTING_GUIDE = ROOT / "docs" / "guide" / "testing.md"
BIN = Path(sys.executable).parent
# What a user's environment would not have: this repository's dev-only pytest plugins.
USER_PYTEST = (
    "-p no:hypothesispytest -p no:schemathesis -p no:anyio -p no:respx -p no:cacheprovider"
)

# A module of the user's application that calls the deprecated method, off the network.
APP_MODULE = """\
import httpx
from authing_wechat import WechatTokenClient


def fetch() -> str:
    def answer(request: httpx.Request) -> httpx.Response:
        data = {"accessToken": "wx-token-0123456789", "expiresAt": "4102444800"}
        return httpx.Response(200, json={"statusCode": 200, "message": "ok", "data": data})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    with http, WechatTokenClient("https://app.authing.cn", "app-id", http_client=http) as client:
        return client.get_wechat_mp_access_token(app_id="wx1", app_secret="secret-1").access_token
"""
MAIN = "import myapp\n\nprint(myapp.fetch())\n"
TEST_MODULE = "import myapp\n\n\ndef test_fetch() -> None:\n    assert myapp.fetch()\n"


def readme_blocks(section: str, language: str, page: Path = README) -> list[str]:
    """The fenced ``language`` blocks under the heading ``section`` (any level) of ``page``."""
    blocks: list[str] = []
    level = 0  # the section heading's level while inside the section, else 0
    fenced: list[str] | None = None  # lines of the code block being read, if any
    in_block = False  # inside a code block, where "# comment" is not a heading
    for line in page.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("```"):
            if in_block and fenced is not None:
                blocks.append("".join(fenced))
            in_block = not in_block
            fenced = [] if in_block and level and line.strip() == f"```{language}" else None
        elif in_block:
            if fenced is not None:
                fenced.append(line)
        elif (heading := re.match(r"(#+) (.*)", line)) and len(heading.group(1)) <= (level or 6):
            level = len(heading.group(1)) if heading.group(2).strip() == section else 0
    return blocks


def commands(block: str) -> list[str]:
    """The command of each line of a ``sh`` block, its trailing comment dropped."""
    return [re.sub(r"\s+#.*", "", line) for line in block.splitlines() if line.strip()]


def user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PYTEST", "COV_CORE"))}  # fmt: skip
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTEST_ADDOPTS"] = USER_PYTEST
    env.update(extra)
    return env


def run(command: str | list[str], project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (a README line, or argv) in ``project`` with the venv first on PATH."""
    argv = shlex.split(command) if isinstance(command, str) else command
    argv[0] = str(BIN / argv[0]) if (BIN / argv[0]).exists() else argv[0]
    return subprocess.run(
        argv, cwd=project, env=user_env(**env), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: an application module, a script using it and a test of it."""
    (tmp_path / "myapp.py").write_text(APP_MODULE)
    (tmp_path / "app.py").write_text(MAIN)
    (tmp_path / "test_myapp.py").write_text(TEST_MODULE)
    return tmp_path


DEPRECATED = "AuthingDeprecationWarning: get_wechat_mp_access_token() calls a deprecated endpoint"


@pytest.mark.one_python  # mypy's verdict on the same code: the same on every Python
def test_the_pyproject_recipe_fails_pytest_and_mypy_on_deprecated_use(project: Path) -> None:
    (toml,) = readme_blocks("Deprecation", "toml", CLIENT_GUIDE)
    (project / "pyproject.toml").write_text(toml)

    tests = run("pytest -q", project)
    assert tests.returncode == 1, tests.stdout + tests.stderr
    assert DEPRECATED in tests.stdout

    typed = run("mypy myapp.py", project)
    assert typed.returncode == 1, typed.stdout + typed.stderr
    assert "get_wechat_mp_access_token is deprecated" in typed.stdout
    assert "[deprecated]" in typed.stdout
    # That mypy is silent without the setting costs a second cold run (seconds): checked by
    # hand with this venv's mypy, as pyright's settings were with pyright 1.1.414.


def test_the_command_line_recipes_fail_on_deprecated_use(project: Path) -> None:
    (block,) = readme_blocks("Deprecation", "sh", CLIENT_GUIDE)
    lines = commands(block)
    assert lines == [
        "pytest -W error::authing_wechat.AuthingDeprecationWarning",
        "python -W error::DeprecationWarning app.py",
    ]
    tests = run(lines[0], project)
    assert tests.returncode == 1, tests.stdout + tests.stderr
    assert DEPRECATED in tests.stdout

    script = run(lines[1], project)
    assert script.returncode == 1
    assert DEPRECATED in script.stderr
    assert script.stdout == ""


def test_pythons_own_w_option_cannot_name_the_class_as_the_guide_warns(project: Path) -> None:
    text = " ".join(CLIENT_GUIDE.read_text(encoding="utf-8").split())
    trap = "python -W error::authing_wechat.AuthingDeprecationWarning -m pytest"
    assert f"`{trap}` prints `Invalid -W option ignored` and passes" in text
    result = run(trap, project)
    assert result.returncode == 0
    assert "Invalid -W option ignored" in result.stderr


def test_the_warning_is_hidden_in_an_applications_modules_unless_asked_for(
    project: Path,
) -> None:
    quiet = run("python app.py", project)
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    for shown in (
        run("python -W default::DeprecationWarning app.py", project),
        run("python app.py", project, PYTHONWARNINGS="default::DeprecationWarning"),
        run("python -X dev app.py", project),
    ):
        assert shown.returncode == 0
        assert DEPRECATED in shown.stderr
        assert "myapp.py:" in shown.stderr  # pointing at the user's line


def test_simplefilter_in_code_fails_the_call(project: Path) -> None:
    text = " ".join(CLIENT_GUIDE.read_text(encoding="utf-8").split())
    recipe = 'warnings.simplefilter("error", AuthingDeprecationWarning)'
    assert f"`{recipe}` works" in text
    (project / "strict.py").write_text(
        "import warnings\n\nfrom authing_wechat import AuthingDeprecationWarning\n\n"
        f"{recipe}\nimport myapp\n\nmyapp.fetch()\n"
    )
    result = run("python strict.py", project)
    assert result.returncode == 1
    assert DEPRECATED in result.stderr


def test_the_pytest_plugin_example_passes_under_w_error(tmp_path: Path) -> None:
    (example,) = readme_blocks("With the pytest plugin", "python", TESTING_GUIDE)
    (tmp_path / "test_example.py").write_text(example)
    result = run("pytest -W error -q", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_readmes_calling_wechat_recipe_runs(tmp_path: Path) -> None:
    _, recipe = readme_blocks("Calling WeChat", "python")
    (tmp_path / "recipe.py").write_text(recipe)
    result = run("python -W error recipe.py", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readmes_production_lines_run_against_stand_ins(tmp_path: Path) -> None:
    # The first call, the provider on Redis and the WeChat call, as the README has them, with
    # its placeholders pointed at the mock Authing, a throwaway Redis and the fake WeChat.
    from authing_wechat.testing import (
        FakeWechatServer,
        MockAuthingServer,
        run_fake_wechat_server,
        run_mock_server,
    )
    from authing_wechat.testing._redis_server import find_redis_server, run_redis_server

    if find_redis_server() is None:
        pytest.skip("no redis-server or valkey-server binary (install the dev dependencies)")
    (first_call,) = readme_blocks("A first call", "python")
    (provider,) = readme_blocks("The provider: a cached token for every WeChat call", "python")
    wechat_call, _ = readme_blocks("Calling WeChat", "python")
    authing = MockAuthingServer()
    with (
        run_mock_server(authing) as mock,
        run_fake_wechat_server(FakeWechatServer(authing)) as wechat,
        run_redis_server() as redis_server,
    ):
        script = "\n".join([
            first_call,
            provider,
            wechat_call,
            'assert answer.json()["errcode"] == 0, answer.text',
            "assert provider.stats().blocking.upstream == 1",
            "client.close()",
        ])  # fmt: skip
        for placeholder, stand_in in {
            "https://<your-app>.authing.cn": mock.url,
            "redis://redis.internal:6379/0": redis_server.url,
            "https://api.weixin.qq.com": wechat.url,
        }.items():
            assert placeholder in script
            script = script.replace(placeholder, stand_in)
        (tmp_path / "production.py").write_text(script)
        result = run("python -W error production.py", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert authing.request_count() == 2  # the first call, and the provider's one refresh


def test_the_readme_is_read_in_minutes_and_links_only_to_what_is_here() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    for target in re.findall(r"\]\(((?:docs/|CHANGELOG)[^)#]*)", text):
        assert (ROOT / target).exists(), target
