"""One call, one key (issue 27, part 2): the record carries Asterisk's uniqueid and linkedid,
and the CDR's userfield the outcome and municipality, so the operator's billing and these
records join. FastAGI (and a refused number's tag before the hang-up): tests/unit/test_agi_adapter.py; over
real calls: tests/integration/test_calls.py and test_agi_calls.py."""

from __future__ import annotations

from types import SimpleNamespace

import anyio

from fourteenplus.ari.app import App
from fourteenplus.ari.client import Ari
from fourteenplus.asterisk_config import render_dialplan
from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.records import open_store
from fourteenplus.records.store import MIGRATIONS, Row
from fourteenplus.session import CallServices

from .record_backends import backend  # noqa: F401  (the fixture)
from .scripted_calls import Caller, RecordSink
from .test_fuzz_ari_events import FakeAri, FakeClient

SERVICE = load_service(EXAMPLE)


def ari_call(*events: dict) -> tuple[FakeAri, list]:
    """A caller (channel 1795.1, linkedid 1795.0) through the ARI app: (what it asked of ARI, records)."""
    fake, records = FakeAri(), RecordSink()
    app = App(SERVICE, CallServices(speech=SimpleNamespace(busy=False), records=records), fake)

    async def main():
        async with anyio.create_task_group() as tasks:
            await Ari(FakeClient(list(events)), "fourteenplus").serve(lambda event: app._dispatch(event, tasks))
            with anyio.fail_after(5):
                while app.calls:
                    await anyio.sleep(0.01)
            app._dispatch({"type": "ChannelDestroyed", "channel": {"id": "1795.1"}}, tasks)  # the dial's end
            tasks.cancel_scope.cancel()

    anyio.run(main)
    return fake, records.written


def start(number: str) -> dict:
    return {"type": "StasisStart", "channel": {"id": "1795.1", "caller": {"number": "0612345678"}},
            "args": [number, "1795.0"]}


def test_ari_record_has_the_channels_uniqueid_and_linkedid_and_the_cdr_its_outcome():
    fake, written = ari_call(start("14020"))  # Amsterdam's own area: straight to its trunk
    [record] = written
    assert (record.uniqueid, record.linkedid) == ("1795.1", "1795.0")
    assert ("set_variable", "1795.1", "CDR(userfield)", "fourteenplus outcome=transferred municipality=amsterdam") \
        in fake.requests


def test_ari_a_stasis_start_without_a_linkedid_keeps_the_uniqueid():
    event = start("14020")
    event["args"] = ["14020"]  # an older dialplan
    _, [record] = ari_call(event)
    assert (record.uniqueid, record.linkedid) == ("1795.1", None)


def test_the_keypad_fallback_tags_the_cdr_with_the_municipality_it_dials():
    dialplan = render_dialplan(SERVICE)
    assert "[fourteenplus-to-hoorn]\nexten => s,1,Set(CDR(userfield)=fourteenplus outcome=transferred municipality=hoorn)" \
        in dialplan


def test_stored_record_keeps_the_keys_and_an_older_store_gains_their_columns(backend):  # noqa: F811
    open_store(backend, migrations=MIGRATIONS[:-1]).close()  # a store of the release before
    store = open_store(backend)
    assert store.version() == MIGRATIONS[-1][0]
    record = Caller().say("Hoorn").record
    record.uniqueid, record.linkedid = "1795.1", "1795.0"
    store.insert(Row.of(record, None))
    store.insert(Row.of(Caller(number="14020").record, None))
    keys = {c.record.dialled: (c.record.uniqueid, c.record.linkedid) for c in store.calls()}
    assert keys == {"140229": ("1795.1", "1795.0"), "14020": (None, None)}
