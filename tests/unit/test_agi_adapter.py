"""The FastAGI adapter against a scripted Asterisk on a real socket: the AGI protocol as sent."""

import asyncio
import dataclasses
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fourteenplus import agi, ami
from fourteenplus.asterisk_config import Credentials
from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.session import CallServices
from fourteenplus.speech import Candidate, Recognition
from fourteenplus.speech.service import Answer
from fourteenplus.speech import vad
from fourteenplus.speech.audio import encode

from ..waiting import until
from .scripted_calls import RecordSink

# The example service with short timers: silence is an attempt after 0.2 s, not 5 s.
_EXAMPLE = load_service(EXAMPLE)
SERVICE = dataclasses.replace(_EXAMPLE, listen=dataclasses.replace(
    _EXAMPLE.listen, no_input_ms=200, menu_timeout_ms=200))
MENU = SERVICE.plan("0229").menu_prompt


class FakeSpeech:
    busy = False

    def __init__(self, municipality):
        self.municipality = municipality
        self.heard = []

    async def recognize(self, spoken, area_code, ended=None):
        self.heard.append((len(spoken.speech), area_code))  # what the recogniser hears
        return Recognition("x", (Candidate(self.municipality, 0.95, self.municipality),), "accept",
                           self.municipality, "match")

    async def reply(self, spoken, area_code=None, asked=None, ended=None):
        return Answer(True, True, 0.99)


def tone(seconds=1.0, rate=8000):
    """A voiced vowel-like sound: what the endpointer takes for speech."""
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((150, 300, 450, 600), 1))
    return (wave / np.max(np.abs(wave)) * 8000).astype("<i2")


class FakeAsterisk:
    """Plays Asterisk's side of FastAGI: sends the environment, answers each command by a rule."""

    def __init__(self, dialled, answer, recordings):
        self.dialled = dialled
        self.answer = answer  # command → AGI reply line
        self.recordings = recordings
        self.commands = []

    async def call(self, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        env = {"agi_network_script": "fourteenplus", "agi_extension": "s", "agi_arg_1": self.dialled,
               "agi_callerid": "0612345678", "agi_channel": "PJSIP/caller-1", "agi_uniqueid": "1795.1",
               "agi_arg_2": "1795.0"}  # the dialplan hands the linkedid
        writer.write("".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n")
        await writer.drain()
        while True:
            line = await asyncio.wait_for(reader.readline(), 10)
            if not line:
                break
            command = line.decode().strip()
            self.commands.append(command)
            reply = self.answer(command, self)
            writer.write((reply + "\n").encode())
            await writer.drain()
            if reply == "HANGUP":
                break
        writer.close()
        return self.commands


async def run_call(dialled, answer, tmp_path, speech, polls=False, service=SERVICE):
    """The commands the adapter sent; without the idle WAIT FOR DIGIT polls unless asked."""
    recordings = agi.RecordingDir("/spool", tmp_path)
    server = agi.AgiServer(service, CallServices(speech), recordings)
    listener = await server.serve("127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        commands = await FakeAsterisk(dialled, answer, recordings).call(port)
    finally:
        listener.close()
    return commands if polls else [c for c in commands if not c.startswith("WAIT FOR DIGIT")]


def ok(command, fake):
    return "200 result=0"


def test_agi_direct_area_sets_the_dial_variables(tmp_path):
    commands = asyncio.run(run_call("14020", ok, tmp_path, FakeSpeech(None)))
    assert commands == ['SET VARIABLE FOURTEENPLUS_PROMPTS "fourteenplus/nl"',
                        'SET VARIABLE FOURTEENPLUS_MUNICIPALITY "Amsterdam"',
                        'SET VARIABLE FOURTEENPLUS_DIAL "PJSIP/amsterdam@fourteenplus-trunks"',
                        'SET VARIABLE FOURTEENPLUS_OVERFLOW ""',
                        # the CDR joins the record: what became of the call and where it went
                        'SET VARIABLE CDR(userfield) "fourteenplus outcome=transferred municipality=amsterdam"']


async def sessions_ended(server: agi.AgiServer) -> None:
    """Until every session of the server has ended (its record written, or waiting for the dial)."""
    await until(lambda: not server.sessions, "the server's sessions to end", timeout_s=5)


def transferred_with(dial_events_connected: bool, tmp_path, *results):
    """A direct-area call through the server, then AMI's dial results: the records stored."""
    records = RecordSink()

    async def scenario():
        server = agi.AgiServer(SERVICE, CallServices(FakeSpeech(None), records), agi.RecordingDir("/spool", tmp_path))
        server._dial_events = type("Connected", (), {"connected": dial_events_connected})()
        listener = await server.serve("127.0.0.1", 0)
        try:
            await FakeAsterisk("14020", ok, None).call(listener.sockets[0].getsockname()[1])
            await sessions_ended(server)
            stored_before = list(records.written)
            for result in results:
                server._dial_result(*result)
            return stored_before
        finally:
            listener.close()

    return asyncio.run(scenario()), records.written


def test_agi_learns_dial_results_from_the_ami_the_configuration_names(tmp_path, monkeypatch):
    """The operator's own Asterisk may keep its manager elsewhere (`asterisk.ami`)."""
    asked = []

    async def connect(user, secret, host, port, **kwargs):
        asked.append((host, port))
        raise asyncio.CancelledError  # enough: the server is stopped

    monkeypatch.setattr(ami, "connect", connect)
    service = dataclasses.replace(SERVICE, asterisk=dataclasses.replace(SERVICE.asterisk, ami_host="127.0.0.3",
                                                                        ami_port=5039))
    server = agi.AgiServer(service, CallServices(FakeSpeech(None)), agi.RecordingDir("/spool", tmp_path))
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(server.watch_dials(Credentials("ari", "pw", "fourteenplus", "secret")))
    assert asked == [("127.0.0.3", 5039)]


def test_agi_record_waits_for_the_dial_result_from_ami(tmp_path):
    before, stored = transferred_with(True, tmp_path, ("other", "ANSWER", None), ("1795.1", "BUSY", "ANSWER"),
                                      ("1795.1", None, None))
    assert before == []  # not stored before the dial went
    assert [(r.dialled, r.dial_status, r.overflow_status) for r in stored] == [("14020", "BUSY", "ANSWER")]
    assert (stored[0].uniqueid, stored[0].linkedid) == ("1795.1", "1795.0")  # the CDR's keys


def test_agi_record_of_a_call_hung_up_without_a_dial_event_is_stored_without_one(tmp_path):
    _, stored = transferred_with(True, tmp_path, ("1795.1", None, None))
    assert [(r.dialled, r.dial_status) for r in stored] == [("14020", None)]


def test_agi_record_without_ami_is_stored_at_once(tmp_path):
    before, stored = transferred_with(False, tmp_path)
    assert [r.dialled for r in before] == ["14020"] and stored == before


def test_agi_unknown_number_is_refused_unanswered_by_the_dialplan(tmp_path):
    """Never answered: the dialplan's [fourteenplus-refuse] plays why as early media, then 404."""
    commands = asyncio.run(run_call("140000", ok, tmp_path, FakeSpeech(None)))
    assert commands == ['SET VARIABLE FOURTEENPLUS_REFUSAL "fourteenplus/nl/number/unknown_area"',
                        'SET VARIABLE CDR(userfield) "fourteenplus outcome=rejected_number"']


def test_agi_a_closed_municipality_is_answered_told_its_hours_and_hung_up_with_its_cdr_tagged(tmp_path):
    config = tmp_path / "closed.yaml"
    config.write_text(EXAMPLE.read_text().replace(
        "Amsterdam: {trunk: PJSIP/amsterdam@fourteenplus-trunks}",
        "Amsterdam: {trunk: PJSIP/amsterdam@fourteenplus-trunks, hours: {mon-sun: closed}}"))
    closed = load_service(config)
    commands = asyncio.run(run_call("14020", ok, tmp_path, FakeSpeech(None), service=closed))
    assert commands == ["ANSWER", 'STREAM FILE fourteenplus/nl/closed/amsterdam ""',
                        'SET VARIABLE CDR(userfield) "fourteenplus outcome=closed municipality=amsterdam"', "HANGUP"]


def test_agi_spoken_name_is_recorded_recognised_and_routed(tmp_path):
    def answer(command, fake):
        if command.startswith("RECORD FILE"):
            name = re.match(r"RECORD FILE /spool/(\w+) ulaw", command).group(1)
            silence = np.zeros(4000, "<i2")
            (fake.recordings.local_dir / f"{name}.ulaw").write_bytes(
                encode(np.concatenate([silence, tone(), silence]), "ulaw"))
        return "200 result=0"

    speech = FakeSpeech("Koggenland")
    commands = asyncio.run(run_call("140229", answer, tmp_path, speech))
    assert commands[:2] == ["ANSWER", 'STREAM FILE fourteenplus/nl/question "0123456789*#"']
    assert commands[2].startswith("RECORD FILE /spool/") and commands[2].endswith(
        f'ulaw "0123456789*#" {SERVICE.listen.max_speech_ms} s=1')
    assert commands[-3] == 'SET VARIABLE FOURTEENPLUS_DIAL "PJSIP/koggenland@fourteenplus-trunks"'
    assert speech.heard and speech.heard[0][1] == "0229"
    assert 7000 <= speech.heard[0][0] <= 8000 + 2 * 800  # the speech, not the silence around it
    assert list(tmp_path.iterdir()) == []  # recordings are not kept


def test_agi_a_recording_that_ran_to_its_longest_is_a_turn_cut_off_heard_as_its_last_seconds(tmp_path):
    """Voices that never paused for a second kept Asterisk recording to `max_speech_ms`: the
    recogniser hears its last seconds, and when they name nothing the caller gets the keys,
    not the same question on the same line (as the ARI endpointer's cut-off)."""
    longest = SERVICE.listen.max_speech_ms * 8

    def answer(command, fake):
        if command.startswith("RECORD FILE"):
            name = re.match(r"RECORD FILE /spool/(\w+) ulaw", command).group(1)
            # Others talking throughout, 26 dB under the caller, who speaks again at the end.
            talk = (np.tile(tone(), longest // 8000 + 1)[:longest] * 0.05).astype("<i2")
            talk[-16000:-8000] = tone()
            (fake.recordings.local_dir / f"{name}.ulaw").write_bytes(encode(talk, "ulaw"))
            return "200 result=0 (timeout) endpos=64000"
        return "200 result=0"

    class NamesNothing(FakeSpeech):
        async def recognize(self, spoken, area_code, ended=None):
            self.heard.append((len(spoken.samples), area_code))
            return Recognition.rejected("no_name")

    speech = NamesNothing(None)
    commands = asyncio.run(run_call("140229", answer, tmp_path, speech))
    assert speech.heard == [(vad.Settings().cut_off_frames * vad.FRAME, "0229")]
    # (a second recording runs while the first is recognised, as at every turn: the flow
    # stops listening before it ends, and nothing comes of it)
    prompts = [c for c in commands if c.startswith("STREAM FILE")]
    assert prompts[:2] == ['STREAM FILE fourteenplus/nl/question "0123456789*#"',
                           f'STREAM FILE fourteenplus/nl/{MENU} "0123456789*#"']


def test_agi_key_during_the_question_opens_the_menu_and_a_menu_key_routes(tmp_path):
    def answer(command, fake):
        if command.startswith("STREAM FILE fourteenplus/nl/question"):
            return f"200 result={ord('5')} endpos=800"
        if command.startswith(f"STREAM FILE fourteenplus/nl/{MENU}"):
            return f"200 result={ord('3')} endpos=800"
        return "200 result=0"

    commands = asyncio.run(run_call("140229", answer, tmp_path, FakeSpeech(None)))
    assert f'STREAM FILE fourteenplus/nl/{MENU} "0123456789*#"' in commands
    assert 'SET VARIABLE FOURTEENPLUS_DIAL "PJSIP/drechterland@fourteenplus-trunks"' in commands


def test_agi_a_key_after_the_menu_has_played_is_still_heard(tmp_path):
    def answer(command, fake):
        if command.startswith("RECORD FILE"):
            return "200 result=0 (timeout) endpos=0"
        if command.startswith("WAIT FOR DIGIT") and "menu" in " ".join(fake.commands):
            return f"200 result={ord('2')}"
        return "200 result=0"

    commands = asyncio.run(run_call("140229", answer, tmp_path, FakeSpeech(None), polls=True))
    assert any(c.startswith("WAIT FOR DIGIT") for c in commands)
    assert 'SET VARIABLE FOURTEENPLUS_DIAL "PJSIP/medemblik@fourteenplus-trunks"' in commands


def test_agi_recording_that_fails_leads_to_the_keypad_not_a_loop(tmp_path):
    def answer(command, fake):
        if command.startswith("RECORD FILE"):
            return "200 result=-1"
        if command.startswith(f"STREAM FILE fourteenplus/nl/{MENU}"):
            return f"200 result={ord('4')}"
        return "200 result=0"

    commands = asyncio.run(run_call("140229", answer, tmp_path, FakeSpeech(None)))
    assert sum(c.startswith("RECORD FILE") for c in commands) == 1
    assert 'SET VARIABLE FOURTEENPLUS_DIAL "PJSIP/opmeer@fourteenplus-trunks"' in commands


def test_agi_caller_hangs_up_during_the_question(tmp_path):
    def answer(command, fake):
        return "HANGUP" if command.startswith("STREAM FILE") else "200 result=0"

    commands = asyncio.run(run_call("140229", answer, tmp_path, FakeSpeech(None)))
    assert commands == ["ANSWER", 'STREAM FILE fourteenplus/nl/question "0123456789*#"']


@pytest.mark.parametrize("garbage", [b"", b"GET / HTTP/1.0\r\n", b"x" * 10000])
def test_agi_garbage_connections_are_closed_without_harm(tmp_path, garbage):
    async def scenario():
        server = agi.AgiServer(SERVICE, CallServices(FakeSpeech(None)), agi.RecordingDir("/spool", tmp_path))
        listener = await server.serve("127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(garbage)
        writer.write_eof()
        data = await asyncio.wait_for(reader.read(), 10)
        listener.close()
        return data, server.sessions

    data, sessions = asyncio.run(scenario())
    assert data == b"" and not sessions


agi_replies = st.lists(st.one_of(
    st.sampled_from(["200 result=0", "200 result=-1", "200 result=1", "200 result=49", "200 result=abc",
                     "510 Invalid or unknown command", "511 Command Not Permitted on a dead channel",
                     "520 Invalid command syntax.", "200 result=0 endpos=0", "200 result=-1 (hangup)",
                     "200 result=0 (timeout) endpos=16000", "", "200", "result=1", "200 result=",
                     # a real usage error spans lines, up to "520 End of proper usage."
                     "520-Invalid command syntax.  Proper usage follows:\n Usage: STREAM FILE <filename>"
                     " <escape_digits> [sample offset]\n520 End of proper usage."]),
    st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t)), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(replies=agi_replies)
def test_fuzz_agi_unexpected_replies_end_the_session_cleanly_never_a_wrong_route(tmp_path, replies):
    """Whatever Asterisk answers, the script ends (Asterisk's dialplan then routes the call,
    by FOURTEENPLUS_DIAL or the keypad fallback), no session is left, and a dial string set is
    one of the dialled area's connected trunks."""
    queue = list(replies)

    def answer(command, fake):
        return queue.pop(0) if queue else "HANGUP"

    async def scenario():
        server = agi.AgiServer(SERVICE, CallServices(FakeSpeech("Hoorn")), agi.RecordingDir("/spool", tmp_path))
        listener = await server.serve("127.0.0.1", 0)
        try:
            commands = await asyncio.wait_for(
                FakeAsterisk("140229", answer, None).call(listener.sockets[0].getsockname()[1]), 60)
            await sessions_ended(server)
            return commands, server.sessions
        finally:
            listener.close()

    commands, sessions = asyncio.run(scenario())
    assert not sessions
    trunks = {SERVICE.municipality(m).trunk for m in SERVICE.plan("0229").connected}
    for command in commands:
        if command.startswith("SET VARIABLE FOURTEENPLUS_DIAL "):
            assert command.split(" ", 3)[3].strip('"') in trunks, command
