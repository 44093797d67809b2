#!/usr/bin/env python3
"""Regenerate ``generated/authing_wechat_client`` and ``openapi/clouds/`` from the spec.

``openapi/authing-wechat.yaml`` is the single source of truth: this script validates it, runs the
pinned openapi-python-client into a temporary folder and adds ``py.typed``; it applies each
OpenAPI Overlay in ``openapi/overlays/`` to the spec with the pinned redocly
(``bundle --overlay``, from ``make node``) and validates the per-cloud contract it makes. Then it
either replaces the committed trees wholesale or, with ``--check``, compares them and exits 1 on
any difference (a missing, stale or changed file), printing a summary of the drift.

Usage::

    python scripts/regenerate.py            # regenerate after a spec change
    python scripts/regenerate.py --check    # CI: prove generated/ and openapi/clouds/ match
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "authing-wechat.yaml"
CONFIG = ROOT / "openapi" / "generator-config.yaml"
PACKAGE = "authing_wechat_client"
TARGET = ROOT / "generated" / PACKAGE
OVERLAYS = ROOT / "openapi" / "overlays"
CLOUDS = ROOT / "openapi" / "clouds"
REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"
REDOCLY_CONFIG = ROOT / "openapi" / "redocly.yaml"
# The generator is pinned: another version writes other code, and --check would report drift
# that no spec change caused.
GENERATOR_VERSION = "0.29.1"
# The token's data: its schema, the properties the mock computes, and the file of the others'
# examples written beside the generated models (authing_wechat.testing answers with them).
DATA_SCHEMA = "GetWechatAccessTokenDataDto"
COMPUTED_DATA = frozenset({"accessToken", "expiresAt"})
DATA_EXAMPLES = "data_examples.json"
# Byte-compiled files are made by importing the package, not by the generator.
IGNORED_NAMES = frozenset({"__pycache__", ".ruff_cache", ".mypy_cache"})


class RegenerateError(Exception):
    """A step of regeneration failed; the message says which and why."""


def validate_spec(spec: Path) -> None:
    """Raise RegenerateError unless ``spec`` is a valid OpenAPI document."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    document, _ = read_from_filename(str(spec))
    try:
        validate(document)
    except OpenAPIValidationError as exc:
        raise RegenerateError(
            f"{spec.name} is not a valid OpenAPI document: {exc.message}"
        ) from exc


def _generator_command() -> list[str]:
    installed = importlib.metadata.version("openapi-python-client")
    if installed != GENERATOR_VERSION:
        raise RegenerateError(
            f"openapi-python-client {installed} is installed, {GENERATOR_VERSION} is pinned; "
            "run `make venv`"
        )
    exe = Path(sys.executable).parent / "openapi-python-client"
    if not exe.exists():
        raise RegenerateError(f"{exe} not found; run `make venv`")
    return [str(exe)]


def generate(out_dir: Path, *, spec: Path = SPEC, config: Path = CONFIG) -> Path:
    """Generate the package into ``out_dir/authing_wechat_client`` and return that path."""
    validate_spec(spec)
    package_dir = out_dir / PACKAGE
    env = dict(os.environ)
    # The generator's post hooks run `ruff`: take the one installed beside this interpreter.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [
        *_generator_command(),
        "generate",
        "--path",
        str(spec),
        "--meta",
        "none",
        "--output-path",
        str(package_dir),
        "--config",
        str(config),
        "--fail-on-warning",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0 or not package_dir.is_dir():
        raise RegenerateError(
            "openapi-python-client failed:\n" + (result.stdout + result.stderr).strip()
        )
    # --meta none writes no py.typed, but users type-check against this package.
    (package_dir / "py.typed").write_text("")
    examples = json.dumps(data_examples(spec), indent=2, sort_keys=True, ensure_ascii=False)
    (package_dir / DATA_EXAMPLES).write_text(examples + "\n", encoding="utf-8")
    return package_dir


def data_examples(spec: Path = SPEC) -> dict[str, object]:
    """The ``example`` of each property of the token's data schema (but the token and its
    expiry, which the mock computes): what the mock answers with, so that a property added to
    the spec reaches its answers by regeneration alone.

    Raises:
        RegenerateError: A property has no ``example`` (or ``examples``).
    """
    from openapi_spec_validator.readers import read_from_filename

    document, _ = read_from_filename(str(spec))
    schemas = document["components"]["schemas"]
    examples: dict[str, object] = {}
    for name, declared in schemas[DATA_SCHEMA].get("properties", {}).items():
        prop = declared
        if "$ref" in prop:  # a property of a named schema: its example is there
            prop = {**schemas[prop["$ref"].rsplit("/", 1)[-1]], **prop}
        if "example" in prop:
            examples[name] = prop["example"]
        elif prop.get("examples"):
            examples[name] = prop["examples"][0]
        elif name not in COMPUTED_DATA:
            raise RegenerateError(
                f"{DATA_SCHEMA}.{name} has no example: the mock Authing answers every "
                "property of the token's data with its example; add one to the spec"
            )
    return {name: value for name, value in examples.items() if name not in COMPUTED_DATA}


def build_cloud_documents(out_dir: Path, *, spec: Path = SPEC, overlays: Path = OVERLAYS) -> Path:
    """Write ``out_dir/<cloud>.yaml`` for each ``overlays/<cloud>.yaml`` applied to ``spec``.

    Raises:
        RegenerateError: redocly is missing or fails, or a document it makes is not valid.
    """
    if not REDOCLY.exists():
        raise RegenerateError(f"{REDOCLY} not found; run `make node`")
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    for overlay in sorted(overlays.glob("*.yaml")):
        target = out_dir / overlay.name
        command = [str(REDOCLY), "bundle", str(spec), "--overlay", str(overlay)]
        command += ["--config", str(REDOCLY_CONFIG), "--output", str(target)]
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=ROOT, check=False
        )
        if result.returncode != 0 or not target.is_file():
            raise RegenerateError(
                f"redocly could not apply {overlay.name}:\n"
                + (result.stdout + result.stderr).strip()
            )
        # The source's names, not this run's temporary paths: the output must be reproducible.
        banner = (
            f"# Built by scripts/regenerate.py from openapi/{SPEC.name} with the OpenAPI Overlay "
            f"openapi/overlays/{overlay.name}.\n# Never edit it by hand: edit those and run "
            "`make regenerate`.\n"
        )
        target.write_text(banner + target.read_text(encoding="utf-8"), encoding="utf-8")
        validate_spec(target)
    return out_dir


def _files(tree: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not tree.is_dir():
        return found
    for path in sorted(tree.rglob("*")):
        rel = path.relative_to(tree)
        if any(part in IGNORED_NAMES for part in rel.parts) or not path.is_file():
            continue
        found[rel.as_posix()] = path
    return found


def compare_trees(expected: Path, actual: Path, *, label: str = "generated/") -> list[str]:
    """Describe every difference between two trees; an empty list means identical.

    ``expected`` is freshly generated, ``actual`` is the committed tree, called ``label``.
    """
    want, have = _files(expected), _files(actual)
    problems: list[str] = []
    for rel in sorted(want.keys() - have.keys()):
        problems.append(f"missing: {rel} (the spec makes it; {label} lacks it)")
    for rel in sorted(have.keys() - want.keys()):
        problems.append(f"stale:   {rel} ({label} has it; the spec no longer makes it)")
    for rel in sorted(want.keys() & have.keys()):
        if filecmp.cmp(want[rel], have[rel], shallow=False):
            continue
        problems.append(f"changed: {rel}")
        try:
            new = want[rel].read_text().splitlines(keepends=True)
            old = have[rel].read_text().splitlines(keepends=True)
        except UnicodeDecodeError:
            continue
        diff = list(difflib.unified_diff(old, new, f"{label}{rel}", f"regenerated/{rel}", n=1))
        shown = diff[:40]
        problems.extend("    " + line.rstrip("\n") for line in shown)
        if len(diff) > len(shown):
            problems.append(f"    ... {len(diff) - len(shown)} more diff lines")
    return problems


def replace_tree(source: Path, target: Path) -> None:
    """Replace ``target`` wholesale with ``source``: no stale file survives."""
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*IGNORED_NAMES))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if generated/ differs from the spec's output"
    )
    parser.add_argument("--spec", type=Path, default=SPEC, help=argparse.SUPPRESS)
    parser.add_argument("--target", type=Path, default=TARGET, help=argparse.SUPPRESS)
    parser.add_argument("--clouds-target", type=Path, default=CLOUDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="authing-wechat-gen-") as tmp:
            trees = [
                (generate(Path(tmp), spec=args.spec), args.target, "generated/"),
                (
                    build_cloud_documents(Path(tmp) / "clouds", spec=args.spec),
                    args.clouds_target,
                    "openapi/clouds/",
                ),
            ]
            if args.check:
                return _report_drift(trees, args.spec)
            for fresh, target, _ in trees:
                replace_tree(fresh, target)
                print(f"regenerated {target}")
            return 0
    except RegenerateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _report_drift(trees: list[tuple[Path, Path, str]], spec: Path) -> int:
    status = 0
    for fresh, target, label in trees:
        problems = compare_trees(fresh, target, label=label)
        if not problems:
            print(f"ok: {target} matches {spec.name}")
            continue
        status = 1
        print(
            f"{target} does not match {spec.name}: "
            f"{sum(not p.startswith('    ') for p in problems)} file(s) differ.",
            file=sys.stderr,
        )
        print("\n".join(problems), file=sys.stderr)
    if status:
        print("Run `make regenerate`, review the diff and commit it.", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
