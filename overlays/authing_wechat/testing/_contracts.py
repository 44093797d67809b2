"""The per-cloud contract documents, shipped so that users' CI tests against the same contract.

``openapi/clouds/authing.yaml`` and ``openapi/clouds/genauth.yaml`` are built from the one spec
with OpenAPI Overlays (``scripts/regenerate.py``); the wheel carries them as package data in
``authing_wechat/testing/contracts/``. Each requires its cloud's app-id header and declares none
of the other cloud's headers, so schemathesis and Prism can hold a server to it unaided.
"""

from __future__ import annotations

from pathlib import Path

from ._paths import CLOUDS, Cloud

__all__ = ["contract_path"]

_HERE = Path(__file__).resolve().parent
# Where the documents are, in order: inside an installed wheel, then in a source checkout, whose
# editable install (`make venv`) imports this package from overlays/ beside openapi/.
_LOCATIONS = (_HERE / "contracts", _HERE.parents[2] / "openapi" / "clouds")


def contract_path(cloud: Cloud) -> Path:
    """The OpenAPI 3.1 document of one cloud's contract, for schemathesis, Prism or redocly.

    ``schemathesis run "$(python -c '...contract_path("authing")...')" --url ...`` or
    ``prism proxy <path> <upstream> --errors`` then check a server (or the client's traffic)
    against exactly what this package expects.

    Args:
        cloud: ``"authing"`` (China; requests carry ``x-authing-app-id``) or ``"genauth"``
            (international; ``x-genauth-app-id``).

    Returns:
        The path of the YAML document.

    Raises:
        ValueError: ``cloud`` is not one of the two.
        FileNotFoundError: The documents are not installed (a broken installation).
    """
    if cloud not in CLOUDS:
        raise ValueError(f"cloud must be one of {', '.join(CLOUDS)}, got {cloud!r}")
    for location in _LOCATIONS:
        path = location / f"{cloud}.yaml"
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"the {cloud} contract is not installed (looked in {', '.join(map(str, _LOCATIONS))})"
    )
