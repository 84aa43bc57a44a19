"""The record stores the tests run against: SQLite, and PostgreSQL.

PostgreSQL is a private server the run starts itself (tests/conftest.py, `postgres_server`),
or the one FOURTEENPLUS_TEST_POSTGRES_URL names (a user who may create databases:
postgresql://user@127.0.0.1:5432/postgres); each test gets a database of its own, dropped after.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest

from fourteenplus.config import RecordSettings


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """Record settings for an empty store of each kind."""
    if request.param == "sqlite":
        yield RecordSettings(str(tmp_path / "records.db"), None, 90, False, 7)
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield RecordSettings(None, url, 90, False, 7)


@contextmanager
def fresh_database(admin_url: str):
    """The URL of a new, empty database on the server of `admin_url`, dropped afterwards."""
    import psycopg

    name = f"fourteenplus_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def database_url(url: str, name: str) -> str:
    """`url` with its database replaced by `name`, keeping a query (?host=… for a socket)."""
    head, _, query = url.partition("?")
    base, _, _ = head.rpartition("/")
    return f"{base}/{name}" + (f"?{query}" if query else "")


def configuration_with_store(tmp_path, monkeypatch, retention_days: int = 90) -> tuple:
    """The example configuration with its records in tmp_path, for command tests: (config file, settings)."""
    from fourteenplus.config import EXAMPLE

    db, config = tmp_path / "records.db", tmp_path / "config.yaml"
    config.write_text(EXAMPLE.read_text()
                      .replace("path: null", f"path: {db}")
                      .replace("retention_days: 90", f"retention_days: {retention_days}"))
    monkeypatch.setenv("FOURTEENPLUS_STATE", str(tmp_path / "state"))
    return config, RecordSettings(str(db), None, retention_days, False, 7)
