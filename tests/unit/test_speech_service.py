"""The speech service's bookkeeping, without a model: a stand-in recogniser that takes its time.

The stand-in's stages take real time on purpose: deadlines are what is tested. The tests
never sleep to let the worker get somewhere; they wait for what it counts (`until`)."""

import asyncio
import math
import threading
import time
from functools import partial

from fourteenplus.config import DEFAULTS, EXAMPLE, Thresholds, load_service
from fourteenplus.speech import Recognition
from fourteenplus.speech.deadline import Deadline
from fourteenplus.speech.service import Abandoned, Answer, SpeechService

from ..waiting import until
from .scripted_calls import utterance


class Slow(SpeechService):
    """Takes its time in three stages, and stops between them once abandoned, as the real one does."""
    seconds = 0.3

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stages = 0  # stages run, over every utterance
        self.taken: list[int] = []  # each utterance's length, in the order a worker took it

    def _stages(self, seconds, abandoned):
        for _ in range(3):
            if abandoned is not None and abandoned.is_set():
                raise Abandoned
            self.stages += 1
            time.sleep(seconds / 3)  # the stage's work: what the deadlines are measured against

    def recognize_now(self, spoken, area_code, primed=True, abandoned=None):
        self.taken.append(len(spoken.samples))
        self._stages(self.seconds if primed else self.seconds * 0.4, abandoned)
        return Recognition("", (), "reject", None, "low_confidence", {"primed": float(primed), "score_ms": 1.0})

    def reply_now(self, spoken, abandoned=None, area_code=None, asked=None):
        self.taken.append(len(spoken.samples))
        self._stages(self.seconds, abandoned)
        return Answer(None, None, 0.0, timings={"score_ms": 1.0})


def occupy(service, seconds):
    """A worker busy for `seconds` with work the service does not count (another caller's, as
    far as the utterances under test know), taken before anything waiting."""
    return service._workers.submit(partial(time.sleep, seconds), -math.inf)


def gated(service):
    """Every worker held until the event is set, by work the service does not count: what is
    submitted meanwhile waits, in the order the workers will take it."""
    gate = threading.Event()
    for _ in range(service.workers):
        service._workers.submit(gate.wait, -math.inf)
    return gate


def test_the_worker_counts_as_busy_until_a_late_utterance_is_finished():
    # Past the deadline the caller is asked again, but the worker still computes: an early
    # recognition started then would queue behind it (and under load, feed the overload).
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(50, 8000))

    async def main():
        assert service.idle
        result = await service.recognize(utterance(8000), "0229")
        busy_after_deadline = not service.idle
        await until(lambda: service.idle, "the worker to finish the late utterance")
        return result, busy_after_deadline

    result, busy_after_deadline = asyncio.run(main())
    service.close()
    assert result.reason == "timeout"
    assert busy_after_deadline


def test_past_its_deadline_an_utterance_stops_at_its_next_stage():
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(300, 8000))
    service.seconds = 0.6  # stages of 0.2 s: the deadline falls in the middle of the second

    async def main():
        answer = await service.reply(utterance(8000))  # a reply: never shed to a quicker form
        await until(lambda: service.idle, "the worker to give up the abandoned reply")
        return answer

    answer = asyncio.run(main())
    service.close()
    assert answer.timings == {"deadline_ms": 300}
    assert service.stages == 2, "the stage under way at the deadline finished; the last never started"


def test_a_cancelled_recognition_frees_the_worker_for_the_next_utterance():
    # A recognition started at a pause, superseded because the caller spoke on.
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(5000, 8000))
    service.seconds = 0.6  # stages of 0.2 s

    async def main():
        early = asyncio.ensure_future(service.recognize(utterance(8000), "0229"))
        await until(lambda: service.stages == 1, "the worker to start the early recognition")
        early.cancel()
        return await service.recognize(utterance(9000), "0229")

    result = asyncio.run(main())
    service.close()
    assert result.timings["queued_ms"] < 400, "it waited for one stage of the abandoned one, not all three"
    assert service.stages == 1 + 3


def test_under_load_utterances_get_the_unprimed_recognition():
    shed = []
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(1500, 8000),
                   on_shed=lambda: shed.append(1))
    service.seconds = service._full_seconds = 0.45  # what the worker has measured a full one to take

    async def main():
        alone = await service.recognize(utterance(8000), "0229")
        # Three callers finish speaking while the worker is busy: the first two start with
        # others behind them (unprimed, quicker, so all three are in time); the last has none
        # behind and 1.5 - 0.1 - 2 × 0.18 s left, enough for a slow full one.
        busy = occupy(service, 0.1)  # the worker busy with another caller for 0.1 s
        burst = await asyncio.gather(*(service.recognize(utterance(8000), "0229") for _ in range(3)))
        busy.result()
        # The last of a burst that waited too long for a full one: unprimed too.
        service.seconds = service._full_seconds = 0.6
        occupy(service, 0.7)  # and now for 0.7 s
        late = await service.recognize(utterance(8000), "0229")
        return alone, burst, late

    alone, burst, late = asyncio.run(main())
    service.close()
    assert alone.timings["primed"] == 1.0 and alone.timings["queued_ms"] < 100
    assert [r.timings["primed"] for r in burst] == [0.0, 0.0, 1.0]
    assert burst[2].timings["queued_ms"] > 400
    assert late.timings["primed"] == 0.0 and late.timings["queued_ms"] > 600
    assert len(shed) == 3 and all(r.reason == "low_confidence" for r in (*burst, late))  # none timed out


def test_a_reply_is_never_shed():
    shed = []
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(400, 8000),
                   on_shed=lambda: shed.append(1))

    async def main():
        return await asyncio.gather(*(service.reply(utterance(8000)) for _ in range(2)))

    results = asyncio.run(main())
    service.close()
    assert all("score_ms" in r.timings for r in results) and not shed


def test_time_queued_behind_other_callers_is_not_counted_against_the_caller():
    # The second caller waits 0.3 s for the first, then takes 0.3 s: past a 0.4 s deadline
    # from the end of their words, within it from when the worker took them. They are heard
    # late, not turned into a timeout that asks them again.
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(400, 8000))
    service.seconds = 0.75  # 0.3 s unprimed, as both are under load

    async def main():
        return await asyncio.gather(*(service.recognize(utterance(8000), "0229") for _ in range(2)))

    first, second = asyncio.run(main())
    service.close()
    assert first.reason == second.reason == "low_confidence"
    assert second.timings["queued_ms"] > 250 and service.stages == 6


def test_fault_an_utterance_whose_caller_has_gone_is_never_started():
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(1500, 8000))

    async def main():
        first = asyncio.ensure_future(service.recognize(utterance(8000), "0229"))
        gone = asyncio.ensure_future(service.recognize(utterance(8000), "0229"))
        await until(lambda: service.stages == 1, "both submitted, the first in the worker")
        gone.cancel()  # the caller hung up while queued
        await first
        await asyncio.wait([gone])
        return gone.cancelled()

    cancelled = asyncio.run(main())
    service.close()
    assert cancelled and service.stages == 3 and service.idle


def test_admission_the_service_is_busy_while_its_queue_would_keep_a_new_caller_waiting_too_long():
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]),
                   deadline=Deadline(1500, 8000, busy_wait_ms=500))
    service._work_seconds = service.seconds = 0.3

    async def main():
        burst = [asyncio.ensure_future(service.recognize(utterance(8000), "0229")) for _ in range(3)]
        await until(lambda: service.stages == 1, "all three submitted, the first in the worker")
        during = service.expected_wait_s, service.busy
        await asyncio.gather(*burst)
        return during, service.busy

    (wait_s, busy_during), busy_after = asyncio.run(main())
    service.close()
    assert wait_s > 0.5 and busy_during and not busy_after
    assert not Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=None).busy


def test_one_deadline_policy_for_the_service_and_the_flow():
    deadline = Deadline(1500, 8000)
    # A full recognition averaging 0.45 s fits while 1.5 × that is left of the 1.5 s.
    assert deadline.primed_fits(queued_s=0.8, full_s=0.45)
    assert not deadline.primed_fits(queued_s=0.9, full_s=0.45)
    # The flow's backstop from the start of speech: the longest utterance and its recognition,
    # the longest wait a caller is admitted with, and the slack for a cut-off utterance's
    # answer to arrive first.
    assert deadline.speech_ms == 10000
    assert Deadline(1500, 8000, busy_wait_ms=3000).speech_ms == 13000
    # Without a bound (the CLI, the benches) everyone is heard.
    assert deadline.admits(60.0)
    assert Deadline(1500, 8000, busy_wait_ms=3000).admits(3.0)
    assert not Deadline(1500, 8000, busy_wait_ms=3000).admits(3.1)
    listen = load_service(EXAMPLE).listen
    assert listen.deadline == Deadline(listen.recognition_deadline_ms, listen.max_speech_ms,
                                       busy_wait_ms=listen.busy_wait_ms)


def test_waiting_utterances_are_taken_by_when_they_ended_not_when_they_arrived():
    # Under a burst the event loop gets round to submitting an utterance later than its caller
    # stopped speaking, and not in that order: the caller who stopped first is heard first,
    # a reply (short) as a name, with no head start (`SpeechService.reply`).
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(5000, 8000))
    service.seconds = 0.03

    async def main():
        gate = gated(service)
        now = time.monotonic()
        arrivals = [  # (samples, ended seconds ago), in the order they are submitted
            service.recognize(utterance(8001), "0229", ended=now - 0.2),
            service.reply(utterance(8002), ended=now - 0.1),
            service.recognize(utterance(8003), "0229"),  # no end given: when it is submitted
            service.department(utterance(8004), (("paspoort", "Burgerzaken"),), ended=now - 0.3),
            service.recognize(utterance(8005), "0229", ended=now - 0.4),
        ]
        jobs = [asyncio.ensure_future(arrival) for arrival in arrivals]
        await until(lambda: service._pending == len(jobs), "all five submitted, none taken")
        gate.set()
        await asyncio.gather(*jobs)

    service.department_now = lambda spoken, phrases, abandoned=None: service.recognize_now(spoken, "0229")
    asyncio.run(main())
    service.close()
    assert service.taken == [8005, 8004, 8001, 8002, 8003]


def test_with_two_workers_a_name_is_shed_only_when_it_leaves_another_waiting_for_a_worker():
    shed = []
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(5000, 8000),
                   on_shed=lambda: shed.append(1), workers=2)

    async def burst(count):
        gate = gated(service)
        jobs = [asyncio.ensure_future(service.recognize(utterance(8000), "0229")) for _ in range(count)]
        await until(lambda: service._pending == count, f"{count} submitted, none taken")
        gate.set()
        return [result.timings["primed"] for result in await asyncio.gather(*jobs)]

    async def main():
        return await burst(2), await burst(3)

    two, three = asyncio.run(main())
    service.close()
    assert two == [1.0, 1.0], "a worker each: nobody waits, so both are primed (one worker sheds the first)"
    # Two taken while the third waits: both shed; the third, taken when one is done, waits for
    # nobody.
    assert three == [0.0, 0.0, 1.0] and len(shed) == 2


def test_admission_counts_the_workers():
    # Two workers get through a queue twice as fast: five utterances, two taken and three
    # waiting, keep a new caller waiting (5 - 2 + 1) × 0.3 s / 2 = 0.6 s, past 0.5 s;
    # three, 0.3 s (one worker: 0.9 s).
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]),
                   deadline=Deadline(5000, 8000, busy_wait_ms=500), workers=2)
    service._work_seconds = service.seconds = 0.3

    async def main():
        gate = gated(service)
        jobs = [asyncio.ensure_future(service.recognize(utterance(8000), "0229")) for _ in range(3)]
        await until(lambda: service._pending == 3, "three submitted")
        three = service.expected_wait_s, service.busy, service.idle
        jobs += [asyncio.ensure_future(service.recognize(utterance(8000), "0229")) for _ in range(2)]
        await until(lambda: service._pending == 5, "five submitted")
        five = service.expected_wait_s, service.busy
        gate.set()
        await asyncio.gather(*jobs)
        return three, five

    (wait_3, busy_3, idle_3), (wait_5, busy_5) = asyncio.run(main())
    service.close()
    assert math.isclose(wait_3, 0.3) and not busy_3 and not idle_3
    assert math.isclose(wait_5, 0.6) and busy_5
    assert service.idle and not service.busy


def test_full_recognitions_the_deadline_cuts_short_teach_the_estimate_until_names_are_shed():
    """A node where every full recognition runs past the deadline (a national number's search
    under load): each one abandoned raises the estimate, so names soon get the unprimed
    recognition, in time, instead of timing out one after another."""
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline=Deadline(600, 8000))
    service.seconds = 1.2  # a full one: stages of 0.4 s, past the 0.6 s deadline; an unprimed one 0.48 s
    service._full_seconds = 0.3  # what the worker believes

    async def main():
        results = []
        for _ in range(4):
            results.append(await service.recognize(utterance(8000), "0229"))
            await until(lambda: service._pending == 0, "the worker to stop the abandoned one")
        return results

    results = asyncio.run(main())
    service.close()
    assert results[0].reason == "timeout"
    assert results[-1].reason == "low_confidence" and results[-1].timings["primed"] == 0.0


def test_the_no_name_gate_stands_where_a_name_is_first_heard_and_nowhere_else():
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.numberplan import NATIONAL
    from fourteenplus.speech.policy import Policy

    service = SpeechService(load_grammars(load_directory()), Thresholds(**DEFAULTS["thresholds"]))
    assert service.matcher("0229", primed=False).gate == Policy.load("gate")
    # Speech it stops is never primed; ja/nee and departments are answers, sentences or not.
    assert service.matcher("0229").gate is None and service.reply_matcher().gate is None
    assert service.department_matcher((("paspoort", "Burgerzaken"),)).gate is None
    assert service.matcher("0229", primed=False, neutral=True).gate is None  # evidence for `bench fit`
    assert service.matcher(NATIONAL, primed=False).gate is None  # not fitted on a national number's callers


def test_the_gates_doubt_stays_with_a_name_the_primed_step_decides():
    """The gate weighs a take where it is first heard, unprimed; when the primed step decides
    the name, the call flow still gets the gate's P(no name) of that take."""
    from types import SimpleNamespace

    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.speech.recognizer import Heard

    class Ear:
        """Hears every clip as the same garbled words, a town weakly among them."""
        tuning = SimpleNamespace(search_beam=0)
        primed: list[str] = []

        def score(self, clip, shortlist):
            return Heard(clip.transcript, True, {"Hoorn": -6.0, "Opmeer": -9.0}, seconds=1.2)

        def prime(self, clip, prompt):
            self.primed.append(prompt)

    service = SpeechService(load_grammars(load_directory()), Thresholds(**DEFAULTS["thresholds"]))
    service._recognizer = ear = Ear()
    clip = SimpleNamespace(transcript="Je bent aan de beman tev")
    unprimed = service.matcher("0229", primed=False).decide(ear.score(clip, None), 0.99, 0.10)
    result = service._name(clip, "0229", True, None)
    assert ear.primed, "the primed step decided"
    assert unprimed.no_name is not None and result.no_name == unprimed.no_name
