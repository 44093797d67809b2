"""Public names of a package loaded on first use (PEP 562).

Importing ``authing_wechat`` (or a module inside it, such as the pytest plugin that pytest
loads in every run of every project that has the package installed) then costs almost
nothing; the first public name used loads them all, httpx included.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

__all__ = ["load_on_first_use"]


def load_on_first_use(
    package: str, modules: Sequence[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose ``__all__`` names live in ``modules``.

    Args:
        package: The package's ``__name__``.
        modules: Where its public names are defined (relative to it, or absolute); each
            module's ``__all__`` says which of its names to take.

    Returns:
        The module-level ``__getattr__`` and ``__dir__`` to assign in the package.
    """

    def __getattr__(name: str) -> object:
        namespace = vars(sys.modules[package])
        exported = set(namespace["__all__"])
        if name not in exported:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        for module_name in modules:
            module = importlib.import_module(module_name, package)
            namespace.update({n: getattr(module, n) for n in module.__all__ if n in exported})
        return namespace[name]

    def __dir__() -> list[str]:
        namespace = vars(sys.modules[package])
        return sorted({*namespace, *namespace["__all__"]})

    return __getattr__, __dir__
