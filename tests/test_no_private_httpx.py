"""The hand-written package uses httpx and httpcore through their public APIs only.

Every private name (``_x``, not dunder) that httpx's and httpcore's public classes and their
instances have is collected from the installed libraries; no module under ``overlays/`` may
read or write such an attribute on anything but ``self`` / ``cls`` (its own classes may
choose the same names), nor name one in ``getattr`` / ``setattr`` / ``hasattr`` / ``delattr``.
So a release of httpx that renames its internals cannot break the package silently, and the
dependency range can stay open.
"""

from __future__ import annotations

import ast
import inspect
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpcore
import httpx
import pytest

OVERLAYS = Path(__file__).resolve().parent.parent / "overlays"
_REFLECTION = {"getattr", "setattr", "hasattr", "delattr"}


def _instances() -> Iterator[object]:
    request = httpx.Request("POST", "https://example.invalid", content=b"{}")
    yield request
    yield httpx.Response(200, content=b"{}", request=request)
    for made in (httpx.Client(), httpx.AsyncClient(), httpx.HTTPTransport()):
        yield made
        yield from vars(made).values()
    yield httpx.AsyncHTTPTransport()
    yield httpcore.ConnectionPool(ssl_context=ssl.create_default_context())
    yield httpcore.HTTPProxy(proxy_url="http://127.0.0.1:1")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def private_names() -> frozenset[str]:
    """Private attribute names of httpx's and httpcore's public classes and instances."""
    names: set[str] = set()
    for module in (httpx, httpcore):
        for public in module.__all__:
            value = getattr(module, public)
            if inspect.isclass(value):
                names.update(name for name in dir(value) if _private(name))
    for instance in _instances():
        names.update(name for name in dir(instance) if _private(name))
        names.update(name for name in getattr(instance, "__dict__", {}) if _private(name))
    return frozenset(names)


def violations(source: str, forbidden: frozenset[str]) -> list[str]:
    """Where ``source`` touches a name in ``forbidden`` on something not its own."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in forbidden:
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if not own:
                found.append(f"line {node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _REFLECTION
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in forbidden
        ):
            found.append(f"line {node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
    return found


FORBIDDEN = private_names()


def test_the_collected_names_include_what_the_package_once_read() -> None:
    assert {"_transport", "_mounts", "_pool", "_network_backend", "_ssl_context"} <= FORBIDDEN
    assert {"_content", "_proxy_ssl_context"} <= FORBIDDEN


@pytest.mark.parametrize(
    "source",
    [
        "client._transport._pool._network_backend = backend",
        "pool = getattr(getattr(client, '_transport', None), '_pool', None)",
        "mounts = getattr(http, '_mounts', {})",
        "response._content = reader.content()",
        "if not hasattr(response, '_content'): pass",
        "context = transport._pool._ssl_context",
    ],
)
def test_the_scan_finds_private_access(source: str) -> None:
    assert violations(source, FORBIDDEN)


def test_the_scan_lets_a_class_use_its_own_attributes() -> None:
    assert violations("self._pool = pool\nself._pool.close()", FORBIDDEN) == []


@pytest.mark.parametrize(
    "path", sorted(OVERLAYS.rglob("*.py")), ids=lambda p: str(p.relative_to(OVERLAYS))
)
def test_no_module_touches_private_attributes_of_httpx_or_httpcore(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8"), FORBIDDEN) == []


# What the package once used to steer httpx from inside (stack inspection, its own network
# backends and pools, httpcore trace callbacks): none of it outside testing/.
_INSIDE_HTTPX = re.compile(
    r"inspect\.(currentframe|stack)|f_locals|NetworkBackend|ConnectionPool\(|\"trace\""
)
_RUNTIME = [p for p in sorted(OVERLAYS.rglob("*.py")) if "testing" not in p.parts]


def test_the_scan_for_transport_control_finds_it() -> None:
    for source in ('request.extensions["trace"] = hook', "inspect.currentframe()"):
        assert _INSIDE_HTTPX.search(source)


@pytest.mark.parametrize("path", _RUNTIME, ids=lambda p: str(p.relative_to(OVERLAYS)))
def test_no_module_steers_httpx_from_inside(path: Path) -> None:
    assert _INSIDE_HTTPX.findall(path.read_text(encoding="utf-8")) == []
