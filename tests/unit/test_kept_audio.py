"""`records.keep_audio`: every utterance the recogniser heard, kept as the 8 kHz WAV it was,
private (0600 in a 0700 folder beside the records), named by call id and turn, named in the
call's record, and gone with that record.

A real `Session` runs a real `CallFlow` over a stand-in channel; the recogniser is scripted
(a name asked about, then a ja) so the test can tell which audio became which attempt.
Records go through the real writer into the real SQLite store, and back.
"""

from __future__ import annotations

import dataclasses
import stat
import wave

import anyio
import numpy as np

from fourteenplus import callflow as cf
from fourteenplus.config import RecordSettings
from fourteenplus.records import AudioArchive, CallerHasher, RecordWriter, Row, open_store, purge
from fourteenplus.records.store import MIGRATIONS
from fourteenplus.session import CallServices, Session
from fourteenplus.speech import Candidate, Recognition
from fourteenplus.speech.service import Answer
from fourteenplus.vocabulary import AttemptKind, CallPath, ListenMode

from .record_backends import backend  # noqa: F401  (a fixture)
from .scripted_calls import DAY, SERVICE, Caller, StandIn, cut

NAME = (np.arange(8000) % 200 - 100).astype(np.int16) * 50  # a second of a sawtooth: "Medemblik"
JA = np.full(2400, 700, np.int16)  # 0.3 s: "ja"


class Speech:
    """Medemblik asked about, then ja; what it was given, by length."""

    idle = False  # no early recognitions at pauses: one recognition per utterance
    busy = False  # callers are admitted to the conversation

    async def recognize(self, spoken, area_code, ended=None):
        assert len(spoken.samples) == len(NAME)
        return Recognition("medemblik", (Candidate("Medemblik", 0.5, "Medemblik"),), "confirm", "Medemblik", "match")

    async def reply(self, spoken, area_code=None, asked=None, ended=None):
        assert len(spoken.samples) == len(JA)
        return Answer(True, True, 0.99, "ja")


class Answering(StandIn):
    """Says the name when asked for it, ja when asked about a municipality."""

    async def listen(self, action):
        await super().listen(action)
        self.session.heard(action, cut(NAME if action.mode == ListenMode.NAME else JA))


def call(settings: RecordSettings, tmp_path) -> tuple[Session, RecordWriter]:
    archive = AudioArchive(settings)
    writer = RecordWriter(settings, hasher=CallerHasher.from_state(tmp_path), spool=tmp_path / "spool.jsonl",
                          purge_every_s=None)
    session = Session(cf.CallFlow(SERVICE, "140229", "0612345678"),
                      CallServices(Speech(), writer, audio=archive), Answering, lambda _: None)

    async def main():
        with anyio.fail_after(10):
            await session.run()

    anyio.run(main)
    assert writer.flush(10)
    writer.close()
    return session, writer


def kept(tmp_path, **changes) -> RecordSettings:
    return dataclasses.replace(RecordSettings(str(tmp_path / "records.db"), None, 90, True, 7), **changes)


def test_security_kept_audio_is_private_named_by_call_and_turn_and_named_in_the_record(tmp_path):
    settings = kept(tmp_path)
    session, _ = call(settings, tmp_path)
    [stored] = open_store(settings).calls()
    assert stored.record.path == CallPath.CONFIRMED and stored.record.municipality == "Medemblik"
    assert stored.call_id == session.flow.record.call_id
    assert [(a.kind, a.audio) for a in stored.record.attempts] == [
        (AttemptKind.NAME, f"{stored.call_id}-0.wav"), (AttemptKind.REPLY, f"{stored.call_id}-1.wav")]
    folder = tmp_path / "audio"  # beside the records
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for attempt, samples in zip(stored.record.attempts, (NAME, JA)):
        path = folder / attempt.audio
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with wave.open(str(path)) as audio:
            assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
            assert np.array_equal(np.frombuffer(audio.readframes(audio.getnframes()), "<i2"), samples)


def test_kept_audio_goes_to_the_configured_folder(tmp_path):
    settings = kept(tmp_path, audio_dir=str(tmp_path / "elsewhere" / "voices"))
    call(settings, tmp_path)
    [stored] = open_store(settings).calls()
    assert sorted(p.name for p in (tmp_path / "elsewhere" / "voices").iterdir()) == sorted(
        a.audio for a in stored.record.attempts)
    assert not (tmp_path / "audio").exists()


def test_kept_audio_is_purged_with_its_record(tmp_path):
    # Audio kept as long as the record (the audio's own retention is longer here), so only
    # the record's purge can be what removes it.
    settings = kept(tmp_path, retention_days=30, audio_retention_days=365)
    call(settings, tmp_path)
    store = open_store(settings)
    [stored] = store.calls()
    assert len(list((tmp_path / "audio").iterdir())) == 2
    assert purge(settings, store, now=stored.record.started_at + 29 * DAY).audio_files == 0
    purged = purge(settings, store, now=stored.record.started_at + 31 * DAY, force=True)  # its only record
    assert (purged.calls, purged.audio_files) == (1, 2)
    assert list((tmp_path / "audio").iterdir()) == []


def test_no_audio_is_kept_when_keep_audio_is_off_the_default(tmp_path):
    settings = kept(tmp_path, keep_audio=False)
    call(settings, tmp_path)
    [stored] = open_store(settings).calls()
    assert [a.audio for a in stored.record.attempts] == [None, None]
    assert not (tmp_path / "audio").exists()


def test_a_row_spooled_before_attempts_named_their_audio_is_still_stored(tmp_path):
    settings = kept(tmp_path)
    store = open_store(settings)
    assert store.version() == MIGRATIONS[-1][0]
    old = Row.of(Caller().mumble("eh").say("Hoorn").record, None)
    for attempt in old.attempts:
        del attempt["audio"]
    assert store.insert(Row.from_json(old.to_json()))
    assert [a.audio for a in store.calls()[0].record.attempts] == [None, None]


def test_each_store_keeps_the_audio_an_attempt_names_and_gives_it_up_with_the_call(backend):
    record = Caller().say("Medemblik", decision="confirm").reply(True).record
    for seq, attempt in enumerate(record.attempts):
        attempt.audio = AudioArchive.name(record.call_id, seq)
    store = open_store(backend)
    store.insert(Row.of(record, None))
    names = [f"{record.call_id}-0.wav", f"{record.call_id}-1.wav"]
    assert [a.audio for a in store.calls()[0].record.attempts] == names
    assert store.audio_before(record.started_at) == []
    assert sorted(store.audio_before(record.started_at + 1)) == names
