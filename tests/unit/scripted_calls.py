"""Call records made the way the adapters make them: by driving the real call flow.

Records, report, learn and metrics tests use these, so their figures come from records the
call flow really produces for each path, not from hand-written rows. `converse` runs a real
`Session` over a stand-in channel, for what only a session writes (its timings).
"""

from __future__ import annotations

import dataclasses

import anyio
import numpy as np

from fourteenplus import callflow as cf
from fourteenplus.callflow import (
    CallFlow, CallRecord, DialResult, Dtmf, HungUp, Play, PromptDone, Reply, StartTimer, Timeout, Utterance,
)
from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.session import CallServices, Session
from fourteenplus.speech import Candidate, Recognition
from fourteenplus.speech.vad import Spoken
from fourteenplus.vocabulary import Timing

SERVICE = load_service(EXAMPLE)  # by name: whatever $FOURTEENPLUS_CONFIG says, the tests mean the example
DAY = 86400.0
T0 = 1_740_000_000.0  # 2025-02-19 22:20 UTC: a fixed clock, so day buckets are known


class Caller:
    """One scripted caller; each method is what the caller does next."""

    def __init__(self, number: str = "140229", caller: str | None = "0612345678", started_at: float = T0,
                 timings: dict | None = None, service=SERVICE):
        self.flow = CallFlow(service, number, caller)
        self.playing = self.timer = None
        self._see(self.flow.start())
        self.flow.record.started_at = started_at
        self.flow.record.timings.update(timings or {})

    def _see(self, actions: list) -> "Caller":
        for action in actions:
            if isinstance(action, Play):
                self.playing = action.play_id
            elif isinstance(action, StartTimer):
                self.timer = action.timer_id
        return self

    def _do(self, event) -> "Caller":
        return self._see(self.flow.handle(event))

    def say(self, municipality: str | None, transcript: str = "", decision: str = "accept",
            score: float | None = None) -> "Caller":
        # By default a probability in the decision's band of the shipped thresholds.
        score = {"accept": 0.995, "confirm": 0.8, "reject": 0.05}[decision] if score is None else score
        candidates = (Candidate(municipality, score, municipality),) if municipality else ()
        return self._do(Utterance(Recognition(transcript or municipality or "", candidates, decision,
                                              municipality if decision != "reject" else None,
                                              "match" if decision != "reject" else "low_confidence")))

    def mumble(self, transcript: str, near: str | None = None, score: float = 0.05) -> "Caller":
        """Something the recogniser rejects (optionally with a weak candidate)."""
        return self.say(near, transcript, "reject", score)

    def silence(self) -> "Caller":
        self._do(PromptDone(self.playing))
        return self._do(Timeout(self.timer))

    def key(self, digit: str) -> "Caller":
        return self._do(Dtmf(digit))

    def reply(self, yes: bool | None) -> "Caller":
        return self._do(Reply(yes))

    def hang_up(self) -> "Caller":
        return self._do(HungUp())

    def dialled(self, status: str, overflow: str | None = None) -> "Caller":
        self._do(DialResult(status))
        self.flow.record.overflow_status = overflow
        return self

    @property
    def record(self) -> CallRecord:
        return self.flow.record


def every_path() -> dict[str, CallRecord]:
    """One record for each way a call can go, named for it."""
    menu_digit = {name: str(i + 1) for i, name in enumerate(SERVICE.plan("0229").connected)}
    return {
        "direct": Caller("14020").dialled("ANSWER").record,
        "spoken": Caller().say("Koggenland").dialled("ANSWER").record,
        "spoken_repeat": Caller().mumble("eh goedemorgen").say("Opmeer").dialled("ANSWER").record,
        "confirmed": Caller().say("Medemblik", decision="confirm").reply(True).dialled("ANSWER").record,
        "keypad": Caller().mumble("de westfriese poort").mumble("westfriese poort").key(menu_digit["Hoorn"])
        .dialled("ANSWER").record,
        "default": Caller().silence().silence().silence().silence().dialled("ANSWER").record,
        "abandoned_asking": Caller().hang_up().record,
        "abandoned_confirming": Caller().say("Opmeer", decision="confirm").hang_up().record,
        "abandoned_menu": Caller().silence().silence().hang_up().record,
        "hung_up_in_transfer": Caller().say("Hoorn").dialled("CANCEL").record,
        "overflow": Caller().say("Hoorn").dialled("BUSY", overflow="ANSWER").record,
        "trunk_failed": Caller("14020").dialled("CHANUNAVAIL").record,
        "rejected_number": Caller("1499").record,
        "not_served": Caller("14015").record,
    }


def like_2020(started_at: float = T0) -> list[CallRecord]:
    """100 calls on 0229 that reproduce the 2020 evaluation: 85 recognised the first time,
    10 after one repeat, 3 after two, 2 by keypad; 5 of the 100 transfers hung up while ringing.
    Spread over 5 days (20 a day); time to transfer 4 s for the first-time calls, 9 s otherwise.
    Three spoken attempts, as a third name is needed for "after more repeats"."""
    service = dataclasses.replace(SERVICE, listen=dataclasses.replace(SERVICE.listen, attempts=3))
    calls = []
    for i in range(100):
        caller = Caller(caller=f"06{i % 40:08d}", started_at=started_at + (i % 5) * DAY,
                        timings={Timing.ANSWER_TO_INVITE: 4000.0 if i < 85 else 9000.0}, service=service)
        if i < 85:
            caller.say("Hoorn" if i % 2 else "Medemblik")
        elif i < 95:
            caller.mumble("eh").say("Koggenland")
        elif i < 98:
            caller.mumble("eh").mumble("ehm").say("Opmeer")
        else:
            caller.mumble("eh").mumble("ehm").mumble("hm").key("1")
        calls.append(caller.dialled("CANCEL" if i % 20 == i // 20 else "ANSWER").record)  # one a day
    return calls


class RecordSink:
    """Stands in for the RecordWriter: keeps what the adapters write."""

    def __init__(self):
        self.written = []

    def write(self, record):
        self.written.append(record)


class FakeSpeech:
    """Answers by the utterance's length, so a test can tell which audio an answer came from."""

    def __init__(self, answers: dict[int, str | None], idle: bool = True, busy: bool = False):
        self.answers = answers
        self.idle = idle
        self.busy = busy
        self.heard: list[int] = []
        self.finished: list[int] = []  # heard and not abandoned on the way

    async def recognize(self, spoken, area_code, ended=None):
        self.heard.append(len(spoken.samples))
        # The worker's time, the scenario itself (no wait for anything): long enough for the
        # caller to speak on or hang up meanwhile, and one started first finishes first.
        await anyio.sleep(0.05)
        self.finished.append(len(spoken.samples))
        municipality = self.answers[len(spoken.samples)]
        if municipality is None:  # speech that names nothing
            return Recognition.rejected("no_name")
        return Recognition("", (Candidate(municipality, 0.999, municipality),), "accept", municipality, "match")


class StandIn:
    """A `Channel` whose prompts end at once; it notes what the session asks for."""

    def __init__(self, session: Session):
        self.session = session
        self.listening: cf.Listen | None = None
        self.asked = anyio.Event()
        self.transfers: list[str] = []

    async def play(self, action):
        self.session.post(cf.PromptDone(action.play_id))

    async def stop_playback(self):
        pass

    async def listen(self, action):
        self.listening = action
        self.asked.set()

    async def stop_listening(self):
        pass

    async def transfer(self, action, variables):
        self.transfers.append(action.municipality)
        return False

    async def hangup(self, variables=()):
        pass

    async def answer(self):
        pass

    async def refuse(self, variables):
        pass

    async def fallback(self):
        pass

    async def close(self):
        pass


def converse(speech, script, session: Session | None = None) -> StandIn:
    """Run a call to 0229 through a real session (`session`, or one hearing through `speech`)
    and, once it asks for a name, `script(session, channel)`; returns the channel once the
    session has ended."""
    session = session or Session(CallFlow(SERVICE, "140229"), CallServices(speech), StandIn, lambda _: None)
    channel = session.channel

    async def main():
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tasks:  # until the session has ended
                tasks.start_soon(session.run)
                await channel.asked.wait()
                script(session, channel)

    anyio.run(main)
    return channel


def cut(samples: np.ndarray) -> Spoken:
    """The samples as an endpointer cuts an utterance, all of them speech."""
    return Spoken(samples, (0, len(samples)))


def utterance(n: int) -> Spoken:
    return cut(np.zeros(n, np.int16))
