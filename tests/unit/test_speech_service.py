"""The speech service's bookkeeping, without a model: a stand-in recogniser that takes its time."""

import asyncio
import time

import numpy as np

from fourteenplus.config import DEFAULTS, Thresholds
from fourteenplus.speech import Recognition
from fourteenplus.speech.service import SpeechService


class Slow(SpeechService):
    def recognize_now(self, samples, area_code):
        time.sleep(0.3)
        return Recognition.rejected("low_confidence")


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
