"""What report, purge and learn share: the configured record store."""

from __future__ import annotations

from contextlib import contextmanager

from ..config import Service
from ..records import Store, open_store


@contextmanager
def store_of(service: Service):
    store: Store = open_store(service.records)
    try:
        yield store
    finally:
        store.close()
