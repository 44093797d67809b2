"""authing-wechat: the WeChat access token cached by Authing / GenAuth, fetched well."""

__all__: list[str] = []
