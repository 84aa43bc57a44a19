"""The on-call runbook cannot rot: every alert has its section and points at it, every command
it gives parses with the CLI's own argument parser (or names a unit, a metric, a log text, an
endpoint the app really has), and every link lands. The `asterisk -rx` commands are run on a
real Asterisk in tests/integration/test_runbook.py."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fourteenplus import cli, metrics, units
from fourteenplus.metrics import Metrics

from .. import runbook
from .test_monitoring import rules, served_names

PACKAGE = Path(cli.__file__).parent
# Units the runbook may name: ours, as `install systemd` writes them, and what they stand beside.
OTHER_UNITS = {"asterisk", "postgresql", "kamailio"}
SYSTEMCTL_VERBS = {"status", "start", "restart", "reload", "reset-failed"}
PRIORITIES = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
# Every other program the runbook may tell the engineer to type; a new one is added here on purpose.
PLAIN_TOOLS = {"ls", "wc", "df", "du", "uptime", "nproc", "timedatectl", "pg_isready", "pip", "rm"}
ENDPOINTS = ("/metrics", "/healthz", "/readyz")


def our_units() -> set[str]:
    return {unit.name.removesuffix(".service") for unit in units.UNITS}


def source_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(PACKAGE.rglob("*.py")))


def test_the_runbook_gives_commands_to_check():
    """The parsing below found the commands (a page whose blocks it no longer reads checks nothing)."""
    programs = {words[0] for words in runbook.commands()}
    assert {"fourteenplus", "asterisk", "systemctl", "journalctl", "curl", "grep"} <= programs
    assert len(runbook.asterisk_commands()) >= 5


def test_every_fourteenplus_command_parses_with_the_clis_own_parser():
    """As `main` parses it, with an operator's wheel's commands only: the dev harness's
    (`bench`, `soak`, …) is not on a production node."""
    for words in (w for w in runbook.commands() if w[0] == "fourteenplus"):
        assert len(words) > 1 and words[1] in cli.COMMANDS, f"not an operator's command: {' '.join(words)}"
        _, parser = cli.command_parser(words[1], extra={})
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            try:
                parser.parse_args(words[2:])
            except SystemExit:
                pytest.fail(f"`{' '.join(words)}` does not parse: {errors.getvalue().strip()}")


def test_every_other_command_names_what_exists():
    served = served_names()
    source = source_text()
    for words in runbook.commands():
        program, args, shown = words[0], words[1:], " ".join(words)
        if program == "fourteenplus":
            continue  # the test above
        if program == "asterisk":
            assert args[:1] == ["-rx"] and len(args) == 2 and args[1].strip(), f"not `asterisk -rx \"…\"`: {shown}"
        elif program == "systemctl":
            assert args[0] in SYSTEMCTL_VERBS and len(args) == 2, shown
            assert args[1] in our_units() | OTHER_UNITS, f"no such unit: {shown}"
        elif program == "journalctl":
            for option, value in zip(args, args[1:]):
                if option == "-u":
                    assert value in our_units(), f"not one of our units: {shown}"
                if option == "-p":
                    assert value in PRIORITIES, shown
        elif program == "grep" and args[:1] == ["-F"]:
            assert args[1] in source, f"no log line of ours holds {args[1]!r}"
        elif program == "grep":
            assert args[0] in served, f"the app serves no series {args[0]!r}"
        elif program == "curl":
            url = urlsplit(args[-1])
            assert url.hostname == "127.0.0.1" and url.port in (metrics.DEFAULT_PORT, metrics.AGI_PORT), shown
            assert url.path in ENDPOINTS, shown
        else:
            assert program in PLAIN_TOOLS, f"a program the runbook does not check: {shown}"


def test_the_endpoints_it_reads_are_served():
    """Each endpoint the runbook's curl reads answers on a real metrics server (not 404)."""
    async def statuses() -> dict[str, int]:
        server = await Metrics().serve(port=0)
        host, port = server.sockets[0].getsockname()[:2]

        def get(path: str) -> int:
            try:
                with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code
        try:
            return {path: await asyncio.to_thread(get, path) for path in ENDPOINTS}
        finally:
            server.close()
            await server.wait_closed()

    read = {urlsplit(w[-1]).path for w in runbook.commands() if w[0] == "curl"}
    assert read == set(ENDPOINTS)
    assert all(status in (200, 503) for status in asyncio.run(statuses()).values())


def test_every_alert_has_its_section_and_points_at_it():
    headings = runbook.headings()
    for rule in rules():
        name = rule["alert"]
        assert name in headings, f"{name} has no section of its own"
        assert rule["annotations"]["runbook_url"] == f"runbook.md#{runbook.slug(name)}", name


def test_every_alert_and_series_the_runbook_names_is_real():
    page = runbook.text()
    alerts = {rule["alert"] for rule in rules()}
    named = set(re.findall(r"\bFourteenplus[A-Z]\w+", page))
    assert named - alerts == set(), f"no such alert: {sorted(named - alerts)}"
    series = set(re.findall(r"\bfourteenplus_[a-z_]+\b", page))
    assert series - served_names() == set(), f"not served on /metrics: {sorted(series - served_names())}"


def test_every_link_lands():
    for target in runbook.links():
        path, _, anchor = target.partition("#")
        if path:
            assert (runbook.resources.RUNBOOK.parent / path).is_file(), target
        if anchor:
            assert not path and anchor in runbook.anchors(), f"no heading for {target}"
