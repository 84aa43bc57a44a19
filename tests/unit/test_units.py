"""`fourteenplus install`: the systemd units it writes, what each must say (user, restart,
reload, a stop timeout past the drain, the hardening, the writable record store), and that
systemd itself accepts them; the configuration it writes for the operator to edit."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fourteenplus import cli, paths, units
from fourteenplus.commands._serving import DRAIN_S
from fourteenplus.config import EXAMPLE

VENV_BIN = Path(sys.executable).parent / "fourteenplus"  # verify wants ExecStart to exist
SETTINGS = units.Settings(bin=VENV_BIN, user="noc", config=Path("/etc/fp/fp.yaml"), records_dir=Path("/srv/records"),
                          agi_recordings=Path("/srv/spool/tmp/fourteenplus-agi"))
EVERY_UNIT = ("User=noc", "Group=noc", "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID",
              f"TimeoutStopSec={units.STOP_TIMEOUT_S}", "NoNewPrivileges=yes", "ProtectSystem=strict",
              "ProtectHome=yes", "PrivateTmp=yes", "StateDirectory=fourteenplus", "CacheDirectory=fourteenplus",
              "Environment=FOURTEENPLUS_CONFIG=/etc/fp/fp.yaml", "Environment=FOURTEENPLUS_STATE=/var/lib/fourteenplus",
              "Environment=FOURTEENPLUS_CACHE=/var/cache/fourteenplus",
              "Type=notify", "NotifyAccess=main", f"WatchdogSec={units.WATCHDOG_S}")


@pytest.mark.parametrize("unit", units.UNITS, ids=lambda unit: unit.name)
def test_each_unit_runs_its_command_as_the_user_hardened_and_may_write_the_record_store(unit):
    lines = units.render(unit, SETTINGS).splitlines()
    assert set(EVERY_UNIT) <= set(lines)
    assert f"ExecStart={VENV_BIN} {unit.command} --log-format logfmt" in lines
    recordings = " -/srv/spool/tmp/fourteenplus-agi" if unit.command == "agi" else ""
    assert f"ReadWritePaths=/srv/records{recordings}" in lines


def test_the_agi_unit_may_write_where_asterisk_records_its_utterances():
    (agi,) = [unit for unit in units.UNITS if unit.command == "agi"]
    assert units.writable(agi, units.Settings(bin=VENV_BIN))[-1] == f"-{paths.AGI_RECORDINGS}"


def test_systemd_waits_longer_than_the_drain():
    assert units.STOP_TIMEOUT_S > DRAIN_S


def test_the_record_store_directory_follows_the_configuration():
    assert units.records_dir(None) == units.STATE_DIR
    assert units.records_dir("/srv/fp/records.db") == Path("/srv/fp")
    assert units.records_dir("records.db") == Path("/")  # systemd starts the service in /


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed: the units are not verified")
def test_systemd_analyze_verifies_the_units_the_command_writes(tmp_path, capsys):
    assert cli.main(["install", "systemd", "--out", str(tmp_path), "--config", str(EXAMPLE), "--bin", str(VENV_BIN)]) == 0
    written = sorted(tmp_path.glob("*.service"))
    assert [path.name for path in written] == sorted(unit.name for unit in units.UNITS)
    result = subprocess.run(["systemd-analyze", "verify", *map(str, written)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_command_gives_the_record_store_of_the_configuration_the_units_read(tmp_path, capsys):
    config = tmp_path / "fourteenplus.yaml"
    config.write_text(EXAMPLE.read_text(encoding="utf-8").replace(
        "  path: null ", "  path: /srv/fp/records.db ", 1), encoding="utf-8")
    assert cli.main(["install", "systemd", "--out", str(tmp_path), "--config", str(config), "--bin", str(VENV_BIN)]) == 0
    assert "ReadWritePaths=/srv/fp\n" in (tmp_path / "fourteenplus.service").read_text(encoding="utf-8")


SOURCE_SPOOL_CONF = "[directories](!)\nastetcdir => /opt/ast/etc\nastspooldir => /opt/ast/spool\n"


@pytest.mark.parametrize("section, spool", [
    ("asterisk:\n  directories:\n    astspooldir: /srv/asterisk-spool\n", "/srv/asterisk-spool"),
    ("asterisk:\n  asterisk_conf: {conf}\n", "/opt/ast/spool"),
], ids=["directories", "asterisk_conf"])
def test_the_agi_unit_writes_in_the_spool_the_asterisk_section_names(tmp_path, capsys, section, spool):
    """The operator's own Asterisk keeps its spool where its asterisk.conf (or the section's
    directories) says: the unit may write our recordings' directory there, not in Debian's."""
    (tmp_path / "asterisk.conf").write_text(SOURCE_SPOOL_CONF, encoding="utf-8")
    config = tmp_path / "fourteenplus.yaml"
    config.write_text(EXAMPLE.read_text(encoding="utf-8") + "\n" + section.format(conf=tmp_path / "asterisk.conf"),
                      encoding="utf-8")
    assert cli.main(["install", "systemd", "--out", str(tmp_path), "--config", str(config), "--bin", str(VENV_BIN)]) == 0
    lines = (tmp_path / "fourteenplus-agi.service").read_text(encoding="utf-8").splitlines()
    assert f"ReadWritePaths={units.STATE_DIR} -{spool}/{paths.AGI_RECORDINGS_SUBDIR}" in lines
    assert paths.AGI_RECORDINGS not in (tmp_path / "fourteenplus-agi.service").read_text(encoding="utf-8")


def test_install_says_how_to_make_the_recordings_directory_in_an_asterisks_spool(tmp_path, capsys):
    spool = tmp_path / "spool"
    (spool / "tmp").mkdir(parents=True)
    config = tmp_path / "fourteenplus.yaml"
    config.write_text(EXAMPLE.read_text(encoding="utf-8") + f"\nasterisk:\n  directories: {{astspooldir: {spool}}}\n",
                      encoding="utf-8")
    assert cli.main(["install", "systemd", "--out", str(tmp_path), "--config", str(config), "--bin", str(VENV_BIN),
                     "--user", "noc"]) == 0
    assert f"install -d -o noc -g asterisk -m 0770 {spool}/{paths.AGI_RECORDINGS_SUBDIR}" in capsys.readouterr().err


def test_a_broken_configuration_writes_no_units(tmp_path, capsys):
    config = tmp_path / "fourteenplus.yaml"
    config.write_text("areas: [\n", encoding="utf-8")
    assert cli.main(["install", "systemd", "--out", str(tmp_path / "units"), "--config", str(config)]) == 1
    assert not (tmp_path / "units").exists()
    assert "error" in capsys.readouterr().err


def test_install_config_writes_the_example_once_and_never_over_the_operators(tmp_path, capsys):
    assert cli.main(["install", "config", "--out", str(tmp_path)]) == 0
    written = tmp_path / "fourteenplus.yaml"
    assert written.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")
    written.write_text("# the operator's own\n", encoding="utf-8")
    assert cli.main(["install", "config", "--out", str(tmp_path)]) == 1
    assert written.read_text(encoding="utf-8") == "# the operator's own\n"
