import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from fourteenplus_dev import pgserver

OURS = "FOURTEENPLUS_"
FOR_TESTS = "FOURTEENPLUS_TEST_"  # the tests' own settings (a PostgreSQL to test against) stay


def _ours(name: str) -> bool:
    return name.startswith(OURS) and not name.startswith(FOR_TESTS)


@contextmanager
def _without_our_environment():
    saved = {name: value for name, value in os.environ.items() if _ours(name)}
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """Test modules that load the configuration when imported see the example, whatever
    `FOURTEENPLUS_CONFIG` the engineer's shell holds."""
    with _without_our_environment():
        return (yield)


@pytest.fixture(autouse=True)
def no_stray_environment(request, monkeypatch):
    """A `FOURTEENPLUS_*` variable from the engineer's shell (a configuration, a model, a state
    dir) must not change what a unit test sees. The integration tests run the installation
    itself, whose paths those variables may point at, so they keep them."""
    if request.node.get_closest_marker("integration"):
        return
    for name in list(os.environ):
        if _ours(name):
            monkeypatch.delenv(name)



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
