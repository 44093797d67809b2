"""Public names of a package loaded on first use (PEP 562), each from its own module only:
importing ``authing_wechat`` (as pytest does for its plugin in every run) costs almost nothing.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence

__all__ = ["load_on_first_use"]


def load_on_first_use(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public names live in ``modules``
    (relative or absolute names, mapped to the names each defines: the ``__all__``, each once;
    else ``ValueError``)."""
    where = {name: module for module, names in modules.items() for name in names}
    exported = set(vars(sys.modules[package])["__all__"])
    if set(where) != exported or len(where) != sum(map(len, modules.values())):
        raise ValueError(f"{package}: the lazily loaded names must be __all__, each once")

    def __getattr__(name: str) -> object:
        namespace = vars(sys.modules[package])
        module_name = where.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name, package), name)
        namespace[name] = value  # the next use is a plain attribute read
        return value

    def __dir__() -> list[str]:
        namespace = vars(sys.modules[package])
        return sorted({*namespace, *namespace["__all__"]})

    return __getattr__, __dir__
