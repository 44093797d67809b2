"""Argument checks shared by every constructor (``*_validator``: for attrs).

``TypeError`` for a wrong type, ``ValueError`` for a value that cannot work; messages name the
argument and never echo a string value (a misplaced secret must not end up in an error).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the validators' signature only: importing the client does not import attrs
    import attrs

__all__ = [
    "MAX_SECONDS",
    "bool_validator",
    "check_bool",
    "check_callable",
    "check_clock",
    "check_seconds",
    "optional_callable_validator",
    "seconds_validator",
]

# One day: above it is a unit mistake (ms for s), or overflows time.sleep or socket timeouts.
MAX_SECONDS = 86_400.0

_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def check_seconds(
    name: str,
    value: object,
    *,
    positive: bool = False,
    maximum: float = MAX_SECONDS,
    unit: str = "seconds",
) -> float:
    """Return ``value`` as a float, or raise naming ``name`` (and ``unit``): ``TypeError``
    if not an int or float (or a bool), ``ValueError`` if not finite, negative (0 with
    ``positive``) or above ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of {unit}, not {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:  # an int beyond float's range, such as 10**400
        raise ValueError(f"{name} must be at most {maximum:g} {unit}; it is far larger") from None
    if not math.isfinite(seconds):
        raise ValueError(f"{name} must be a finite number of {unit}, not {seconds!r}")
    if positive and seconds <= 0:
        raise ValueError(f"{name} must be > 0 {unit}, not {seconds!r}")
    if seconds < 0:
        raise ValueError(f"{name} must be >= 0 {unit}, not {seconds!r}")
    if seconds > maximum:
        raise ValueError(f"{name} must be at most {maximum:g} {unit}, not {seconds!r}")
    return seconds


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool`` (``"false"`` is refused), else ``TypeError``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {type(value).__name__}")
    return value


def check_callable(name: str, value: object, *, optional: bool = True) -> None:
    """Raise ``TypeError`` unless ``value`` is callable (or ``None`` when ``optional``)."""
    if value is None and optional:
        return
    if not callable(value):
        what = "callable or None" if optional else "callable"
        raise TypeError(f"{name} must be {what}, not {type(value).__name__}")


_CLOCK_METHODS = ("monotonic", "time", "sleep", "asleep")


def check_clock(name: str, value: object) -> None:
    """Raise ``TypeError`` unless ``value`` is ``None`` or has the ``Clock`` methods (this
    names what is missing, which ``isinstance`` on the protocol would not)."""
    if value is None:
        return
    if isinstance(value, type):
        raise TypeError(f"{name} must be a Clock instance, not the class {value.__name__}")
    missing = [method for method in _CLOCK_METHODS if not callable(getattr(value, method, None))]
    if missing:
        raise TypeError(
            f"{name} must be a Clock (with {', '.join(_CLOCK_METHODS)}); "
            f"{type(value).__name__} lacks {', '.join(missing)}"
        )


def seconds_validator(
    *, positive: bool = False, optional: bool = False, maximum: float = MAX_SECONDS
) -> _Validator:
    """An attrs validator running ``check_seconds`` (``None`` passes if ``optional``)."""

    def validate(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        check_seconds(attribute.name, value, positive=positive, maximum=maximum)

    return validate


def bool_validator(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator running ``check_bool`` on the attribute."""
    check_bool(attribute.name, value)


def optional_callable_validator(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator running ``check_callable`` on the attribute (``None`` passes)."""
    check_callable(attribute.name, value)
