"""fourteenplus's development harness: what measures and loads the product, not what an
operator runs. Its commands (`fourteenplus bench|corpus|soak`) reach the product's CLI
through the entry-point group `fourteenplus.commands` (dev/pyproject.toml)."""
