"""Exactly one record per call, in every order in which the session's end, the dial result
and the adapter's shutdown can come, also when the caller hangs up during the transfer.
A real Session and CallFlow, a real RecordWriter on SQLite; the channel is a stand-in."""

from __future__ import annotations

import pytest

from fourteenplus import callflow as cf
from fourteenplus.config import RecordSettings
from fourteenplus.metrics import Metrics
from fourteenplus.records import CallerHasher, CallRecord, RecordWriter, Row, open_store
from fourteenplus.session import CallServices, ChannelGone, Dialling, Session
from fourteenplus.vocabulary import Outcome

from .record_backends import backend  # noqa: F401  (a fixture)
from .scripted_calls import SERVICE, FakeSpeech, StandIn, converse, utterance

KEY = "channel-1"

# What the adapter sees around the transfer: during it (the channel's `transfer`), and after
# the session has ended. "gone": the caller hung up, so the transfer is cut short.
ORDERS = {
    "dial result after the session": ((), ("result ANSWER",)),
    "dial result during the transfer": (("result ANSWER",), ()),
    "dial result then the channel destroyed": ((), ("result ANSWER", "result None")),
    "adapter stops before the dial result": ((), ("finish",)),
    "hang-up during the transfer, then the channel destroyed": (("gone",), ("result None",)),
    "hang-up during the transfer, then the adapter stops": (("gone",), ("finish",)),
    "hang-up during the transfer, destroyed before the session ended": (("result None", "gone"), ("finish",)),
}


def act(steps, dialling: Dialling) -> None:
    for step in steps:
        if step == "finish":
            dialling.finish()
        elif step.startswith("result"):
            status = step.split()[1]
            dialling.result(KEY, None if status == "None" else status)


class Transferring(StandIn):
    """The adapter's side of a transfer: it expects the dial result, then `during` happens."""

    def __init__(self, session, dialling: Dialling, during: tuple[str, ...]):
        super().__init__(session)
        self.dialling, self.during = dialling, during

    async def transfer(self, action, variables):
        self.transfers.append(action.municipality)
        self.dialling.expect(KEY, self.session)
        act([s for s in self.during if s != "gone"], self.dialling)
        if "gone" in self.during:
            self.session.post(cf.HungUp())  # the hang-up event is on its way
            raise ChannelGone("the caller hung up")
        return True


def put_through(tmp_path, dialling: Dialling, during: tuple[str, ...], after: tuple[str, ...] = (),
                metrics: Metrics | None = None):
    """A caller says Koggenland and is put through (the adapter doing `during` at the transfer
    and `after` once the session has ended): (the session, its writer, the record settings)."""
    settings = RecordSettings(str(tmp_path / "records.db"), None, 90, False, 7)
    writer = RecordWriter(settings, hasher=CallerHasher(b"o" * 32), spool=tmp_path / "spool", purge_every_s=None)
    session = Session(cf.CallFlow(SERVICE, "140229", "0612345678"),
                      CallServices(FakeSpeech({8000: "Koggenland"}), writer, metrics),
                      lambda s: Transferring(s, dialling, during), lambda _: None)

    converse(None, lambda session, channel: session.heard(channel.listening, utterance(8000)), session)
    act(after, dialling)
    return session, writer, settings


@pytest.mark.parametrize("order", ORDERS)
def test_fault_one_record_per_call_in_every_order_of_hang_up_dial_result_and_shutdown(tmp_path, order):
    during, after = ORDERS[order]
    metrics = Metrics()
    session, writer, settings = put_through(tmp_path, Dialling(), during, after, metrics)
    writer.close()
    assert session.channel.transfers == ["Koggenland"]
    calls = open_store(settings).calls()
    assert [c.record.municipality for c in calls] == ["Koggenland"], f"{len(calls)} rows for one call"
    assert len({c.call_id for c in calls}) == 1
    ended = [line for line in metrics.render().splitlines() if line.startswith("fourteenplus_calls_total{")]
    assert [line.rsplit(" ", 1)[1] for line in ended] == ["1.0"]
    if "result ANSWER" in during + after:
        assert calls[0].record.dial_status == "ANSWER"


def test_fault_an_app_that_dies_while_the_trunk_rings_leaves_the_calls_record(tmp_path):
    """The dial result never comes and the adapter never stops cleanly (SIGKILL): the record
    written at the transfer is there, put through to Koggenland, its dial result unknown."""
    dialling = Dialling()
    _, writer, settings = put_through(tmp_path, dialling, ())
    assert writer.flush(5)  # no dial result, no finish: the process would die here
    [stored] = open_store(settings).calls()
    assert (stored.record.municipality, stored.record.outcome, stored.record.dial_status) == \
        ("Koggenland", Outcome.TRANSFERRED, None)
    dialling.result(KEY, "ANSWER")  # had it lived: the same row, completed
    writer.close()
    [stored] = open_store(settings).calls()
    assert stored.record.dial_status == "ANSWER"


def test_fault_a_provisional_row_never_undoes_the_final_one(backend):
    """A spool can replay the row written at the transfer after the final one was stored: the
    final stays; the final written twice (a lost acknowledgement) is one row."""
    store = open_store(backend)
    record = CallRecord("140229", "0612345678", area_code="0229", municipality="Koggenland",
                           outcome=Outcome.TRANSFERRED, started_at=1_800_000_000.0)
    provisional = Row.of(record, None, call_id="call-1", final=False)
    record.dial_status = "BUSY"
    final = Row.of(record, None, call_id="call-1")
    assert store.insert(provisional) and store.insert(final)
    assert not store.insert(provisional)
    assert store.insert(final)
    [stored] = store.calls()
    store.close()
    assert stored.record.dial_status == "BUSY"
