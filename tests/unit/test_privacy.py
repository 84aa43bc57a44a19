"""Caller numbers only as a keyed hash; audio only when switched on."""

from __future__ import annotations

import dataclasses
import stat
import wave

import pytest

from fourteenplus.config import RecordSettings
from fourteenplus.records import AudioArchive, CallerHasher, RecordWriter
from fourteenplus.records.privacy import SECRET_FILE, normalise_number

from .scripted_calls import Caller

NUMBER = "0612345678"


def test_the_secret_is_created_once_private_and_reused(tmp_path):
    first = CallerHasher.from_state(tmp_path)
    secret = tmp_path / SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_bytes()) == 32
    assert CallerHasher.from_state(tmp_path).hash(NUMBER) == first.hash(NUMBER)


def test_a_loosened_secret_is_made_private_again(tmp_path):
    CallerHasher.from_state(tmp_path)
    (tmp_path / SECRET_FILE).chmod(0o644)
    CallerHasher.from_state(tmp_path)
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


def test_a_damaged_secret_is_refused_rather_than_silently_replaced(tmp_path):
    (tmp_path / SECRET_FILE).write_bytes(b"short")
    with pytest.raises(ValueError, match="damaged"):
        CallerHasher.from_state(tmp_path)


@pytest.mark.parametrize("written", ["0612345678", "+31612345678", "0031612345678", "+31 6 1234 5678",
                                     "06-12345678"])
def test_one_caller_one_hash_however_the_number_arrives(written):
    assert normalise_number(written) == "0612345678"
    hasher = CallerHasher(b"s" * 32)
    assert hasher.hash(written) == hasher.hash(NUMBER)


def test_the_hash_depends_on_the_installation_secret():
    assert CallerHasher(b"a" * 32).hash(NUMBER) != CallerHasher(b"b" * 32).hash(NUMBER)


@pytest.mark.parametrize("withheld", [None, "", "anonymous", "Unknown"])
def test_a_withheld_number_has_no_hash(withheld):
    assert CallerHasher(b"s" * 32).hash(withheld) is None


def test_no_caller_number_in_clear_anywhere_in_the_store(tmp_path):
    records = RecordSettings(str(tmp_path / "records.db"), None, 90, False, 7)
    w = RecordWriter(records, hasher=CallerHasher.from_state(tmp_path), spool=tmp_path / "spool",
                     purge_every_s=None)
    for _ in range(3):
        w.write(Caller(caller="+31 6 12345678").mumble("eh").say("Hoorn").record)
    w.close()
    for file in tmp_path.glob("records.db*"):  # the database, its WAL and shared memory
        data = file.read_bytes()
        assert b"612345678" not in data, file
    assert stat.S_IMODE((tmp_path / "records.db").stat().st_mode) == 0o600


def test_no_audio_is_kept_by_default(tmp_path):
    archive = AudioArchive(RecordSettings(None, None, 90, False, 7), tmp_path / "audio")
    assert archive.save("call", 0, b"\0\0" * 800) is None
    assert not (tmp_path / "audio").exists()


def test_kept_audio_is_private_and_purged_after_its_own_retention(tmp_path):
    settings = RecordSettings(None, None, 90, True, 7)
    archive = AudioArchive(settings, tmp_path / "audio")
    path = archive.save("call", 1, b"\x01\x00" * 8000)
    with wave.open(str(path)) as audio:
        assert (audio.getframerate(), audio.getnframes()) == (8000, 8000)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    now = path.stat().st_mtime
    assert archive.purge(now + 6.9 * 86400) == 0 and path.exists()
    # switching keep_audio off later must not leave what was kept behind
    off = AudioArchive(dataclasses.replace(settings, keep_audio=False), tmp_path / "audio")
    assert off.purge(now + 7.1 * 86400) == 1 and not path.exists()
