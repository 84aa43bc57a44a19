"""What the two call-handling commands (`run` for ARI, `agi` for FastAGI) share: logging, the
speech model loaded before the first call, the record writer, the metrics endpoint, and
what the signals do:

- SIGHUP reloads the configuration (and the grammars). A broken file changes nothing: its
  errors are logged with file and line and the configuration in force stays.
- SIGTERM or Ctrl-C stops taking new calls (they meet the dialplan's keypad fallback), lets
  the calls in progress finish their conversation for up to DRAIN_S, then stops; whatever is
  still in the app then goes to the fallback too. A second signal stops at once.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio

from .. import asterisk, logformat, paths
from ..config import Service, load_service
from ..errors import ConfigError, ConfigErrors
from ..session import CallServices
from ..speech import policy
from ._common import configured

log = logging.getLogger("fourteenplus")
METRICS_HOST = "127.0.0.1"
# Longer than a conversation takes (question, a repeat, the menu); a transfer ends one at once.
DRAIN_S = 30.0
DRAIN_POLL_S = 0.1


def logging_a_crash(serve: Callable[[], int]) -> int:
    """`serve()`, with an error nobody handled logged at CRITICAL (its traceback too) rather than
    left to Python's own print: under systemd that reaches the journal with its priority, so
    `journalctl -p err -u fourteenplus` shows why the app stopped (a model that will not load,
    say), and the unit's restart follows the exit status 1."""
    try:
        return serve()
    except Exception:
        log.critical("stopped on an error nothing handled", exc_info=True)
        return 1


def add_serving_options(parser, metrics_port: int) -> None:
    parser.add_argument("--metrics-port", type=int, default=metrics_port, metavar="PORT",
                        help=f"Prometheus /metrics on 127.0.0.1:PORT (default {metrics_port}; 0: off)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every call's steps")
    parser.add_argument("--log-format", choices=tuple(logformat.FORMATTERS), default="text",
                        help="text for a terminal; logfmt or json, one parseable line each, for a NOC "
                             "(one line per call decision at INFO)")


def prepare(args):
    """Logging set up and the configuration loaded; None once its errors are printed."""
    setup_logging(args.verbose, args.log_format)
    loaded = configured(args)
    return loaded[0] if loaded else None


def setup_logging(verbose: bool, log_format: str = "text") -> None:
    logformat.setup(log_format)
    logging.getLogger("fourteenplus").setLevel(logging.DEBUG if verbose else logging.INFO)
    # asyncari warns about every event type it has no class for; those are not our problem.
    logging.getLogger("asyncari").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)


@asynccontextmanager
async def call_services(service, metrics_port: int, listener: str) -> AsyncIterator[CallServices]:
    """`listener` names the readiness check the adapter gives once it takes calls ("ari", "agi")."""
    from ..grammar import load_grammars
    from ..metrics import Metrics
    from ..records import AudioArchive, RecordWriter
    from ..records.history import CallerHistory
    from ..speech.service import SpeechService

    metrics = Metrics()
    speech = SpeechService(load_grammars(service.directory), service.thresholds, service.listen.deadline,
                           on_shed=metrics.recognition_shed, workers=service.speech.workers)
    await speech.start()  # seconds: done before the first call, never during one
    records = RecordWriter(service.records, on_failure=metrics.record_write_failed, on_lost=metrics.record_lost)
    metrics.watch_spool(records.spool_depth)
    metrics.ready_when("model", lambda: speech.startup_seconds is not None)
    metrics.ready_when("records", lambda: not records.losing)
    metrics.ready_when(listener, None)
    server = await metrics.serve(METRICS_HOST, metrics_port) if metrics_port else None
    history = CallerHistory(service.records, records.hasher) if records.hasher else None
    try:
        yield CallServices(speech, records, metrics, records.hasher, AudioArchive(service.records), history)
    finally:
        if server is not None:
            server.close()
        if history is not None:
            history.close()
        records.close()
        speech.close()


@dataclass
class Adapter:
    """What the signals need from the ARI app or the FastAGI server."""
    stop_taking_calls: Callable[[], None]
    calls_in_progress: Callable[[], int]
    use: Callable[[Service], Awaitable[None]]  # the configuration for calls from now on
    # The Asterisk whose generated dialplan and prompts follow the configuration ("/" for the
    # operator's own); None when this app does not know one (see `asterisk_root`).
    asterisk_root: Path | None = None


def add_asterisk_root_option(parser) -> None:
    parser.add_argument("--asterisk-root", metavar="DIR",
                        help="the root the Asterisk serving these calls runs in, whose generated dialplan and "
                             "prompts every reload keeps in step (default: the bundled root if built, else /)")


def asterisk_root(args) -> Path:
    if args.asterisk_root:
        return Path(args.asterisk_root)
    bundled = paths.asterisk_root()
    return bundled if (bundled / "usr/sbin/asterisk").exists() else Path("/")


def in_step_at_start(service: Service, root: Path) -> Path | None:
    """Before the first call: the Asterisk in `root` generated from this configuration. Returns
    the root when it holds our configuration (None: not ours, nothing to keep in step). Raises
    AsteriskError when its files cannot be written; an Asterisk that does not answer yet reads
    them when it starts."""
    if not asterisk.ours(service, root):
        log.warning("no fourteenplus configuration in the Asterisk at %s: a reload that changes the keypad menus "
                    "or prompts will be refused (--asterisk-root names it)", root)
        return None
    try:
        asterisk.bring_in_step(service, root, log=log.info)
    except asterisk.AsteriskError as exc:
        if asterisk.out_of_step(service, root):
            raise
        log.warning("the generated dialplan is written, but %s; Asterisk reads it when it starts", exc)
    return root


async def handle_signals(tasks: anyio.abc.TaskGroup, service: Service, services: CallServices,
                         adapter: Adapter, drain_s: float = DRAIN_S,
                         *, task_status: anyio.abc.TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
    """Runs in `tasks` until a stop signal has drained the calls; then cancels `tasks`. Start
    it with `tasks.start` before saying "ready": until its receiver is installed a SIGHUP
    would end the process (its default action)."""
    draining = False
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        task_status.started()
        async for signum in signals:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                service = await reload(service, services, adapter) or service
            elif draining:
                log.info("%s again: stopping now", name)
                break
            else:
                draining = True
                log.info("%s: no new calls; %d in progress may finish (at most %g s)",
                         name, adapter.calls_in_progress(), drain_s)
                adapter.stop_taking_calls()
                tasks.start_soon(_drain, tasks.cancel_scope, adapter, drain_s)
    tasks.cancel_scope.cancel()


async def _drain(scope: anyio.CancelScope, adapter: Adapter, drain_s: float) -> None:
    started = time.monotonic()
    with anyio.move_on_after(drain_s):
        while adapter.calls_in_progress():
            await anyio.sleep(DRAIN_POLL_S)
    left = adapter.calls_in_progress()
    log.info("stopping after %.1f s%s", time.monotonic() - started,
             f"; {left} calls go to the keypad fallback" if left else ": no calls left")
    scope.cancel()


async def reload(service: Service, services: CallServices, adapter: Adapter) -> Service | None:
    """The configuration from the same file, in force for new calls; None (logged) if broken."""
    from ..grammar import load_grammars

    def load():
        new = load_service(service.source)
        policy.check()  # $FOURTEENPLUS_POLICY's file may have been replaced since the start
        return new, load_grammars(new.directory)

    try:
        new, grammars = await anyio.to_thread.run_sync(load)
    except (ConfigError, ConfigErrors, policy.PolicyError) as exc:
        for error in exc.errors if isinstance(exc, ConfigErrors) else [exc]:
            log.error("reload: %s", error)
        log.error("reload: the configuration is broken; the one loaded before stays in force")
        if services.metrics:
            services.metrics.config_reloaded(ok=False)
        return None
    if not await _generated_in_step(service, new, adapter.asterisk_root):
        if services.metrics:
            services.metrics.config_reloaded(ok=False)
        return None
    services.speech.reconfigure(grammars, new.thresholds, new.listen.deadline)
    await adapter.use(new)
    if new.records != service.records:
        log.warning("reload: the records settings change only when the app restarts")
    if new.speech != service.speech:
        log.warning("reload: the speech settings change only when the app restarts")
    if services.metrics:
        services.metrics.config_reloaded(ok=True)
    log.info("reload: %s in force for new calls (%d area codes answered)", new.source, len(new.areas))
    return new


async def _generated_in_step(old: Service, new: Service, root: Path | None) -> bool:
    """Bring the Asterisk's generated dialplan and prompts in step with `new` before it takes a
    call (the menu's prompt, the app's keys and the fallback's keys must name the same
    municipalities); False, logged, when that cannot be done, with `old`'s files put back."""
    if root is None:
        if not asterisk.generated_differs(old, new):
            return True
        log.error("reload: the keypad menus, prompts or fallback dialplan change, and this app knows no Asterisk "
                  "of ours to regenerate them in (--asterisk-root); the configuration loaded before stays in force")
        return False
    try:
        await anyio.to_thread.run_sync(partial(asterisk.bring_in_step, new, root, log=log.info))
        return True
    except asterisk.AsteriskError as exc:
        log.error("reload: %s; the configuration loaded before stays in force", exc)
    try:
        await anyio.to_thread.run_sync(partial(asterisk.bring_in_step, old, root, log=log.info))
    except asterisk.AsteriskError as exc:
        log.error("reload: the generated files could not be put back either (%s): run `fourteenplus asterisk "
                  "install` with the configuration in force", exc)
    return False
