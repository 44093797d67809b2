"""The client layer: one call to Authing / GenAuth, from settings to a typed result.

``_client`` holds the two clients and their send loops; ``_call`` one call's decisions and its
bounds; ``_request`` the requests and ``_classify`` the answers; ``_retry``, ``_deprecation``,
``_errors``, ``_secret`` and ``_body`` one concern each. Nothing here imports the provider
layer until ``token_provider()`` is called.
"""
