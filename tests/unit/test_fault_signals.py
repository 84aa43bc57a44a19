"""What SIGHUP and SIGTERM do to a serving app (`commands._serving`), with real signals sent
to this process: a broken reload keeps the configuration in force; a stop lets the calls in
progress finish while new ones go to the fallback."""

from __future__ import annotations

import logging
import os
import signal
import time

import anyio
import pytest

from fourteenplus.commands import _serving
from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.metrics import Metrics
from fourteenplus.session import CallServices

from ..waiting import until


class FakeSpeech:
    def __init__(self):
        self.configured = []

    def reconfigure(self, grammars, thresholds, deadline):
        self.configured.append((thresholds, deadline))


class FakeAdapter:
    def __init__(self, calls: int = 0):
        self.calls = calls
        self.taking_calls = True
        self.services = []
        self.counted = 0  # how often the app has asked for the calls in progress

    def adapter(self) -> _serving.Adapter:
        return _serving.Adapter(self.stop, self.calls_in_progress, self.use)

    def calls_in_progress(self) -> int:
        self.counted += 1
        return self.calls

    def stop(self):
        self.taking_calls = False

    async def use(self, service):
        self.services.append(service)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "service.yaml"
    path.write_text(EXAMPLE.read_text())
    return path


def run_with_signals(service, speech, fake, script, drain_s=_serving.DRAIN_S, metrics=None) -> float:
    """Run handle_signals while `script` (an async function) sends signals; the seconds it ran."""
    async def main():
        with anyio.fail_after(10):  # a stop that never comes fails the test instead of hanging it
            async with anyio.create_task_group() as tasks:
                # started: its signal receiver is installed
                await tasks.start(_serving.handle_signals, tasks, service, CallServices(speech, metrics=metrics),
                                  fake.adapter(), drain_s)
                await script()
                await anyio.sleep_forever()  # ended by handle_signals cancelling the group

    started = time.monotonic()
    anyio.run(main)
    return time.monotonic() - started


class ReloadsSeen(Metrics):
    """The app's metrics, which also tell the test once a reload has been judged."""

    def __init__(self):
        super().__init__()
        self.judged: anyio.Event | None = None

    def config_reloaded(self, ok: bool) -> None:
        super().config_reloaded(ok)
        if self.judged is not None:
            self.judged.set()


def reload_to(config, accept: str):
    """Write `accept: <accept>` into the file, SIGHUP, and SIGTERM once the reload is judged:
    (service before, speech, adapter, metrics)."""
    service = load_service(config)
    speech, fake, metrics = FakeSpeech(), FakeAdapter(), ReloadsSeen()

    async def script():
        metrics.judged = anyio.Event()
        config.write_text(config.read_text().replace("accept: 0.99", f"accept: {accept}"))
        os.kill(os.getpid(), signal.SIGHUP)
        await metrics.judged.wait()
        os.kill(os.getpid(), signal.SIGTERM)

    run_with_signals(service, speech, fake, script, metrics=metrics)
    return service, speech, fake, metrics


def test_fault_reload_with_broken_yaml_keeps_the_configuration_and_names_the_line(config, caplog):
    with caplog.at_level(logging.INFO, logger="fourteenplus"):
        _, speech, fake, metrics = reload_to(config, "[oops")
    assert 'fourteenplus_config_reloads_total{result="failed"} 1' in metrics.render()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(m.startswith(f"reload: {config}:") for m in errors), errors
    assert any("stays in force" in m for m in errors)
    assert fake.services == [] and speech.configured == []


def test_fault_reload_with_good_yaml_puts_new_thresholds_in_force(config):
    service, speech, fake, metrics = reload_to(config, "0.91")
    assert 'fourteenplus_config_reloads_total{result="ok"} 1' in metrics.render()
    assert [s.thresholds.accept for s in fake.services] == [0.91]
    assert speech.configured == [(fake.services[0].thresholds, service.listen.deadline)]


def test_fault_sigterm_lets_calls_in_progress_finish_and_takes_no_new_ones(config):
    fake = FakeAdapter(calls=2)
    seen = {}

    async def still_counting(what: str) -> None:
        """Until the drain has counted the calls twice more and not stopped: it would have
        cancelled this script with the app."""
        counted = fake.counted
        await until(lambda: fake.counted >= counted + 2, what)

    async def script():
        os.kill(os.getpid(), signal.SIGTERM)
        await still_counting("the drain to count the two calls")
        seen["taking_calls"] = fake.taking_calls
        fake.calls = 1
        await still_counting("the drain to count the one call left")
        seen["still_running_with_a_call"] = True
        fake.calls = 0  # the last call transferred: the app stops within a poll

    run_with_signals(load_service(config), FakeSpeech(), fake, script)
    assert seen == {"taking_calls": False, "still_running_with_a_call": True}


def test_fault_sigterm_stops_after_the_drain_time_even_with_calls_left(config):
    fake = FakeAdapter(calls=3)

    async def script():
        os.kill(os.getpid(), signal.SIGTERM)

    took = run_with_signals(load_service(config), FakeSpeech(), fake, script, drain_s=0.5)
    assert fake.calls == 3 and not fake.taking_calls
    assert took < 5


def test_fault_second_sigterm_stops_at_once(config):
    fake = FakeAdapter(calls=1)

    async def script():
        os.kill(os.getpid(), signal.SIGTERM)
        await until(lambda: not fake.taking_calls, "the first SIGTERM to stop new calls")
        os.kill(os.getpid(), signal.SIGTERM)

    took = run_with_signals(load_service(config), FakeSpeech(), fake, script, drain_s=60)
    assert fake.calls == 1 and took < 5
