"""The ARI adapter: drives one `callflow.CallFlow` per caller and carries out its actions.

Only translation lives here: ARI events → callflow events, callflow actions → ARI calls.
The conversation loop, timers and recognition are the `session.Session` shared with the
FastAGI adapter; a `Call` is the session's `Channel` over ARI. Each call runs in its own task with its own queue; the event loop only
dispatches.

How the caller is heard: a snoop channel (spy=in: the caller's voice, never our prompts)
and an externalMedia channel share a mixing bridge, so Asterisk streams the caller's audio
as RTP to a UDP socket of this call: μ-law, or with `asterisk.ari.media: slin` linear, which
spares an A-law caller's words a second companding (A-law, then μ-law) before the ear. The
caller's own channel stays out of any bridge, so prompts play to it normally and the caller
can speak over them (barge-in: `speech.bargein.Turn` says when an utterance over a prompt is
speech enough to stop it).
The frames feed a `speech.vad.Endpointer`; each utterance goes to the `SpeechService`,
which recognises it in a worker thread, starting at the caller's first pause (0.2 s of
quiet) rather than at the end (0.5 s) when the worker is free.

A call never gets lost here: when anything in a call fails, the call leaves Stasis
without a route and the dialplan's keypad fallback takes it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.abc

from .. import callflow as cf
from ..config import Service
from ..prompts import SOUNDS_SUBDIR
from ..rtp import EXTERNAL_MEDIA, payload
from ..session import CallServices, ChannelGone, Dialling, DialVariables, Session
from ..speech.audio import decode
from ..speech.bargein import Turn
from ..speech.vad import FRAME, Endpointer, Settings, TurnEvent
from .client import Ari, AriError, Gone, event_summary

log = logging.getLogger(__name__)

DIAL_CONTEXT = "fourteenplus-dial"
REFUSE_CONTEXT = "fourteenplus-refuse"
MEDIA_SETUP_S = 2.0  # for the snoop and external-media channels to enter Stasis
LOOPBACK = "127.0.0.1"
MEDIA_PREFIX = "fp-"  # ids of the bridges and channels the app makes to hear a caller
KEYPAD = "0123456789*#ABCD"  # what a DTMF event may carry; anything else is a malformed event


_Op = TypeVar("_Op", bound=Callable[..., Awaitable[Any]])


def _gone_is_hangup(operation: _Op) -> _Op:
    """ARI's "no such channel" mid-operation is the caller hanging up: the session's `ChannelGone`."""
    @functools.wraps(operation)
    async def wrapper(*args, **kwargs):
        try:
            return await operation(*args, **kwargs)
        except Gone as exc:
            raise ChannelGone(str(exc)) from exc
    return wrapper  # type: ignore[return-value]


class Call:
    """One caller in Stasis: the `Channel` of its `Session`, which holds the conversation."""

    def __init__(self, app: App, channel: dict, dialled: str, linkedid: str | None = None):
        caller = (channel.get("caller") or {}).get("number") or None
        flow = cf.CallFlow(app.service, dialled, caller, now=dt.datetime.now(dt.timezone.utc))
        # ARI's channel id is Asterisk's uniqueid (for a channel ARI did not originate)
        flow.record.uniqueid, flow.record.linkedid = channel["id"], linkedid
        self.app = app
        self.ari: Ari = app.ari
        self.channel_id: str = channel["id"]
        self.playback: tuple[str, str] | None = None  # (ARI playback id, callflow play id)
        self.listening: cf.Listen | None = None
        # Cut off at the longest utterance, so that what was heard is recognised before the
        # flow's backstop (speech/deadline.py) gives up on speech.
        self.endpointer = Endpointer(Settings.cut_at(app.service.listen.max_speech_ms))
        self.turn = Turn(self.endpointer)  # when the caller's speech stops a prompt
        self.media: dict[str, str] = {}  # "bridge", "snoop", "external" → ARI ids
        # the externalMedia format this call is heard in, its RTP payload type and encoding
        self.heard_as = app.service.asterisk.ari_media
        self.payload_type, self.encoding = EXTERNAL_MEDIA[self.heard_as]
        self.hearing = False  # the media path is set up (once per call, on the first Listen)
        self.session = Session(flow, app.services, lambda session: self, app.finished,
                               name=f"call {self.channel_id} ({dialled})")

    @property
    def name(self) -> str:
        return self.session.name

    # ---- what the session asks of the channel ----

    @_gone_is_hangup
    async def play(self, action: cf.Play) -> None:
        playback_id = str(uuid.uuid4())
        self.playback = (playback_id, action.play_id)
        media = [f"sound:{SOUNDS_SUBDIR}/{action.language}/{p}" for p in action.prompts]
        await self.ari.play(self.channel_id, playback_id, media)

    @_gone_is_hangup
    async def stop_playback(self) -> None:
        if self.playback:
            playback_id, self.playback = self.playback[0], None
            await self._quietly(self.ari.stop_playback(playback_id))

    async def listen(self, action: cf.Listen) -> None:
        self.listening = action
        self.endpointer.reset()
        if not self.hearing:
            self.hearing = True  # set up in the background: the question must not wait for it
            self.session.tasks.start_soon(self._listen_media)

    async def stop_listening(self) -> None:
        self.listening = None

    @_gone_is_hangup
    async def transfer(self, action: cf.Transfer, variables: DialVariables) -> bool:
        # The dialplan reads these; continuing there dials the trunk (and the overflow). The
        # caller waits in silence meanwhile, so the requests go out together: one round trip
        # to Asterisk before the continue, not one per variable.
        async def watch() -> bool:
            try:
                await self.ari.watch_channel(self.channel_id)
            except AriError as exc:  # the record then goes without its dial result; the call goes on
                log.warning("%s: no dial result for the record (%s)", self.name, exc)
                return False
            self.app.dialling.expect(self.channel_id, self.session)
            return True

        watching = asyncio.ensure_future(watch())
        await asyncio.gather(*(self.ari.set_variable(self.channel_id, name, value) for name, value in variables),
                             watching)
        await self.ari.continue_in_dialplan(self.channel_id, DIAL_CONTEXT, "s", 1)
        return watching.result()

    @_gone_is_hangup
    async def hangup(self, variables: DialVariables = ()) -> None:
        for name, value in variables:
            await self.ari.set_variable(self.channel_id, name, value)
        await self.ari.hangup(self.channel_id)

    @_gone_is_hangup
    async def answer(self) -> None:
        await self.ari.answer(self.channel_id)

    @_gone_is_hangup
    async def refuse(self, variables: DialVariables) -> None:
        for name, value in variables:
            await self.ari.set_variable(self.channel_id, name, value)
        await self.ari.continue_in_dialplan(self.channel_id, REFUSE_CONTEXT, "s", 1)

    async def fallback(self) -> None:
        # Leaving Stasis without a route: the dialplan goes on to the keypad menu.
        await self._quietly(self.ari.continue_in_dialplan(self.channel_id))

    async def close(self) -> None:
        for key in ("snoop", "external"):
            if key in self.media:
                await self._quietly(self.ari.hangup(self.media[key]))
                self.app.own_channels.pop(self.media[key], None)
        if "bridge" in self.media:
            await self._quietly(self.ari.destroy_bridge(self.media["bridge"]))
        self.media = {}

    # ---- hearing the caller ----

    async def _listen_media(self) -> None:
        async with await anyio.create_udp_socket(local_host=LOOPBACK, local_port=0) as sock:
            port = sock.extra(anyio.abc.SocketAttribute.local_port)
            ids = {"bridge": f"{MEDIA_PREFIX}bridge-{self.channel_id}",
                   "snoop": f"{MEDIA_PREFIX}snoop-{self.channel_id}",
                   "external": f"{MEDIA_PREFIX}media-{self.channel_id}"}
            self.media = ids
            # A channel can join a bridge only once it is in Stasis: wait for its StasisStart.
            entered = {ids[key]: anyio.Event() for key in ("snoop", "external")}
            self.app.own_channels.update(entered)
            try:
                await self.ari.create_bridge(ids["bridge"])
                await self.ari.external_media(ids["external"], LOOPBACK, port, self.heard_as)
                await self.ari.snoop(self.channel_id, ids["snoop"])
                with anyio.fail_after(MEDIA_SETUP_S):
                    for event in entered.values():
                        await event.wait()
                await self.ari.add_to_bridge(ids["bridge"], [ids["snoop"], ids["external"]])
            except (AriError, TimeoutError) as exc:
                # Without ears the caller can still use the keypad: the flow's timers lead there.
                log.warning("%s: no audio from the caller (%s); keypad only", self.name, exc)
                return
            async for packet, _ in sock:
                self._hear(packet)

    def _hear(self, packet: bytes) -> None:
        audio = payload(packet, self.payload_type)
        if self.listening is None or audio is None:
            return
        samples = decode(audio, self.encoding)
        for start in range(0, len(samples) - FRAME + 1, FRAME):
            state = self.endpointer.feed(samples[start:start + FRAME])
            if self.turn.update(state, self.playback is not None):
                self.session.post(cf.SpeechStarted())  # over a prompt: the flow stops it (barge-in)
            if not self.turn.taken:
                if state == TurnEvent.END:  # noise too short to take the turn from a prompt: no answer
                    self.endpointer.reset()
            elif state == TurnEvent.PAUSE:
                self.session.paused(self.listening, self.endpointer.utterance())
            elif state == TurnEvent.END:
                utterance, cut_off = self.endpointer.utterance(), self.endpointer.cut_off
                self.endpointer.reset()  # keep listening: a second try may follow at once
                self.session.heard(self.listening, utterance, cut_off)

    async def _quietly(self, operation) -> None:
        """Clean-up that may find its object gone already."""
        try:
            await operation
        except AriError as exc:
            log.debug("%s: %s", self.name, exc)


class App:
    """Routes ARI events to calls; one task per call."""

    def __init__(self, service: Service, services: CallServices, ari: Ari):
        self.service = service
        self.services = services
        self.ari = ari
        self.calls: dict[str, Call] = {}
        self.dialling = Dialling()  # transferred calls by channel id
        # The snoop and external-media channels we made → set when they enter Stasis.
        self.own_channels: dict[str, anyio.Event] = {}
        self.draining = False  # stopping: new callers go straight to the keypad fallback

    def stop_taking_calls(self) -> None:
        self.draining = True

    async def run(self) -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._release_left_behind)
            try:
                await self.ari.serve(lambda event: self._dispatch(event, tasks))
            finally:
                # Going away: every caller still here is handed to the dialplan's keypad fallback.
                with anyio.CancelScope(shield=True):
                    for call in list(self.calls.values()):
                        await call.fallback()
                self.dialling.finish()
                tasks.cancel_scope.cancel()

    def finished(self, session: Session) -> None:
        if isinstance(session.channel, Call):
            self.calls.pop(session.channel.channel_id, None)

    def _dispatch(self, event: dict, tasks) -> None:
        kind = event.get("type") or ""
        channel = event.get("channel") or {}
        channel_id = channel.get("id")
        if kind == "StasisStart":
            if channel_id in self.own_channels:
                self.own_channels[channel_id].set()
                return
            if channel_id in self.calls:
                return
            if not isinstance(channel_id, str) or not channel_id:
                log.warning("StasisStart without a channel id ignored: %s", event_summary(event))
                return
            if self.draining:
                tasks.start_soon(self._to_fallback, channel_id, "arrived while stopping")
                return
            args = event.get("args")
            # the dialplan passes the dialled digits (anything else is explained as a wrong number)
            # and the call's linkedid
            args = args if isinstance(args, list) else []
            dialled = args[0] if args and isinstance(args[0], str) else ""
            linkedid = args[1] if len(args) > 1 and isinstance(args[1], str) and args[1] else None
            new = self.calls[channel_id] = Call(self, channel, dialled, linkedid)
            tasks.start_soon(new.session.run)
            return
        if channel_id in self.dialling and (
                kind == "ChannelDestroyed" or event.get("eventname") == "FourteenplusDial"):
            result = event.get("userevent")
            result = result if isinstance(result, dict) else {}
            self.dialling.result(channel_id, result.get("status"), result.get("overflow"))
            return
        if kind.startswith("Playback"):
            target = (event.get("playback") or {}).get("target_uri", "")
            channel_id = target.partition("channel:")[2]
        call = self.calls.get(channel_id) if isinstance(channel_id, str) else None
        if call is None:
            return
        if kind == "StasisEnd":
            call.session.post(cf.HungUp())
        elif kind == "ChannelDtmfReceived":
            digit = event.get("digit")
            if isinstance(digit, str) and len(digit) == 1 and digit in KEYPAD:
                call.session.post(cf.Dtmf(digit))
            else:
                log.warning("%s: ignored a DTMF event without a key: %.100r", call.name, digit)
        elif kind == "PlaybackFinished":
            playback_id = event["playback"].get("id")
            if call.playback and call.playback[0] == playback_id:
                play_id = call.playback[1]
                call.playback = None
                call.session.post(cf.PromptDone(play_id))

    async def _release_left_behind(self) -> None:
        """Callers a previous run of the app left in Stasis (it crashed or was killed) wait in
        silence: their conversation is lost with that process, so the keypad fallback takes them."""
        try:
            held = await self.ari.held_channels()
        except AriError as exc:
            log.warning("could not list channels left in Stasis: %s", exc)
            return
        for channel_id in held:
            if channel_id in self.calls or channel_id in self.own_channels:
                continue
            if channel_id.startswith(MEDIA_PREFIX):  # the lost run's ears: nothing to route
                try:
                    await self.ari.hangup(channel_id)
                except AriError as exc:
                    log.debug("%s: %s", channel_id, exc)
            else:
                await self._to_fallback(channel_id, "left in Stasis by an earlier run")

    async def _to_fallback(self, channel_id: str, why: str) -> None:
        log.warning("%s %s: keypad fallback", channel_id, why)
        try:
            await self.ari.continue_in_dialplan(channel_id)
        except AriError as exc:
            log.debug("%s: %s", channel_id, exc)
