"""Early recognition: the rule for starting to recognise an utterance before its end is certain.

The endpointer knows a caller has stopped only after a stretch of quiet (`vad.Settings`); at a
shorter pause (`vad` reports "pause") the utterance is often already whole. So at each pause
a recognition of what was said so far may start, and if the caller said no more, its answer
is the utterance's, ready sooner. The rule, for the session (which runs it) and the dialogue
bench's simulation (which times it) alike:

- at a pause, a recognition started at an earlier pause is void (the caller spoke on), and
  a new one starts only when the recogniser is idle (a worker free, nothing waiting): a busy
  one would only get more work;
- at the end, the last one started is the answer when the utterance has not grown since
  its pause (and the flow still listens as it did then); otherwise it is void, and the
  whole utterance is recognised now.

`Early` holds one utterance's state; what a recognition is (a task, a moment on a
simulated clock) is its user's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

Job = TypeVar("Job")


class Early(Generic[Job]):
    """The recognition started at the caller's last pause, if any, and what it heard."""

    def __init__(self) -> None:
        self._job: Job | None = None
        self._listen: object = None
        self._length = -1

    def paused(self, listen: object, length: int, idle: bool, start: Callable[[], Job]) -> Job | None:
        """The caller paused, `length` samples into the utterance, while the flow listens as
        `listen` says. Starts a recognition through `start` when the recogniser is `idle`;
        returns the one started at an earlier pause, now void (None: there was none)."""
        void, self._job = self._job, None
        if idle:
            self._job, self._listen, self._length = start(), listen, length
        return void

    def ended(self, listen: object, length: int, cut_off: bool = False) -> tuple[Job | None, Job | None]:
        """The utterance ended at `length` samples: (the recognition that is its answer, the
        one that is void); either or both None. Either way the state is cleared for the next
        utterance. One `cut_off` (`vad.Endpointer.cut_off`) is heard as its last seconds, not
        from its start as a pause heard it: no earlier recognition is its answer."""
        job, self._job = self._job, None
        if job is not None and self._listen is listen and self._length == length and not cut_off:
            return job, None
        return None, job
