"""The recognition workers: N threads that take utterances by deadline, not by arrival.

Each utterance is submitted with the moment what it holds ended (the endpointer's end, or the
pause an early recognition started at); a free worker takes the one that ended first. A
plain first-in-first-out pool takes them in the order the event loop got round to submitting
them, which under a burst of forty callers is not the order they stopped speaking in: the
caller who has waited longest is heard first, and nobody waits behind someone who stopped
speaking after them.

Work submitted here is plain blocking Python (CTranslate2 releases the GIL while it computes),
so N threads are N recognitions side by side; the model is loaded with as many replicas
(`model.load(workers=N)`).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from concurrent.futures import Future
from typing import Callable, TypeVar

T = TypeVar("T")


class Workers:
    """`submit(work, key)` → a future; the lowest key waiting is taken first (ties: by
    submission). `close()` cancels what has not started."""

    def __init__(self, count: int, name: str = "speech"):
        self.count = count
        self._queue: list[tuple[float, int, Future, Callable[[], object]]] = []
        self._order = itertools.count()  # ties in key: first submitted, first taken
        self._changed = threading.Condition()
        self._closed = False
        # Started with the first work, so a service that never recognises (a judge sharing
        # another's recogniser in `fourteenplus tune`) costs no threads. Daemons: an app or
        # bench that exits without closing the service is not held up by workers waiting for
        # work that will never come.
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{index}", daemon=True)
                         for index in range(count)]

    def submit(self, work: Callable[[], T], key: float) -> Future[T]:
        future: Future[T] = Future()
        with self._changed:
            if self._closed:
                raise RuntimeError("the recognition workers are closed")
            heapq.heappush(self._queue, (key, next(self._order), future, work))
            self._changed.notify()
            if self._threads[0].ident is None:  # not started yet
                for thread in self._threads:
                    thread.start()
        return future

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                _, _, future, work = heapq.heappop(self._queue)
            if not future.set_running_or_notify_cancel():  # cancelled while queued: never started
                continue
            try:
                result = work()
            except BaseException as error:  # the future carries it to whoever waits
                future.set_exception(error)
            else:
                future.set_result(result)

    def close(self) -> None:
        """Cancel what is queued; work under way finishes, and its worker then stops."""
        with self._changed:
            self._closed = True
            queued, self._queue = self._queue, []
            self._changed.notify_all()
        for _, _, future, _ in queued:
            future.cancel()
