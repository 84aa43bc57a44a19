"""Malformed and unexpected ARI events, fed through the client's event pump into the app while
a caller is at the question: each is logged or ignored, and that caller's call goes on (it
is neither dropped nor handed to the fallback), then ends with one record when it hangs up.
Also: anything a recogniser could hear never routes outside the dialled area."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fourteenplus.ari.app import App
from fourteenplus.callflow import CallFlow, Transfer, Utterance
from fourteenplus.ari.client import Ari
from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.grammar import load_grammars
from fourteenplus.session import CallServices
from fourteenplus.speech.recognizer import Heard
from fourteenplus.speech.service import SpeechService

from ..waiting import until
from .scripted_calls import RecordSink

SERVICE = load_service(EXAMPLE)
CALLER = "c1"
CALLER_NUMBER = "0612345678"
EVENT_TYPES = ["StasisStart", "StasisEnd", "ChannelDtmfReceived", "PlaybackFinished", "PlaybackStarted",
               "ChannelUserevent", "ChannelDestroyed", "ChannelVarset", "BridgeCreated", "", "Nonsense"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
channel_ids = st.sampled_from([CALLER, "c2", "fp-snoop-c1", "", "x" * 300])
channels = st.one_of(scalars, st.fixed_dictionaries({"id": st.one_of(channel_ids, scalars)},
                                                    optional={"caller": st.one_of(scalars, st.dictionaries(st.text(max_size=6), scalars, max_size=3))}))
events = st.fixed_dictionaries({"type": st.one_of(st.sampled_from(EVENT_TYPES), scalars)}, optional={
    "channel": channels,
    "args": st.one_of(scalars, st.lists(scalars, max_size=3)),
    "digit": scalars,
    "playback": st.one_of(scalars, st.fixed_dictionaries({}, optional={"id": scalars, "target_uri": scalars})),
    "eventname": st.one_of(st.just("FourteenplusDial"), scalars),
    "userevent": st.one_of(scalars, st.dictionaries(st.text(max_size=8), scalars, max_size=3)),
})


def hangs_up_the_caller(event) -> bool:
    """A well-formed end of the caller's own channel is no malformed event: leave it out."""
    channel = event.get("channel")
    return (isinstance(channel, dict) and channel.get("id") == CALLER
            and event.get("type") in ("StasisEnd", "ChannelDestroyed"))


class FakeAri:
    """What the app asks of ARI, recorded; a media set-up that never completes (keypad only)."""

    def __init__(self):
        self.requests: list[tuple] = []

    def __getattr__(self, name):
        async def request(*args, **kwargs):
            self.requests.append((name, *args))
            return []
        return request


class FakeClient:
    """asyncari's client as `Ari` uses it: an async stream of messages, open websockets."""

    def __init__(self, batch: list[dict]):
        self.batch = batch
        self.websockets = {"open"}

    def __aiter__(self):
        return self._messages()

    async def _messages(self):
        for event in self.batch:
            yield type("Message", (), {"_orig_msg": event})()
            await anyio.lowlevel.checkpoint()  # one event at a time, as from a socket
        self.websockets.clear()


def start_event():
    return {"type": "StasisStart", "channel": {"id": CALLER, "caller": {"number": CALLER_NUMBER}}, "args": ["140229"]}


# Each example waits out the pump's 0.25 s websocket check: fewer, longer batches.
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, max_size=40))
def test_fuzz_ari_malformed_events_are_survived_and_the_call_goes_on(batch):
    batch = [e for e in batch if not hangs_up_the_caller(e)]
    fake, records = FakeAri(), RecordSink()
    app = App(SERVICE, CallServices(speech=SimpleNamespace(busy=False), records=records), fake)

    async def main():
        async with anyio.create_task_group() as tasks:
            ari = Ari(FakeClient([start_event(), *batch]), "fourteenplus")
            await ari.serve(lambda event: app._dispatch(event, tasks))
            await anyio.wait_all_tasks_blocked()  # the calls have done all the batch made them do
            assert CALLER in app.calls, "the caller's call is still in the app"
            assert not [r for r in fake.requests if r[0] in ("hangup", "continue_in_dialplan") and r[1] == CALLER]
            app._dispatch({"type": "StasisEnd", "channel": {"id": CALLER}}, tasks)
            await until(lambda: CALLER not in app.calls, "the caller's call to end", timeout_s=5)
            tasks.cancel_scope.cancel()

    anyio.run(main)
    # Other channels the batch started are calls of their own (a StasisStart for "c2" is one);
    # the caller's call has exactly one record.
    ours = [r for r in records.written if r.caller == CALLER_NUMBER]
    assert [(r.dialled, r.outcome) for r in ours] == [("140229", "abandoned")]


GRAMMARS = load_grammars(SERVICE.directory)
SPEECH = SpeechService(GRAMMARS, SERVICE.thresholds)
AREAS = sorted(SERVICE.areas)
NAMES = sorted(SERVICE.directory.municipalities)


WORDS = st.lists(st.sampled_from(NAMES + ["eh", "gemeente", "graag", "'s-", "-"]), max_size=6).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), area=st.sampled_from(AREAS), transcript=st.one_of(st.text(max_size=60), WORDS),
       prompted=st.one_of(st.just(""), WORDS), speech=st.booleans(), no_speech=st.floats(0.0, 1.0))
def test_property_recognition_anything_heard_never_routes_outside_the_area(data, area, transcript, prompted,
                                                                            speech, no_speech):
    """The production decision (`Matcher.decide` on what the recogniser heard: any transcripts,
    any scores for the phrases it scores), then the call flow it feeds: never a name or a
    trunk outside the dialled area."""
    matcher = SPEECH.matcher(area)
    scored = [text for text, _ in matcher.shortlist(transcript, prompted)]
    scores = data.draw(st.dictionaries(st.sampled_from(scored), st.floats(-60.0, 10.0), max_size=len(scored)))
    heard = Heard(transcript, speech, scores, no_speech, prompted=prompted)
    plan = SERVICE.plan(area)
    trunks = {SERVICE.municipality(m).trunk for m in plan.connected}
    for accept, confirm in ((0.99, 0.70), (0.5, 0.1), (0.0, 0.0)):
        result = matcher.decide(heard, accept, confirm)
        if result.decision in ("accept", "confirm"):
            assert result.municipality in plan.municipalities, (heard, result)
        else:
            assert result.municipality is None
        flow = CallFlow(SERVICE, f"14{area}")
        flow.start()
        for action in flow.handle(Utterance(result)):
            if isinstance(action, Transfer):
                assert action.trunk in trunks, (heard, result, action)
