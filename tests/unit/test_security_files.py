"""Files holding secrets or personal data are never world-readable, whatever the umask; the
caller-hashing secret can be kept away from the records it protects."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import os
import stat
from contextlib import contextmanager

import pytest

from fourteenplus import cli
from fourteenplus.config import EXAMPLE, RecordSettings, load_service
from fourteenplus.records import CallRecord, RecordWriter, Row, open_store

from .test_config import errors_of

NUMBER = "0612345678"


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_security_install_config_writes_a_file_no_other_user_can_read(tmp_path, capsys):
    with umask(0o022):
        assert cli.main(["install", "config", "--out", str(tmp_path), "--user", "no-such-group-here"]) == 0
    written = tmp_path / "fourteenplus.yaml"
    assert mode(written) == 0o640
    assert "chgrp no-such-group-here" in capsys.readouterr().err


def test_security_the_record_store_and_its_wal_are_private_under_any_umask(tmp_path):
    settings = RecordSettings(str(tmp_path / "records" / "records.db"), None, 90, False, 7)
    with umask(0):
        store = open_store(settings)
        store.insert(Row.of(CallRecord("140229"), None))
        # while open: SQLite removes -wal and -shm at close
        modes = {f.name: mode(f) for f in (tmp_path / "records").iterdir()}
        store.close()
        spool = tmp_path / "spool"
        w = RecordWriter(settings, spool=spool, opener=lambda _: 1 / 0, retries=1, retry_delay_s=0.001,
                         purge_every_s=None)
        w.write(CallRecord("140229"))
        w.close()
    assert modes == {"records.db": 0o600, "records.db-shm": 0o600, "records.db-wal": 0o600}
    assert mode(tmp_path / "records") == 0o700 and mode(spool) == 0o700
    assert [mode(f) for f in spool.iterdir()] == [0o600]


def test_security_the_caller_key_can_be_kept_outside_the_state_directory(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FOURTEENPLUS_STATE", str(tmp_path / "state"))
    key = tmp_path / "credentials" / "caller.key"
    key.parent.mkdir()
    key.write_bytes(b"k" * 32)
    key.chmod(0o400)
    settings = RecordSettings(str(tmp_path / "records.db"), None, 90, False, 7, caller_key=str(key))
    w = RecordWriter(settings, spool=tmp_path / "spool", purge_every_s=None)
    w.close()
    assert w.hasher is not None
    assert w.hasher.hash(NUMBER) == hmac.new(b"k" * 32, NUMBER.encode(), hashlib.sha256).hexdigest()
    assert not (tmp_path / "state" / "caller.key").exists()

    key.chmod(0o644)  # readable by everyone: refused, and callers are recorded as unknown
    assert RecordWriter(settings, spool=tmp_path / "spool", purge_every_s=None).hasher is None
    assert "readable by every user" in caplog.text
    missing = dataclasses.replace(settings, caller_key=str(tmp_path / "elsewhere" / "caller.key"))
    assert RecordWriter(missing, spool=tmp_path / "spool", purge_every_s=None).hasher is None
    assert not (tmp_path / "elsewhere").exists()  # a configured key is never made up
    assert [r.levelno for r in caplog.records if "caller hashing secret" in r.getMessage()] == [logging.ERROR] * 2


def test_the_caller_key_in_the_configuration_is_an_absolute_path(write_yaml):
    example = EXAMPLE.read_text(encoding="utf-8")
    assert load_service(EXAMPLE).records.caller_key is None
    path = write_yaml(example.replace("caller_key: null", "caller_key: /etc/credstore/caller.key"))
    assert load_service(path).records.caller_key == "/etc/credstore/caller.key"
    path, errors = errors_of(write_yaml, example.replace("caller_key: null", "caller_key: keys/caller.key"))
    line = next(n for n, text in enumerate(example.splitlines(), 1) if "caller_key:" in text)
    assert errors == [f"{path}:{line}:3: 'caller_key' must be an absolute path"]
