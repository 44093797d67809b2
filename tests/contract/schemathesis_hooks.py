"""schemathesis hooks of ``schemathesis.toml``: loaded by ``schemathesis run`` from the repo root.

The contract documents HTML error pages (what proxies and WAFs send) as a string schema;
schemathesis reads text/plain itself but has no reader for text/html, so it would skip those
answers and warn. This reads them as text, so they are validated like every other answer.
"""

from __future__ import annotations

import schemathesis
from schemathesis import Response
from schemathesis.core.deserialization import DeserializationContext


@schemathesis.deserializer("text/html")
def html_page_as_text(ctx: DeserializationContext, response: Response) -> str:
    """An HTML error page, as the string the contract's ``ProxyPage`` schema describes."""
    return response.text_lossy()
