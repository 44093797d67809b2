"""Integrations with other libraries, each behind an optional extra and imported only when used."""
