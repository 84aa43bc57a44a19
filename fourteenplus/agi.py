"""The FastAGI adapter: the same call flow, recogniser and records as the ARI app, over AGI.

AGI runs one command at a time per channel, so one worker task owns the AGI socket and
carries out operations in order: prompts with STREAM FILE (keys interrupt them); while the
flow listens, RECORD FILE with Asterisk's silence detection; otherwise short WAIT FOR DIGITs,
because AGI hears keys only while a command runs. No endpointer cut the recording, so its
speech is found over the whole of it (`speech.vad.whole_clip`), once, and recognised like an
ARI utterance; kept audio (`records.keep_audio`) is the whole recording, in which `tune` finds
the same speech again. A recording that ran to its longest (`listen.max_speech_ms`: voices or
noise kept Asterisk from hearing a second of silence) is a turn cut off, as the ARI endpointer's
cut-off is: its last seconds are recognised and the flow hears that it never ended.

What that costs against ARI mode, honestly: RECORD FILE stops after a whole second of
silence (its finest setting), not ~0.5 s, and the file is read after it closes; a caller
cannot talk over a prompt (only keys interrupt STREAM FILE); a new prompt waits for the
recording in progress to end.

A call never gets lost here: when the session fails or the server goes away, the AGI
script ends without FOURTEENPLUS_DIAL and the dialplan's keypad fallback takes the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import numpy as np
from panoramisk.fast_agi import Request
from panoramisk.utils import parse_agi_result

from . import ami, paths
from . import callflow as cf
from .asterisk_layout import Layout
from .config import Service
from .prompts import SOUNDS_SUBDIR
from .session import CallServices, ChannelGone, Dialling, DialVariables, Session
from .speech.audio import TELEPHONE_RATE, decode
from .speech.vad import FRAME, Settings, whole_clip

log = logging.getLogger(__name__)

ROUTE = "fourteenplus"
ENDS = ("transfer", "hangup", "refuse")  # operations after which the AGI script ends
KEYS = "0123456789*#"
SILENCE_S = 1          # RECORD FILE's silence detection works in whole seconds
# A recording this close to its longest ran to it: Asterisk ends one at silence only after a
# whole second of it, so a turn that ended in quiet is shorter by more than this.
CUT_OFF_SLACK_MS = 200
IDLE_POLL_MS = 250     # how long a queued prompt may wait behind a WAIT FOR DIGIT
MAX_HEADER_BYTES = 8192  # AGI environment; anything longer is not Asterisk
REPLY_TIMEOUT_S = 120    # longer than any prompt or recording: an Asterisk this silent is gone


@dataclass(frozen=True)
class RecordingDir:
    """Where RECORD FILE writes, as Asterisk sees it and as this process sees it (a chroot differs)."""
    asterisk_dir: str
    local_dir: Path


# An operation for the worker that owns the AGI socket: its kind, what it carries, and an
# event set once it has run (None: nobody waits for it).
_Op = tuple[str, object, anyio.Event | None]


class AgiChannel:
    """One AGI connection: the `Channel` of a call's `Session`."""

    def __init__(self, session: Session, request: Request, recordings: RecordingDir, max_speech_ms: int,
                 expect_dial: Callable[[AgiChannel], bool] = lambda channel: False):
        self.session = session
        self.request = request
        self.recordings = recordings
        self.max_speech_ms = max_speech_ms  # the longest RECORD FILE
        self.expect_dial = expect_dial  # True: the server completes the record with the dial result
        self.listening: cf.Listen | None = None
        self._ops_send, self._ops = anyio.create_memory_object_stream[_Op](100)
        self._gone = False  # the AGI connection closed: the caller hung up or Asterisk went away
        self._can_record = True
        self._dial_expected = False

    @property
    def name(self) -> str:
        return self.session.name

    # ---- what the session asks for ----

    async def play(self, action: cf.Play) -> None:
        self._ops_send.send_nowait(("play", action, None))

    async def stop_playback(self) -> None:
        """STREAM FILE cannot be stopped from outside; keys already interrupt it."""

    async def listen(self, action: cf.Listen) -> None:
        self.listening = action
        self._ops_send.send_nowait(("wake", None, None))

    async def stop_listening(self) -> None:
        self.listening = None

    async def transfer(self, action: cf.Transfer, variables: DialVariables) -> bool:
        # The dialplan reads these when the AGI script ends, and dials the trunk.
        await self._now(("transfer", variables, anyio.Event()))
        return self._dial_expected

    async def hangup(self, variables: DialVariables = ()) -> None:
        await self._now(("hangup", variables, anyio.Event()))

    async def answer(self) -> None:
        await self._now(("answer", (), anyio.Event()))

    async def refuse(self, variables: DialVariables) -> None:
        # The dialplan reads these when the AGI script ends, and refuses the call.
        await self._now(("refuse", variables, anyio.Event()))

    async def fallback(self) -> None:
        """Ending the script without FOURTEENPLUS_DIAL sends the call to the keypad fallback."""

    async def close(self) -> None:
        """Nothing of the call's outlives it: each recording is removed once read."""

    async def _now(self, op: _Op) -> None:
        """Carry out an operation before the session may end."""
        if not self._gone:
            self._ops_send.send_nowait(op)
            assert op[2] is not None
            await op[2].wait()
        if self._gone:
            raise ChannelGone("the AGI connection closed")

    # ---- the worker that owns the AGI socket ----

    async def worker(self) -> None:
        """Runs beside the session: carries out the operations, one AGI command at a time."""
        try:
            while True:
                try:
                    op = self._ops.receive_nowait()
                except anyio.WouldBlock:
                    if self.listening is not None and self._can_record:
                        await self._record(self.listening)
                    else:
                        await self._keys(f"WAIT FOR DIGIT {IDLE_POLL_MS}")
                    continue
                kind, what, done = op
                try:
                    if kind == "play":
                        assert isinstance(what, cf.Play)
                        await self._play(what)
                    elif kind == "answer":
                        await self._command("ANSWER")
                    elif kind in ENDS:
                        assert isinstance(what, tuple)
                        for name, value in what:
                            await self._command(f'SET VARIABLE {name} "{value}"')
                        if kind == "transfer":
                            self._dial_expected = self.expect_dial(self)
                        elif kind == "hangup":
                            await self._command("HANGUP")
                finally:
                    if done is not None:
                        done.set()
                if kind in ENDS:
                    return  # the script ends here: the dialplan dials or refuses, or the channel is gone
        except ChannelGone:
            self._gone = True
            while True:  # nobody waits forever on an operation that will not run now
                try:
                    _, _, done = self._ops.receive_nowait()
                except anyio.WouldBlock:
                    break
                if done is not None:
                    done.set()
            self.session.post(cf.HungUp())

    async def _command(self, command: str) -> dict:
        try:
            self.request.writer.write(f"{command}\n".encode())
            await self.request.writer.drain()
            result = await asyncio.wait_for(self._reply(), REPLY_TIMEOUT_S)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
            raise ChannelGone(f"{command}: {type(exc).__name__}") from exc
        if result.get("error") == "AGIResultHangup":
            raise ChannelGone(command)
        if result.get("error"):
            log.warning("%s: %s answered %s", self.name, command.split(" ", 2)[:2], result.get("msg") or result)
        return result

    async def _reply(self) -> dict:
        """One reply to a command. `100 Trying` lines are skipped; a usage error (`520-…`) is
        read to its last line (`520 …`), where panoramisk reads one line and would leave the
        rest to be taken for the next command's reply; a line that is no reply at all is an
        error of its own, not an exception."""
        while True:
            line = await self._line()
            if line.startswith("520-"):
                usage = [line]
                while not line.startswith("520 "):
                    line = await self._line()
                    usage.append(line)
                return {"error": "AGIUsageError", "msg": " ".join(usage)}
            try:
                result = parse_agi_result(line)
            except ValueError:
                return {"error": "AGIUnreadable", "msg": line[:200]}
            if result.get("status_code") != 100:
                return result

    async def _line(self) -> str:
        raw = await self.request.reader.readline()
        if not raw:
            raise asyncio.IncompleteReadError(raw, None)
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def _keys(self, command: str) -> tuple[dict, str | None]:
        """Run a command that keys can end, and pass on the key."""
        result = await self._command(command)
        digit = _digit(result)
        if digit:
            self.session.post(cf.Dtmf(digit))
        return result, digit

    async def _play(self, action: cf.Play) -> None:
        keys = KEYS if action.barge_in else ""
        for prompt in action.prompts:
            _, digit = await self._keys(f'STREAM FILE {SOUNDS_SUBDIR}/{action.language}/{prompt} "{keys}"')
            if digit:
                break
        self.session.post(cf.PromptDone(action.play_id))

    async def _record(self, listen: cf.Listen) -> None:
        name = uuid.uuid4().hex
        timeout_ms = self.max_speech_ms
        path = self.recordings.local_dir / f"{name}.ulaw"
        try:
            result, digit = await self._keys(
                f'RECORD FILE {self.recordings.asterisk_dir}/{name} ulaw "{KEYS}" {timeout_ms} s={SILENCE_S}')
            if digit:
                return
            if result.get("error"):
                # Asterisk cannot record here (a format, a directory): keys still work.
                log.error("%s: RECORD FILE failed (%s); keypad only", self.name, result)
                self._can_record = False
                self.session.post(cf.RecognitionFailed("record"))
                return
            samples = _read_ulaw(path)
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
        cut_off = len(samples) * 1000 >= (timeout_ms - CUT_OFF_SLACK_MS) * TELEPHONE_RATE
        if cut_off:  # its last seconds, as the ARI endpointer hears a turn it cut off
            samples = samples[-Settings().cut_off_frames * FRAME:]
        spoken = whole_clip(samples)
        if spoken.span is None or self.listening is not listen:
            return  # silence: the flow's no-input timer decides when that is an attempt
        self.session.post(cf.SpeechStarted())
        self.session.heard(listen, spoken, cut_off)


def _digit(result: dict) -> str | None:
    """The key that interrupted STREAM FILE or RECORD FILE (result is its ASCII code), if any."""
    value = (result.get("result") or ("", ""))[0]
    if value.isdigit() and int(value) > 0 and chr(int(value)) in KEYS:
        return chr(int(value))
    return None


def _read_ulaw(path: Path) -> np.ndarray:
    try:
        return decode(path.read_bytes(), "ulaw")
    except OSError:
        return np.zeros(0, np.int16)


class AgiServer:
    """Accepts FastAGI connections from Asterisk and runs a session per call."""

    def __init__(self, service: Service, services: CallServices, recordings: RecordingDir):
        self.service = service
        self.services = services
        self.recordings = recordings
        self.sessions: set[Session] = set()
        self._server: asyncio.AbstractServer | None = None
        self.dialling = Dialling()  # transferred calls by the channel's unique id
        self._dial_events: ami.DialEvents | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers = await _read_environment(reader)
            if headers is None or headers.get("agi_network_script", "").strip("/") != ROUTE:
                log.warning("FastAGI: not a %s request from %s", ROUTE, writer.get_extra_info("peername"))
                return
            dialled = headers.get("agi_arg_1") or headers.get("agi_extension", "")
            caller = headers.get("agi_callerid")
            flow = cf.CallFlow(self.service, dialled, None if caller in (None, "unknown") else caller,
                               now=dt.datetime.now(dt.timezone.utc))
            flow.record.uniqueid = headers.get("agi_uniqueid") or None
            flow.record.linkedid = headers.get("agi_arg_2") or None
            request = Request(None, headers, reader, writer)
            session = Session(flow, self.services, lambda session: AgiChannel(
                session, request, self.recordings, self.service.listen.max_speech_ms, self._expect_dial),
                self.sessions.discard)
            channel = session.channel
            assert isinstance(channel, AgiChannel)
            self.sessions.add(session)
            async with anyio.create_task_group() as worker:
                worker.start_soon(channel.worker)
                await session.run()
                worker.cancel_scope.cancel()
        except Exception:
            log.exception("FastAGI connection failed; the dialplan fallback takes the call")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def serve(self, host: str, port: int) -> asyncio.AbstractServer:
        self.recordings.local_dir.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.start_server(self.handle, host, port)
        return self._server

    async def watch_dials(self, creds) -> None:
        """Learn each transferred call's dial result through AMI (see `ami.DialEvents`) until
        cancelled; the records still waiting then are stored without one. AMI is where the
        configuration at start says (`asterisk.ami`); a reload does not move it."""
        settings = self.service.asterisk
        self._dial_events = ami.DialEvents(creds, self._dial_result, (settings.ami_host, settings.ami_port))
        try:
            await self._dial_events.run()
        finally:
            self._dial_events = None
            self.dialling.finish()

    def _expect_dial(self, channel: AgiChannel) -> bool:
        uniqueid = channel.request.headers.get("agi_uniqueid")
        if not uniqueid or self._dial_events is None or not self._dial_events.connected:
            return False  # nobody would tell us: the record goes now, without the dial result
        self.dialling.expect(uniqueid, channel.session)
        return True

    def _dial_result(self, uniqueid: str, status: str | None, overflow: str | None) -> None:
        self.dialling.result(uniqueid, status, overflow)

    def stop_taking_calls(self) -> None:
        """Close the port: Asterisk's AGI() then fails at once and the keypad fallback takes
        new calls, while the sessions in progress go on."""
        if self._server is not None:
            self._server.close()

    def calls_in_progress(self) -> int:
        return len(self.sessions)

    async def use(self, service: Service) -> None:
        self.service = service


async def _read_environment(reader: asyncio.StreamReader) -> dict[str, str] | None:
    """The `agi_*: value` lines up to the blank line; None when the peer is not Asterisk.

    panoramisk's own reader loops forever on a connection closed before the blank line.
    """
    headers: dict[str, str] = {}
    size = 0
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout=5)
        size += len(line)
        if not line or size > MAX_HEADER_BYTES:
            return None
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            return headers
        key, sep, value = text.partition(": ")
        if sep:
            headers[key] = value


def recordings_for(layout: Layout) -> RecordingDir:
    """Recordings in Asterisk's spool (astspooldir), seen through the bundled root's chroot
    when there is one."""
    spool = layout.directories["astspooldir"]
    return RecordingDir(f"{spool}/{paths.AGI_RECORDINGS_SUBDIR}", layout.spool / paths.AGI_RECORDINGS_SUBDIR)


def prepare_recordings(recordings: RecordingDir, owner: tuple[int, int] | None) -> None:
    """The directory must be writable by Asterisk's user, and by no one else."""
    recordings.local_dir.mkdir(parents=True, exist_ok=True)
    if owner is not None and os.geteuid() == 0:
        os.chown(recordings.local_dir, *owner)
    os.chmod(recordings.local_dir, 0o770)
