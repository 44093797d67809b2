"""The provider layer: one cached token per WeChat app, refreshed before it expires.

``_refresh`` is the rule (FRESH, STALE, MUST, INVALID) shared by sync and async; ``_providers``
the two providers; ``_fleet`` a refresh through a shared store; ``_store`` the store protocols;
``_redis_store`` the Redis stores (the ``[redis]`` extra, imported only when used); ``_registry``
one provider per client and WeChat app. It is built on the client layer, never the other way.
"""
