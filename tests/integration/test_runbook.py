"""Every `asterisk -rx "…"` the on-call runbook gives is a command Asterisk 22 knows: each is
run on the bundled Asterisk, configured as the tests configure it. An object it names may be
missing here (the runbook's example trunk); the command itself may not be."""

from __future__ import annotations

import subprocess

import pytest

from fourteenplus import paths

from .. import runbook

UNKNOWN = "No such command"  # what Asterisk's CLI answers to a command it does not have


@pytest.mark.parametrize("command", runbook.asterisk_commands())
def test_the_runbooks_asterisk_command_is_known(running_asterisk, command):
    done = subprocess.run(["chroot", str(paths.asterisk_root()), "/usr/sbin/asterisk", "-rx", command],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert UNKNOWN not in done.stdout + done.stderr, done.stdout
    assert done.stdout.strip(), f"{command!r} printed nothing"
