"""The record stores the tests run against: SQLite always, PostgreSQL when a server is given.

Set FOURTEENPLUS_TEST_POSTGRES_URL to a server where the user may create databases
(postgresql://user@127.0.0.1:5432/postgres); each test gets a database of its own, dropped after.
"""

from __future__ import annotations

import os
import uuid

import pytest

from fourteenplus.config import RecordSettings

POSTGRES_URL = os.environ.get("FOURTEENPLUS_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """Record settings for an empty store of each kind."""
    if request.param == "sqlite":
        yield RecordSettings(str(tmp_path / "records.db"), None, 90, False, 7)
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: set FOURTEENPLUS_TEST_POSTGRES_URL to test the records.url store")
    psycopg = pytest.importorskip("psycopg", reason="PostgreSQL: pip install '.[postgres]'")
    name = f"fourteenplus_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    yield RecordSettings(None, f"{base}/{name}", 90, False, 7)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def configuration_with_store(tmp_path, monkeypatch, retention_days: int = 90) -> tuple:
    """The example configuration with its records in tmp_path, for command tests: (config file, settings)."""
    from fourteenplus.paths import REPO

    db, config = tmp_path / "records.db", tmp_path / "config.yaml"
    config.write_text((REPO / "fourteenplus.example.yaml").read_text()
                      .replace("path: null", f"path: {db}")
                      .replace("retention_days: 90", f"retention_days: {retention_days}"))
    monkeypatch.setenv("FOURTEENPLUS_STATE", str(tmp_path / "state"))
    return config, RecordSettings(str(db), None, retention_days, False, 7)
