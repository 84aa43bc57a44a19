"""The ARI adapter: `client` (the only module that knows the ARI library) and `app`."""
