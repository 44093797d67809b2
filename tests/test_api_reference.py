"""The API reference shows public names only: what griffe reads of every public object, with
the docs' extension (``scripts/griffe_public_signatures.py``), names nothing private."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import griffe
import pytest
from authing_wechat import __all__ as PUBLIC
from authing_wechat.testing import __all__ as TESTING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from griffe_public_signatures import PublicSignatures  # noqa: E402

PRIVATE_NAME = re.compile(r"(?<![\w.])_[A-Za-z]\w*")
PATHS = [f"authing_wechat.{name}" for name in PUBLIC]
PATHS += [f"authing_wechat.testing.{name}" for name in TESTING]


def _load(*extensions: griffe.Extension) -> griffe.GriffeLoader:
    loader = griffe.GriffeLoader(
        search_paths=[ROOT / "overlays", ROOT / "generated"],
        extensions=griffe.load_extensions(*extensions),
    )
    loader.load("authing_wechat")
    return loader


@pytest.fixture(scope="module")
def documented() -> griffe.GriffeLoader:
    return _load(PublicSignatures())


def _shown(obj: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for each annotation and default the reference renders for ``obj``."""
    if obj.is_alias:
        obj = obj.final_target
    if obj.is_function:
        for parameter in obj.parameters:
            for part in (parameter.annotation, parameter.default):
                if part is not None:
                    yield f"{obj.path}({parameter.name})", str(part)
        if obj.returns is not None:
            yield f"{obj.path} ->", str(obj.returns)
    elif obj.is_attribute and obj.annotation is not None:
        yield obj.path, str(obj.annotation)
    if obj.is_class:
        for name, member in obj.all_members.items():
            if not name.startswith("_") or name == "__init__":
                yield from _shown(member)


def _leaks(loader: griffe.GriffeLoader, path: str) -> list[tuple[str, str]]:
    shown = _shown(loader.modules_collection[path])
    return [(where, text) for where, text in shown if PRIVATE_NAME.search(text)]


@pytest.mark.parametrize("path", PATHS)
def test_no_signature_in_the_reference_names_a_private_name(
    documented: griffe.GriffeLoader, path: str
) -> None:
    assert _leaks(documented, path) == []


def test_without_the_extension_the_scan_finds_the_stand_ins() -> None:
    plain = _load()
    found = {text for path in PATHS for _, text in _leaks(plain, path)}
    assert any("_DEFAULT_RETRY" in text for text in found)
    assert any("_HttpT" in text for text in found)
