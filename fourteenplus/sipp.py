"""Real SIP test calls: SIPp does the signalling, this module the caller's mouth and ears.

One harness for the integration tests and `fourteenplus call`:

- `Trunk` runs data/sipp/trunk.xml on 127.0.0.1:5070, the SIPp endpoint that plays every
  municipality's contact centre and the carrier for staff calling out (data/asterisk/test-trunks.conf
  sends all trunks there) and logs each INVITE it receives: Request-URI user, caller number,
  X-Fourteenplus-Municipality, P-Asserted-Identity.
- `place_call` runs data/sipp/caller.xml for one call and, on the RTP port it puts in the
  SDP, plays a script: wait for a prompt to finish, say a sentence (espeak-ng → G.711),
  play a recording, press keys (RFC 4733), stay silent. The caller sends 20 ms packets all
  call long, as a phone does, and listens to what Asterisk plays. It offers one law, μ-law
  (PCMU) by default or A-law (PCMA, as a Dutch carrier's line), and speaks and hears in it.

A `CallResult` says where the call ended, as the trunk endpoint saw it, with the timings
the benchmarks need: answer → first audio, end of the caller's speech → the INVITE.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import numpy as np

from . import prompts, resources, rtp
from .speech import audio
from .speech.vad import FRAME, frame_level_db

SCENARIOS = resources.SIPP_SCENARIOS
ASTERISK_SIP = ("127.0.0.1", 5060)
TRUNK_PORT = 5070
TRUNK_MEDIA_PORT = 5072  # outside Asterisk's RTP range (rtp.conf)
FRAME_BYTES = FRAME  # 20 ms of 8 kHz G.711: a byte per sample
FRAME_S = 0.020
SILENCE = {"ulaw": b"\xff" * FRAME_BYTES, "alaw": b"\xd5" * FRAME_BYTES}  # each law's code for 0
SDP_NAMES = {"ulaw": "PCMU", "alaw": "PCMA"}  # the rtpmap encoding name of each law
LOUD_DB = -40.0  # a received frame above this is prompt audio, not line silence
PROMPT_END_S = 0.8  # longer than a pause between two sentences of one prompt
# Trunk users that refuse the call (data/sipp/trunk.xml); any other user answers.
REFUSING = ("busy", "unavailable", "noanswer")
_call_numbers = count(1)


# ---- the trunk side ----

@dataclass(frozen=True)
class TrunkInvite:
    at: float            # epoch seconds when the trunk endpoint received the INVITE
    user: str            # Request-URI user: which trunk was dialled
    caller: str          # From user: the caller's number, as passed on by Asterisk
    municipality: str    # X-Fourteenplus-Municipality, "" when absent
    asserted: str = ""   # P-Asserted-Identity user, "" when absent
    sender: str = ""     # the address in the INVITE's Via: which Asterisk (cluster node) dialled

    @property
    def answered(self) -> bool:
        return not self.user.startswith(REFUSING)


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM a child we started, SIGKILL it if it lingers, and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_taken(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


class Trunk:
    """The SIPp trunk endpoint, as a context manager that stops it (by pid) on exit."""

    def __init__(self, workdir: Path | None = None):
        self._tmp: tempfile.TemporaryDirectory | None = None
        if not workdir:
            self._tmp = tempfile.TemporaryDirectory(prefix="fourteenplus-trunk-")
            workdir = Path(self._tmp.name)
        self.workdir = Path(workdir)
        self.log = self.workdir / "trunk.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> Trunk:
        if _port_taken(TRUNK_PORT):
            raise RuntimeError(f"127.0.0.1:{TRUNK_PORT} is taken: another trunk endpoint (a test run?) is running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["sipp", "-sf", str(SCENARIOS / "trunk.xml"), "-i", "127.0.0.1", "-p", str(TRUNK_PORT),
             "-mp", str(TRUNK_MEDIA_PORT), "-nostdin", "-trace_logs", "-log_file", str(self.log),
             "-trace_err", "-error_file", str(self.workdir / "trunk-errors.log")],
            cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not _port_taken(TRUNK_PORT):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the SIPp trunk endpoint did not start; see {self.workdir}/trunk-errors.log")
            time.sleep(0.05)
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the SIPp trunk endpoint is not running")
        return self.process.pid

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)
        if self._tmp:
            self._tmp.cleanup()

    def __enter__(self) -> Trunk:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def invites(self, caller: str | None = None, user: str | None = None) -> list[TrunkInvite]:
        """The INVITEs received, those from `caller` or to `user` only when given."""
        out = []
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        for line in text.splitlines():
            fields = line.split("|")
            if fields[0] != "INVITE" or len(fields) < 6:
                continue
            invite = TrunkInvite(float(fields[1].split("\t")[-1]), fields[2], fields[3], fields[4].strip(), fields[5],
                                 fields[7] if len(fields) > 7 else "")
            if caller in (None, invite.caller) and user in (None, invite.user):
                out.append(invite)
        return out


# ---- the caller's script ----

@dataclass(frozen=True)
class WaitPrompt:
    """Stay silent until a prompt has played and ended (or `timeout_s` passed); with
    `into_ms`, only until it has played that long, so the next step talks over it."""
    timeout_s: float = 20.0
    into_ms: int | None = None


@dataclass(frozen=True)
class Say:
    """Speak a sentence (espeak-ng, Dutch) as telephone audio."""
    text: str


@dataclass(frozen=True)
class Audio:
    """Play a recording (any format sox reads; converted to 8 kHz G.711 in the caller's law)."""
    path: Path


@dataclass(frozen=True)
class Silence:
    ms: int


@dataclass(frozen=True)
class PressKeys:
    """Press keys, RFC 4733 events, 120 ms each with 120 ms between."""
    digits: str


def script_for(say: str | None = None, audio_file: Path | None = None, digits: str | None = None) -> list:
    """What `make call` does: answer the question by voice, then keys at the next prompt."""
    steps: list = []
    if say:
        steps += [WaitPrompt(), Say(say)]
    elif audio_file:
        steps += [WaitPrompt(), Audio(audio_file)]
    if digits:
        steps += [WaitPrompt(), PressKeys(digits)]
    return steps


def _frames(data: bytes, law: str) -> list[bytes]:
    data += SILENCE[law][: (-len(data)) % FRAME_BYTES]
    return [data[i:i + FRAME_BYTES] for i in range(0, len(data), FRAME_BYTES)]


def _level_db(payload: bytes, law: str) -> float:
    return frame_level_db(audio.decode(payload, law))


_DTMF_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}


def _dtmf_payloads(digit: str) -> list[tuple[bytes, bool]]:
    """(RFC 4733 payload, marker) per 20 ms: 6 tone packets, then the end packet three times."""
    event = _DTMF_EVENTS[digit]
    packets = [(struct.pack("!BBH", event, 10, FRAME * (i + 1)), i == 0) for i in range(6)]
    end = struct.pack("!BBH", event, 0x80 | 10, FRAME * 6)
    return packets + [(end, False)] * 3


@dataclass
class _Media:
    """The caller's RTP: sends a 20 ms packet per tick from the script, listens to Asterisk.
    It learns where to send from SIPp's log line for the answer (the SDP of the 200 OK)."""
    script: list
    sipp_log: Path
    address: str = "127.0.0.1"
    law: str = "ulaw"  # the one the caller offers, speaks and hears
    sock: socket.socket = field(default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    remote: tuple | None = None
    first_audio_at: float | None = None
    # The end of each sentence or recording the caller played, in script order.
    speech_ends: dict[int, float] = field(default_factory=dict)
    heard: bytearray = field(default_factory=bytearray)
    received: dict[int, int] = field(default_factory=dict)  # payload type → packets Asterisk sent
    loud: list[list[float]] = field(default_factory=list)  # [start, end] of each stretch of prompt heard
    error: BaseException | None = None
    # The caller's surroundings (8 kHz int16, looped): under everything they send, from the
    # answer on, as a street or a room with others talking is under a real caller's words.
    line: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.sock.bind((self.address, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._last_loud: float | None = None
        self._thread = threading.Thread(target=self._run, name="sipp-media", daemon=True)
        self.payload_type = rtp.PAYLOAD_TYPES[self.law]
        self.silence = SILENCE[self.law]
        self._clips = {}
        for step in self.script:  # synthesise before the call, so the caller never hesitates
            if isinstance(step, (Say, Audio)):
                self._clips[step] = _clip(step, self.law)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _find_remote(self) -> None:
        try:
            text = self.sipp_log.read_text(errors="replace")
        except OSError:
            return
        for line in text.splitlines():
            fields = line.split("|")
            if fields[0] == "ANSWERED" and len(fields) >= 4:
                self.remote = (fields[2], int(fields[3]))

    def _receive(self, now: float) -> None:
        while True:
            try:
                packet, source = self.sock.recvfrom(2048)
            except BlockingIOError:
                return
            kind = rtp.type_of(packet)
            if kind is not None:
                self.received[kind] = self.received.get(kind, 0) + 1
            payload = rtp.payload(packet, self.payload_type)
            if payload is None:
                continue
            self.heard += payload
            if _level_db(payload, self.law) > LOUD_DB:
                if self.loud and now - self.loud[-1][1] < PROMPT_END_S:
                    self.loud[-1][1] = now
                else:
                    self.loud.append([now, now])
                self._last_loud = now
                self.first_audio_at = self.first_audio_at or now

    def _steps(self):
        """Yield (payload, payload type, marker, the step's index if this is speech, else None)
        per tick, step after step, then silence."""
        for index, step in enumerate(self.script):
            if isinstance(step, WaitPrompt):
                start = time.time()
                began = None  # when the prompt's first sound came
                while time.time() - start < step.timeout_s:
                    loud = self._last_loud
                    if loud is not None and loud > start:
                        began = began or loud
                        if step.into_ms is None and time.time() - loud >= PROMPT_END_S:
                            break
                        if step.into_ms is not None and time.time() - began >= step.into_ms / 1000:
                            break
                    yield self.silence, self.payload_type, False, None
            elif isinstance(step, Silence):
                for _ in range(step.ms // 20):
                    yield self.silence, self.payload_type, False, None
            elif isinstance(step, PressKeys):
                for digit in step.digits:
                    for payload, marker in _dtmf_payloads(digit):
                        yield payload, 101, marker, None
                    for _ in range(6):
                        yield self.silence, self.payload_type, False, None
            else:
                for frame in _frames(self._clips[step], self.law):
                    yield frame, self.payload_type, False, index if _level_db(frame, self.law) > LOUD_DB else None
        while True:
            yield self.silence, self.payload_type, False, None

    def _run(self) -> None:
        try:
            seq, timestamp, ssrc = 0, 0, int.from_bytes(os.urandom(4), "big")
            steps = self._steps()
            next_tick = time.monotonic()
            event_ts = 0  # RFC 4733: each key press's first packet sets it
            while not self._stop.is_set():
                now = time.time()
                self._receive(now)
                if not self.remote:
                    self._find_remote()
                if self.remote:
                    payload, pt, marker, spoken = next(steps)
                    if pt == self.payload_type and self.line is not None:
                        payload = _mixed(payload, self.line, seq, self.law)
                    if pt == 101:
                        event_ts = timestamp if marker else event_ts  # one timestamp per key press
                    header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF,
                                         (event_ts if pt == 101 else timestamp) & 0xFFFFFFFF, ssrc)
                    self.sock.sendto(header + payload, self.remote)
                    if spoken is not None:
                        self.speech_ends[spoken] = now + FRAME_S
                    seq += 1
                    timestamp += FRAME  # the RTP clock runs at 8 kHz
                next_tick += FRAME_S
                time.sleep(max(0.0, next_tick - time.monotonic()))
        except BaseException as exc:  # surfaced by place_call, never lost in a thread
            self.error = exc


def _mixed(payload: bytes, line: np.ndarray, seq: int, law: str) -> bytes:
    """A G.711 frame with the caller's surroundings under it."""
    start = seq * FRAME_BYTES % (len(line) - FRAME_BYTES)
    samples = audio.decode(payload, law).astype("int32") + line[start:start + FRAME_BYTES]
    return audio.encode(samples.clip(-32768, 32767).astype("int16"), law)


def _clip(step: Say | Audio, law: str) -> bytes:
    if isinstance(step, Say):
        return _spoken(step.text, law)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"clip.{law}"
        prompts.to_telephone(Path(step.path), {law: target})
        return target.read_bytes()


@functools.lru_cache(maxsize=256)
def _spoken(text: str, law: str) -> bytes:
    """espeak-ng gives the same audio for the same sentence: synthesise it once per process,
    not once per call (the soak places hundreds of calls saying a handful of sentences)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"clip.{law}"
        prompts.speak(text, "nl", {law: target})
        return target.read_bytes()


# ---- one call ----

@dataclass(frozen=True)
class CallResult:
    number: str
    caller: str
    invites: tuple[TrunkInvite, ...]  # in order: the trunk, then its overflow if it refused
    ended: str                       # "connected", "asterisk hung up", "caller hung up", "rejected …", …
    answered_at: float | None
    first_audio_at: float | None
    speech_ends: tuple[float, ...]   # the end of each sentence or recording the caller played
    ended_at: float
    heard: bytes = b""               # every payload in the caller's law Asterisk played to the caller
    loud: tuple[tuple[float, float], ...] = ()  # (start, end) of each stretch of prompt the caller heard
    law: str = "ulaw"                # the one the caller offered (PCMU or PCMA)
    received: dict[int, int] = field(default_factory=dict)  # RTP payload type → packets Asterisk sent

    @property
    def reached(self) -> TrunkInvite | None:
        """The trunk that answered, if any."""
        return next((i for i in reversed(self.invites) if i.answered), None)

    @property
    def answer_to_audio_ms(self) -> float | None:
        if self.answered_at and self.first_audio_at:
            return (self.first_audio_at - self.answered_at) * 1000
        return None

    @property
    def spoken_before_invite(self) -> tuple[float, ...]:
        """The ends of what the caller said before the trunk was dialled (all of it, if never)."""
        return tuple(end for end in self.speech_ends if not self.invites or end < self.invites[0].at)

    @property
    def speech_end_to_invite_ms(self) -> float | None:
        """From the end of the caller's last words before the trunk was dialled (the name, or
        the ja to "Bedoelt u …?") to the INVITE."""
        before = self.spoken_before_invite
        return (self.invites[0].at - before[-1]) * 1000 if self.invites and before else None

    def describe(self) -> str:
        """One line: where the call ended."""
        tried = " after ".join(f"sip:{i.user} ({'refused' if not i.answered else 'answered'})"
                               for i in reversed(self.invites[:-1] if self.reached else self.invites))
        if self.reached:
            via = f", overflow after {tried}" if tried else ""
            return (f"ended at {self.reached.municipality or '?'}: trunk sip:{self.reached.user}@127.0.0.1:{TRUNK_PORT}"
                    f"{via}")
        if self.invites:
            return f"no trunk answered: {tried}; then {self.ended}"
        return f"no trunk dialled: {self.ended}"


def place_call(number: str, script: list, trunk: Trunk, hangup_after_ms: int = 0,
               timeout_s: float = 120.0, workdir: Path | None = None, source: str = "127.0.0.1",
               target: tuple[str, int] = ASTERISK_SIP, line: Path | None = None,
               caller: str | None = None, law: str = "ulaw") -> CallResult:
    """Place one call through Asterisk (or `target`: a cluster's Kamailio) and return where it ended.

    `hangup_after_ms` > 0: the caller hangs up that long after the answer. `source`: the
    address the call comes from, which is what Asterisk knows an endpoint by (127.0.0.1:
    the carrier delivering 14+ calls; 127.0.0.2: Hoorn's PBX, data/asterisk/test-trunks.conf).
    `line`: a recording (8 kHz WAV) of the caller's surroundings, looped under all they send.
    `caller`: the caller's number (a fresh one for every call unless given: a caller who calls again).
    `law`: the G.711 law the caller offers, alone ("ulaw": PCMU, "alaw": PCMA), speaks and hears."""
    if not _port_taken(target[1], target[0]):
        raise RuntimeError(f"nothing listens on {target[0]}:{target[1]}: start Asterisk first "
                           "(make asterisk, or make run)")
    caller = caller or f"06{os.getpid() % 10000:04d}{next(_call_numbers) % 10000:04d}"
    with tempfile.TemporaryDirectory(prefix="fourteenplus-call-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        log, errors = work / "caller.log", work / "caller-errors.log"
        for stale in (log, errors):
            stale.unlink(missing_ok=True)
        media = _Media(list(script), log, source, law, line=None if line is None else audio.read_telephone(line))
        (work / "call.csv").write_text(f"SEQUENTIAL\n{number};{caller};{media.port};{hangup_after_ms};"
                                       f"{media.payload_type};{SDP_NAMES[law]}\n")
        media.start()
        try:
            result = subprocess.run(
                ["sipp", f"{target[0]}:{target[1]}", "-sf", str(SCENARIOS / "caller.xml"),
                 "-inf", str(work / "call.csv"), "-m", "1", "-i", source, "-p", str(_free_udp_port()),
                 "-nostdin", "-aa", "-timeout", f"{int(timeout_s)}s", "-timeout_error",
                 "-trace_logs", "-log_file", str(log), "-trace_err", "-error_file", str(errors)],
                cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                timeout=timeout_s + 10)
        finally:
            media.stop()
        if media.error:
            raise media.error
        events = _log_events(log)
        ended = _how_it_ended(events, errors, result)
    # Asterisk dials the overflow only after the trunk refused: both are logged by now.
    return CallResult(number, caller, tuple(trunk.invites(caller)), ended, events.get("ANSWERED"),
                      media.first_audio_at, tuple(media.speech_ends[i] for i in sorted(media.speech_ends)), time.time(),
                      bytes(media.heard), tuple((start, end) for start, end in media.loud), law, dict(media.received))


def _log_events(log: Path) -> dict[str, float]:
    events = {}
    for line in (log.read_text(errors="replace").splitlines() if log.exists() else ()):
        fields = line.split("|")
        if len(fields) > 1:
            events[fields[0]] = float(fields[1].split("\t")[-1])
    return events


def _how_it_ended(events: dict, errors: Path, result: subprocess.CompletedProcess) -> str:
    if "CALLER_HUNG_UP" in events:
        return "caller hung up"
    if "NEVER_ENDED" in events:
        return "Asterisk never ended the call"
    if "ANSWERED" not in events:
        text = errors.read_text(errors="replace") if errors.exists() else result.stderr.decode(errors="replace")
        # SIPp logs a final response it did not expect inside its own sentence.
        status = re.search(r"SIP/2\.0 [3-6]\d\d[^'\r\n]*", text)
        return f"not answered: {status.group().strip() if status else 'no answer from Asterisk'}"
    if result.returncode != 0:
        return f"SIPp reported a failure ({result.returncode}); see its error log"
    return "Asterisk hung up"
