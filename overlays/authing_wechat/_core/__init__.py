"""The client layer: one call to Authing / GenAuth, from settings to a typed result.

``_client`` holds the two clients and their send loops; ``_call`` one call's decisions;
``_wire`` the request and the classification of answers; ``_retry``, ``_deprecation``,
``_errors``, ``_secret``, ``_tls`` and the bounds (``_body``, ``_socket_deadline``) one concern
each. Nothing here imports the provider layer until ``token_provider()`` is called.
"""
