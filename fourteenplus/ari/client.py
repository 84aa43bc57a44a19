"""The one module that knows the ARI client library (asyncari); swap it here and nowhere else.

`connect(settings)` yields an `Ari`: `serve(handler)` passes ARI events as plain dicts to
the handler until the connection closes, and the few REST calls the app makes are methods
named for what they do. A REST call on a channel that is already gone
raises `Gone`, because a caller who hangs up mid-action is normal, not an error.

asyncari hands events to us one at a time and closes the whole connection when handling
one takes longer than about 1.5 s, so the handler must only dispatch (the app puts each
event into its call's queue and returns at once).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import asyncari
from asyncari.model import BaseObject, OperationError
from httpx import HTTPError

from .. import asterisk_config
from ..config import AsteriskSettings

log = logging.getLogger(__name__)


class AriError(RuntimeError):
    """A REST call failed for a reason other than the channel being gone."""


class Gone(AriError):
    """The channel, bridge or playback no longer exists (the caller hung up, a prompt ended)."""


@dataclass(frozen=True)
class AriSettings:
    url: str
    user: str
    password: str
    app: str = asterisk_config.ARI_APP

    @classmethod
    def of(cls, asterisk: AsteriskSettings) -> AriSettings:
        """The configuration's ARI (`asterisk.ari`: the bundled Asterisk's by default) and the
        user it names, else this installation's generated one; `$FOURTEENPLUS_ARI_URL` names
        another instance's (a cluster node's)."""
        user, password = asterisk_config.ari_login(asterisk)
        return cls(asterisk_config.ari_url(asterisk), user, password)


def event_summary(event: object) -> str:
    """What a log may show of an ARI event: its type and channel id. Events carry the caller's
    number (and name), which must never reach a log, so nothing else of them does."""
    if not isinstance(event, dict):
        return f"a {type(event).__name__}, not an event"
    channel = event.get("channel")
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    kind = event.get("type")
    return (f"{kind[:40] if isinstance(kind, str) else None!r} on channel "
            f"{channel_id[:80] if isinstance(channel_id, str) else None!r}")


def unhandled(event: object, exc: BaseException) -> str:
    """The error line for an event the app failed on: where it failed, without the exception's
    message, which may quote the event's values (the caller's number)."""
    where = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    return f"ARI event {event_summary(event)} not handled: {type(exc).__name__}\n{where}"


class Ari:
    def __init__(self, client, app: str):
        self._client = client
        self.app = app

    async def serve(self, handler: Callable[[dict], None]) -> None:
        """Pass every event to `handler` (synchronous, quick); return when the connection closes."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._pump, handler)
            # asyncari's event stream does not end when its websocket closes; watch the socket.
            while self._client.websockets:
                await anyio.sleep(0.25)
            tasks.cancel_scope.cancel()

    async def _pump(self, handler: Callable[[dict], None]) -> None:
        async for message in self._client:
            # asyncari wraps each event in objects of its own; the app wants the plain JSON.
            event = message._orig_msg
            try:
                handler(event)
            except Exception as exc:  # one malformed event must not end every call's connection
                log.error("%s", unhandled(event, exc))

    async def _call(self, resource: str, operation: str, **params):
        try:
            return await getattr(getattr(self._client, resource), operation)(**params)
        except OperationError as exc:
            cause = exc.__cause__
            status = getattr(getattr(cause, "response", None), "status_code", None)
            message = f"{resource}.{operation}: HTTP {status}: {exc.args[0] if exc.args else ''}"
            if status in (404, 409, 422):  # no such object, or not in Stasis any more
                raise Gone(message) from exc
            raise AriError(message) from exc
        except HTTPError as exc:
            raise AriError(f"{resource}.{operation}: {exc}") from exc

    # ---- channels ----

    async def play(self, channel_id: str, playback_id: str, media: list[str]) -> None:
        await self._call("channels", "playWithId", channelId=channel_id, playbackId=playback_id, media=media)

    async def stop_playback(self, playback_id: str) -> None:
        await self._call("playbacks", "stop", playbackId=playback_id)

    async def answer(self, channel_id: str) -> None:
        await self._call("channels", "answer", channelId=channel_id)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._call("channels", "hangup", channelId=channel_id, reason=reason)

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self._call("channels", "setChannelVar", channelId=channel_id, variable=name, value=value)

    async def continue_in_dialplan(self, channel_id: str, context: str | None = None,
                                   extension: str | None = None, priority: int | None = None) -> None:
        """Leave Stasis: to context/extension/priority, or (none given) at the next priority."""
        # asyncari refuses parameters given as None: name only those that are set.
        where = {key: value for key, value in
                 (("context", context), ("extension", extension), ("priority", priority)) if value is not None}
        await self._call("channels", "continueInDialplan", channelId=channel_id, **where)

    async def held_channels(self) -> list[str]:
        """Ids of the channels in our Stasis app now: after a crash, callers left waiting."""
        channels = await self._call("channels", "list")
        return [c.json["id"] for c in channels or ()
                if (c.json.get("dialplan") or {}).get("app_name") == "Stasis"
                and (c.json.get("dialplan") or {}).get("app_data", "").split(",")[0] == self.app]

    async def watch_channel(self, channel_id: str) -> None:
        """Keep receiving this channel's events after it leaves Stasis (its dial result)."""
        await self._call("applications", "subscribe", applicationName=self.app, eventSource=f"channel:{channel_id}")

    async def snoop(self, channel_id: str, snoop_id: str) -> None:
        """A channel that hears what the caller says (not what we play to the caller)."""
        await self._call("channels", "snoopChannelWithId", channelId=channel_id, snoopId=snoop_id,
                         spy="in", app=self.app)

    async def external_media(self, channel_id: str, host: str, port: int, media: str = "ulaw") -> None:
        """A channel that sends what it hears as RTP to host:port, in `media` (`rtp.EXTERNAL_MEDIA`)."""
        await self._call("channels", "externalMedia", channelId=channel_id, app=self.app,
                         external_host=f"{host}:{port}", encapsulation="rtp", transport="udp", format=media)

    # ---- bridges ----

    async def create_bridge(self, bridge_id: str) -> None:
        await self._call("bridges", "createWithId", bridgeId=bridge_id, type="mixing")

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self._call("bridges", "addChannel", bridgeId=bridge_id, channel=channel_ids)

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._call("bridges", "destroy", bridgeId=bridge_id)


def _first_cause(exc: BaseException) -> BaseException:
    """asyncari fails inside task groups, and its clean-up can fail over the real error (a
    closed client over a refused connection): the first leaf, or the network error behind it."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    behind: BaseException | None = exc
    while behind is not None and not isinstance(behind, (HTTPError, OSError)):
        behind = behind.__cause__ or behind.__context__
    return behind or exc


@asynccontextmanager
async def connect(settings: AriSettings) -> AsyncIterator[Ari]:
    """Connect and register the Stasis app. Raises AriError when ARI cannot be reached or the
    connection fails later; the caller decides whether to connect again."""
    try:
        async with asyncari.connect(settings.url, settings.app, settings.user, settings.password) as client:
            _forget_earlier_connections(client)
            yield Ari(client, settings.app)
    except Exception as exc:  # asyncari's failures arrive wrapped in ExceptionGroups
        cause = _first_cause(exc)
        raise AriError(f"ARI at {settings.url}: {type(cause).__name__}: {cause}") from exc


def _forget_earlier_connections(client) -> None:
    """asyncari keeps one object per ARI id for the whole process (class-level caches, and
    strong references to the channels it saw as active), each bound to the connection that
    made it. After a reconnect, meeting such a channel again (listing the callers left in
    Stasis) fails asyncari's assertion that the object belongs to the new connection, on every
    attempt. Objects of a connection that is gone are of no use: drop them."""
    kinds, seen = [BaseObject], set()
    while kinds:
        kind = kinds.pop()
        kinds += [k for k in kind.__subclasses__() if k not in seen]
        seen.update(kind.__subclasses__())
        if "cache" in vars(kind) and kind.cache is not None:
            for key, obj in list(kind.cache.items()):
                if getattr(obj, "client", client) is not client:
                    kind.cache.pop(key, None)
        if "active" in vars(kind) and kind.active is not None:
            kind.active = {obj for obj in kind.active if getattr(obj, "client", client) is client}
