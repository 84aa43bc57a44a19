"""What report, purge and learn share: the configuration, its errors printed, and its record store."""

from __future__ import annotations

from contextlib import contextmanager

from ..config import Service, load_service
from ..errors import ConfigError, ConfigErrors
from ..grammar import Grammars, load_grammars
from ..records import Store, open_store
from ._common import print_errors


def configured(args, grammars: bool = False) -> tuple[Service, Grammars | None] | None:
    """The service (and the grammars if asked), or None once their errors are printed."""
    try:
        service = load_service(args.config)
        return service, load_grammars(service.directory) if grammars else None
    except (ConfigError, ConfigErrors) as exc:
        print_errors(exc)
        return None


@contextmanager
def store_of(service: Service):
    store: Store = open_store(service.records)
    try:
        yield store
    finally:
        store.close()
