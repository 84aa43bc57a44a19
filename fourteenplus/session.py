"""One caller's conversation at run time, shared by the ARI and the FastAGI adapters.

A `Session` runs a `callflow.CallFlow`: it feeds it events from its inbox, keeps its timers,
sends utterances to the speech service off the event loop, and writes the finished record
and the metrics. What touches the caller's channel (play, listen, transfer, hang up) is the
adapter's `Channel`, which the session owns and calls; the channel reports back what it
hears through `post`, `paused` and `heard`.

A call never gets lost here: when anything in a session fails, the channel's `fallback()`
hands the call to the dialplan's keypad menu.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import anyio
import anyio.abc

from . import callflow as cf
from .asterisk_config import CDR_USERFIELD, cdr_userfield
from .logformat import FIELDS
from .prompts import SOUNDS_SUBDIR
from .speech.early import Early
from .speech.service import SpeechService
from .vocabulary import ListenMode, Reason, State, Timing

if TYPE_CHECKING:
    from .metrics import Metrics
    from .records import AudioArchive, CallerHasher, RecordWriter
    from .records.history import CallerHistory
    from .speech.vad import Spoken

log = logging.getLogger(__name__)
# One INFO line per finished call, under its own name so a NOC can route or filter it.
decisions = logging.getLogger("fourteenplus.calls")

DialVariables = tuple[tuple[str, str], ...]


class ChannelGone(RuntimeError):
    """The caller's channel no longer exists: a hang-up mid-action is normal, not an error."""


class Channel(Protocol):
    """The caller's channel as a session drives it; each adapter (ARI, FastAGI) has one.
    Any of these may raise `ChannelGone` when the caller has hung up."""

    async def play(self, action: cf.Play) -> None:
        """Replace whatever plays; post `PromptDone` when it ends."""

    async def stop_playback(self) -> None: ...

    async def listen(self, action: cf.Listen) -> None:
        """Hear the caller (until `stop_listening`): post `SpeechStarted`, call `paused` and `heard`."""

    async def stop_listening(self) -> None: ...

    async def transfer(self, action: cf.Transfer, variables: DialVariables) -> bool:
        """Set the variables and continue in the dialplan's [fourteenplus-dial]; True when the
        adapter will learn the dial result and pass it to `Session.dial_result`."""

    async def hangup(self, variables: DialVariables = ()) -> None:
        """Set the variables (the CDR's tag) and hang up."""

    async def answer(self) -> None:
        """Answer the call: a conversation starts."""

    async def refuse(self, variables: DialVariables) -> None:
        """Set the variables and continue in the dialplan's [fourteenplus-refuse]: the reason as
        early media and a SIP status, the call never answered."""

    async def fallback(self) -> None:
        """Hand the call to the dialplan's keypad menu."""

    async def close(self) -> None:
        """Release what the channel set up (media channels, files)."""


@dataclass(frozen=True)
class CallServices:
    """What every call shares at run time: the recogniser, the record writer, the metrics, the
    keyed caller hash (the records' own) that is all the log ever shows of a caller, and where
    utterances are kept when the operator keeps them (`records.keep_audio`), and the callers'
    own history when the operator uses it (`history.days`)."""
    speech: SpeechService
    records: RecordWriter | None = None
    metrics: Metrics | None = None
    hasher: CallerHasher | None = None
    audio: AudioArchive | None = None
    history: CallerHistory | None = None


class _Recognition:
    """One utterance's recognition in the background: the event it ends in, once done. One
    started at a pause (`Session.paused`) is kept for the end if the utterance did not grow."""

    def __init__(self, listen: cf.Listen, utterance: Spoken, cut_off: bool = False):
        self.listen = listen
        self.utterance = utterance  # the same length at the end means the same audio
        self.cut_off = cut_off  # the turn never ended: the flow hears so (`Utterance.cut_off`)
        # When what it holds ended (the end, or the pause): the recognisers take the waiting
        # utterances in this order (`speech.workers`), whenever this task gets to submit it.
        self.ended = time.monotonic()
        self.done = anyio.Event()
        self.event: cf.Event | None = None
        self.scope = anyio.CancelScope()

    def abandon(self) -> None:
        """The caller spoke on: nobody will wait for this one (the speech service stops it)."""
        self.scope.cancel()


class Session:
    """Owns the channel that `channel(session)` makes; `finished(session)` once it has ended."""

    def __init__(self, flow: cf.CallFlow, services: CallServices, channel: Callable[[Session], Channel],
                 finished: Callable[[Session], None], name: str | None = None):
        self.flow = flow
        self.services = services
        self.speech = services.speech
        self.finished = finished
        self.name = name or flow.record.dialled
        self.started_at = self.flow.record.started_at = time.time()
        self._inbox_send, self._inbox = anyio.create_memory_object_stream[cf.Event](math.inf)
        self._timers: dict[str, anyio.CancelScope] = {}
        self.speech_ended_at: float | None = None
        self._early = Early[_Recognition]()  # the recognition started at the caller's last pause
        self._tasks: anyio.abc.TaskGroup | None = None
        # The adapter learns the dial result after the session ends: it calls dial_result then.
        self.record_pending = False
        audio = services.audio
        self.audio = audio.call(flow.record) if audio is not None and audio.enabled else None
        self._recorded = False  # the record is written once, whichever end of the call comes first
        self.channel = channel(self)

    @property
    def tasks(self) -> anyio.abc.TaskGroup:
        """The session's task group, for work of the call that runs beside it."""
        if self._tasks is None:
            raise RuntimeError(f"{self.name}: the session is not running")
        return self._tasks

    def post(self, event: cf.Event) -> None:
        """From the event dispatcher or a helper task: never blocks."""
        self._inbox_send.send_nowait(event)

    async def run(self) -> None:
        try:
            async with anyio.create_task_group() as self._tasks:
                actions = self.flow.start(busy=self.speech.busy)
                if self.services.metrics:
                    self.services.metrics.call_started(self.flow.record.area_code)
                await self._perform(actions)
                if (self.services.history is not None and self.flow.service.history.on
                        and self.flow.state in (State.ASKING, State.MENU)):
                    self.tasks.start_soon(self._suggest, self.services.history)
                while not self.flow.done:
                    event = await self._inbox.receive()
                    log.debug("%s: %s", self.name, event)
                    before = len(self.flow.record.attempts)
                    actions = self.flow.handle(event)
                    if self.audio is not None:
                        self.audio.handled(event, before)
                    await self._perform(actions)
                self._tasks.cancel_scope.cancel()
        except Exception:
            log.exception("%s failed; handing the call to the dialplan fallback", self.name)
            with anyio.CancelScope(shield=True):
                await self.channel.fallback()
        finally:
            with anyio.CancelScope(shield=True):
                await self.channel.close()
                if self.audio is not None:  # before the record that names the files
                    await anyio.to_thread.run_sync(self.audio.save)
            if not self.record_pending:
                self.record_done()
            self.finished(self)

    async def _suggest(self, history: CallerHistory) -> None:
        record = self.flow.record
        assert record.area_code is not None  # the flow asks only in an area
        municipality = await history.last_chosen(record.caller, record.area_code, self.flow.service.history.days)
        if municipality is not None:
            self.post(cf.Suggested(municipality))

    def dial_result(self, status: str | None, overflow: str | None = None) -> None:
        """How the dial went, from the dialplan's FourteenplusDial event (None when the call
        ended without one): complete the record and store it."""
        if status:
            self.flow.handle(cf.DialResult(status))
        self.flow.record.overflow_status = overflow or None
        self.record_done()

    def record_done(self) -> None:
        """The record is complete: log the decision, store it (never raises, never blocks) and
        count the call. Once per call: when the caller hangs up during the transfer, the
        session's end and the adapter's dial result (or its shutdown) both come here, in
        either order."""
        if self._recorded:
            return
        self._recorded = True
        record = self.flow.record
        decisions.info("call decision", extra={FIELDS: decision_fields(self.name, record, self.services.hasher)})
        if self.services.records is not None:
            self.services.records.write(record)
        if self.services.metrics:
            self.services.metrics.call_ended(record)

    async def _perform(self, actions: list) -> None:
        for action in actions:
            log.debug("%s: %s", self.name, action)
            try:
                await self._do(action)
            except ChannelGone:
                # The caller hung up in the middle: the hang-up event is on its way.
                log.debug("%s: %s on a channel that is gone", self.name, type(action).__name__)

    async def _do(self, action) -> None:
        timings = self.flow.record.timings
        if isinstance(action, cf.StartTimer):
            self.tasks.start_soon(self._timer, action.timer_id, action.ms)
        elif isinstance(action, cf.CancelTimer):
            scope = self._timers.pop(action.timer_id, None)
            if scope:
                scope.cancel()
        elif isinstance(action, cf.Play):
            await self.channel.play(action)
            timings.setdefault(Timing.ANSWER_TO_FIRST_PROMPT, (time.time() - self.started_at) * 1000)
        elif isinstance(action, cf.StopPlayback):
            await self.channel.stop_playback()
        elif isinstance(action, cf.Listen):
            await self.channel.listen(action)
        elif isinstance(action, cf.StopListening):
            await self.channel.stop_listening()
        elif isinstance(action, cf.Transfer):
            self.record_pending = await self.channel.transfer(action, self.dial_variables(action))
            now = time.time()
            timings[Timing.ANSWER_TO_INVITE] = (now - self.started_at) * 1000
            if self.speech_ended_at:
                timings[Timing.SPEECH_END_TO_TRANSFER] = (now - self.speech_ended_at) * 1000
            if self.record_pending and self.services.records is not None:
                # Stored now, completed by the dial result: an app that dies while the trunk
                # rings must not take the call's record with it.
                self.services.records.write(self.flow.record, final=False)
        elif isinstance(action, cf.Hangup):
            await self.channel.hangup(self.cdr_variables())
        elif isinstance(action, cf.AnswerCall):
            await self.channel.answer()
        elif isinstance(action, cf.Refuse):
            files = "&".join(f"{SOUNDS_SUBDIR}/{action.language}/{prompt}" for prompt in action.prompts)
            await self.channel.refuse((("FOURTEENPLUS_REFUSAL", files), *self.cdr_variables()))

    async def _timer(self, timer_id: str, ms: int) -> None:
        with anyio.CancelScope() as scope:
            self._timers[timer_id] = scope
            await anyio.sleep(ms / 1000)
            self.post(cf.Timeout(timer_id))
        self._timers.pop(timer_id, None)

    def paused(self, listen: cf.Listen, utterance: Spoken) -> None:
        """The caller has been quiet for a moment: start recognising what they said so far, so
        that if it was all, the answer is (nearly) ready when the end is certain (the rule:
        `speech.early`)."""
        void = self._early.paused(listen, len(utterance.samples), self.speech.idle,
                                  lambda: self._recognition(listen, utterance))
        if void is not None:
            void.abandon()

    def heard(self, listen: cf.Listen, utterance: Spoken, cut_off: bool = False) -> None:
        """An utterance ended: recognise it in the background, the answer comes as an event.
        Its speech is found already (by the adapter: the endpointer that cut it, or a search of
        the recording): the recogniser trims to it and searches no more. `cut_off`: it never
        ended (`vad.Endpointer.cut_off`), `utterance` is its last seconds; the flow decides
        what that means."""
        self.speech_ended_at = time.time()
        answer, void = self._early.ended(listen, len(utterance.samples), cut_off)
        if void is not None:
            void.abandon()
        if answer is not None:
            self.tasks.start_soon(self._deliver, answer)
            return
        self.tasks.start_soon(self._deliver, self._recognition(listen, utterance, cut_off))

    def _recognition(self, listen: cf.Listen, utterance: Spoken, cut_off: bool = False) -> _Recognition:
        recognition = _Recognition(listen, utterance, cut_off)
        self.tasks.start_soon(self._recognise, recognition)
        return recognition

    async def _deliver(self, recognition: _Recognition) -> None:
        await recognition.done.wait()
        assert recognition.event is not None  # `_recognise` sets it before `done`
        if self.audio is not None:
            self.audio.heard(recognition.event, recognition.utterance.samples)
        self.post(recognition.event)

    async def _recognise(self, recognition: _Recognition) -> None:
        started = time.perf_counter()
        failed = ""
        listen, utterance = recognition.listen, recognition.utterance
        with recognition.scope:  # cancelled when abandoned: nothing is delivered then
            try:
                if listen.mode == ListenMode.REPLY:
                    answer = await self.speech.reply(utterance, area_code=listen.area_code, asked=listen.asked,
                                                     ended=recognition.ended)
                    recognition.event = cf.Reply(answer.yes, answer.correction, recognition.cut_off)
                else:
                    result = await (self.speech.department(utterance, listen.phrases, ended=recognition.ended)
                                    if listen.mode == ListenMode.DEPARTMENT
                                    else self.speech.recognize(utterance, listen.area_code, ended=recognition.ended))
                    if result.reason in (Reason.TIMEOUT, Reason.ERROR):
                        failed = result.reason
                    recognition.event = cf.Utterance(result, recognition.cut_off)
            except Exception as exc:
                log.exception("%s: recognition failed", self.name)
                failed = Reason.ERROR
                recognition.event = cf.RecognitionFailed(type(exc).__name__)
            recognition.done.set()
            if self.services.metrics:
                self.services.metrics.recognition((time.perf_counter() - started) * 1000, bool(failed),
                                                  failed or Reason.ERROR)

    def dial_variables(self, action: cf.Transfer) -> DialVariables:
        """What [fourteenplus-dial] reads: the prompt set for its own messages (a trunk that
        failed) in the caller's language, and where to dial."""
        return (("FOURTEENPLUS_PROMPTS", f"{SOUNDS_SUBDIR}/{self.flow.record.language}"),
                ("FOURTEENPLUS_MUNICIPALITY", action.municipality),
                ("FOURTEENPLUS_DIAL", action.trunk),
                ("FOURTEENPLUS_OVERFLOW", action.overflow or ""),
                *self.cdr_variables())

    def cdr_variables(self) -> DialVariables:
        """The CDR's userfield: the call's outcome and municipality, as far as they are known."""
        record = self.flow.record
        slug = self.flow.service.directory.municipalities[record.municipality].slug if record.municipality else None
        return ((CDR_USERFIELD, cdr_userfield(record.outcome or "", slug)),)


def decision_fields(name: str, record: cf.CallRecord, hasher: CallerHasher | None) -> dict:
    """What a NOC needs of one call, the caller only as the records' keyed hash (None: left out)."""
    return {
        "call": name, "area": record.area_code, "outcome": record.outcome, "path": record.path,
        "municipality": record.municipality, "department": record.department, "dial_status": record.dial_status,
        "latency_ms": record.timings.get(Timing.ANSWER_TO_INVITE),
        "caller_hash": hasher.hash(record.caller) if hasher else None,
    }


class Dialling:
    """Transferred calls whose records wait for the dial result, by the adapter's key for the
    channel; whatever still waits when the adapter stops is stored without one."""

    def __init__(self) -> None:
        self._sessions: dict[Hashable, Session] = {}

    def __contains__(self, key: Hashable) -> bool:
        return key in self._sessions

    def expect(self, key: Hashable, session: Session) -> None:
        self._sessions[key] = session

    def result(self, key: Hashable, status: str | None, overflow: str | None = None) -> None:
        session = self._sessions.pop(key, None)
        if session is not None:
            session.dial_result(status, overflow)

    def finish(self) -> None:
        for session in self._sessions.values():
            session.record_done()
        self._sessions.clear()
