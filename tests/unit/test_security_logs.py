"""A caller's number never reaches a log: not through the ARI warnings about odd events, nor
through the error line of an event the app failed on (whose exception may quote the event)."""

from __future__ import annotations

import logging

import anyio

from fourteenplus.ari.app import App
from fourteenplus.ari.client import Ari
from fourteenplus.session import CallServices

from .scripted_calls import SERVICE, RecordSink
from .test_fuzz_ari_events import FakeAri, FakeClient

NUMBER = "0612345678"


def caller(**channel) -> dict:
    return {"caller": {"number": NUMBER, "name": f"Jan {NUMBER}"}, **channel}


def pump(events, handler) -> None:
    async def main():
        await Ari(FakeClient(events), "fourteenplus").serve(handler)
    anyio.run(main)


def test_security_odd_ari_events_are_logged_without_the_callers_number(caplog):
    caplog.set_level(logging.DEBUG, logger="fourteenplus")
    app = App(SERVICE, CallServices(speech=None, records=RecordSink()), FakeAri())

    async def main():
        async with anyio.create_task_group() as tasks:
            await Ari(FakeClient([
                {"type": "StasisStart", "channel": caller(), "args": ["140229"]},            # no id
                {"type": "StasisStart", "channel": caller(id=""), "args": [NUMBER]},
            ]), "fourteenplus").serve(lambda event: app._dispatch(event, tasks))
            tasks.cancel_scope.cancel()

    anyio.run(main)
    assert "StasisStart without a channel id ignored: 'StasisStart' on channel None" in caplog.text
    assert "StasisStart without a channel id ignored: 'StasisStart' on channel ''" in caplog.text
    assert NUMBER not in caplog.text


def test_security_an_event_the_app_fails_on_is_logged_without_the_callers_number(caplog):
    def failing(event):
        raise ValueError(f"cannot route {event}")  # an exception quoting the whole event

    pump([{"type": "StasisStart", "channel": caller(id="1733.42"), "args": ["140229"]}, [NUMBER]], failing)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "ARI event 'StasisStart' on channel '1733.42' not handled: ValueError" in errors[0].getMessage()
    assert "in failing" in errors[0].getMessage()  # where it failed is kept
    assert "a list, not an event" in errors[1].getMessage()
    assert NUMBER not in caplog.text
