"""The speech service's bookkeeping, without a model: a stand-in recogniser that takes its time."""

import asyncio
import time

import numpy as np

from fourteenplus.config import DEFAULTS, Thresholds
from fourteenplus.speech import Recognition
from fourteenplus.speech.service import SpeechService


class Slow(SpeechService):
    seconds = 0.3

    def recognize_now(self, samples, area_code, primed=True):
        time.sleep(self.seconds if primed else self.seconds * 0.4)
        return Recognition("", (), "reject", None, "low_confidence", {"primed": float(primed), "score_ms": 1.0})


def test_the_worker_counts_as_busy_until_a_late_utterance_is_finished():
    # Past the deadline the caller is asked again, but the worker still computes: an early
    # recognition started then would queue behind it (and under load, feed the overload).
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline_ms=50)

    async def main():
        assert service.idle
        result = await service.recognize(np.zeros(8000, np.int16), "0229")
        busy_after_deadline = not service.idle
        await asyncio.sleep(0.4)
        return result, busy_after_deadline, service.idle

    result, busy_after_deadline, idle_later = asyncio.run(main())
    service.close()
    assert result.reason == "timeout"
    assert busy_after_deadline and idle_later


def test_an_utterance_that_queued_too_long_for_the_full_recognition_gets_the_unprimed_one():
    shed = []
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline_ms=1000,
                   on_shed=lambda: shed.append(1))
    service.seconds = service._full_seconds = 0.45  # what the worker has measured a full one to take

    async def main():
        # Three callers finish speaking at once. The second waits 0.45 s, leaving 0.55 s of its
        # deadline, less than a slow full recognition (1.5 × 0.45 s): unprimed, and quicker,
        # so the third is in time too.
        return await asyncio.gather(*(service.recognize(np.zeros(8000, np.int16), "0229") for _ in range(3)))

    burst = asyncio.run(main())
    service.close()
    assert [r.timings["primed"] for r in burst] == [1.0, 0.0, 0.0]
    assert burst[0].timings["queued_ms"] < 100 < 400 < burst[1].timings["queued_ms"]
    assert len(shed) == 2 and all(r.reason == "low_confidence" for r in burst)  # none timed out


def test_a_reply_is_never_shed():
    shed = []
    service = Slow(grammars=None, thresholds=Thresholds(**DEFAULTS["thresholds"]), deadline_ms=400,
                   on_shed=lambda: shed.append(1))

    async def main():
        return await asyncio.gather(*(service._run(np.zeros(8000, np.int16), "reply", "slin") for _ in range(2)))

    results = asyncio.run(main())
    service.close()
    assert results[0].timings["primed"] == 1.0 and not shed
