import os
import tempfile
from pathlib import Path

import pytest

from fourteenplus import pgserver


@pytest.fixture
def write_yaml(tmp_path):
    """Write a YAML file from text and return its path."""
    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write


@pytest.fixture(scope="session")
def postgres_server():
    """A private PostgreSQL for the whole run (stopped by pid at the end), or None when
    FOURTEENPLUS_TEST_POSTGRES_URL names a server to use instead.

    Its directory is made outside pytest's tmp tree: as root the server runs as `postgres`,
    which cannot enter root's private pytest directories."""
    if os.environ.get("FOURTEENPLUS_TEST_POSTGRES_URL"):
        yield None
        return
    reason = pgserver.available()
    if reason:
        pytest.skip(f"PostgreSQL: {reason} (or set FOURTEENPLUS_TEST_POSTGRES_URL)")
    with pgserver.Server(Path(tempfile.mkdtemp(prefix="fp-pg-"))) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server) -> str:
    """An administrator's URL: the given server's, else the private one's."""
    return os.environ.get("FOURTEENPLUS_TEST_POSTGRES_URL") or postgres_server.url()
