"""The client layer: one call to Authing / GenAuth, from settings to a typed result (the
provider layer is imported by ``token_provider()`` alone)."""
