"""The wheel stands alone: built from this checkout, installed with its pinned dependencies
(requirements-run.lock) into a fresh virtualenv, it works from a directory outside the
checkout, the way the README's "Deploying" section installs it. What it must do there: check
the configuration it writes, list an area code, recognise a clip with the whisper model from
its pinned packages, write systemd units that systemd accepts; and it must not carry the
development commands.

Slow (a wheel build, a virtualenv, the model assembled): marked `processes`, so `make test`
runs it and `make unit` does not. pip's cache makes a second run download nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from fourteenplus import paths, units

pytestmark = pytest.mark.processes

CHECKOUT = paths.CHECKOUT
CLIP = Path(__file__).resolve().parent.parent / "data" / "corpus" / "koggenland.wav"
PYPI = "https://pypi.org/simple/pip/"


@dataclass(frozen=True)
class Installed:
    bin: Path        # the virtualenv's bin directory
    home: Path       # a directory outside the checkout: the commands run there
    config: Path     # the configuration `install config` wrote
    env: dict[str, str]
    wheel: Path

    def run(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin / "fourteenplus"), *argv], cwd=self.home, env=self.env,
                              capture_output=True, text=True, timeout=timeout)


def _pypi_unreachable() -> str | None:
    try:
        urllib.request.urlopen(PYPI, timeout=15).close()
    except OSError as error:
        return f"PyPI cannot be reached ({error}): the wheel's build and pinned dependencies come from it"
    return None


def _pip(python: Path, *argv: str, cwd: Path) -> None:
    # pip's own cache is used (no --no-cache-dir): a second run downloads nothing.
    result = subprocess.run([str(python), "-m", "pip", "-q", *argv], cwd=cwd, capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, f"pip {' '.join(argv)}:\n{result.stderr[-3000:]}"


def _clean_copy(target: Path) -> Path:
    """The checkout's files as a fresh clone (with uncommitted changes) has them: setuptools
    builds in the source tree and reuses its build/ directory, where a file since moved or
    deleted would still be packed."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=CHECKOUT,
                            capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (CHECKOUT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(CHECKOUT / name, target / name)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    assert CHECKOUT is not None, "the tests run from a checkout"
    reason = _pypi_unreachable()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("wheel")
    source = _clean_copy(base / "source")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    _pip(python, "wheel", "--no-deps", "-w", str(base / "dist"), ".", cwd=source)
    (wheel,) = (base / "dist").glob("fourteenplus-*.whl")
    _pip(python, "install", "--require-hashes", "-r", "requirements-run.lock", cwd=source)
    _pip(python, "install", "--no-deps", str(wheel), cwd=source)
    home = base / "elsewhere"
    home.mkdir()
    # Only the model's cache is moved off /var/cache (nothing of this machine's is written);
    # every other path is the installed package's own default.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("FOURTEENPLUS_") and name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["FOURTEENPLUS_CACHE"] = str(base / "cache")
    result = subprocess.run([str(venv / "bin" / "fourteenplus"), "install", "config", "--out", str(base / "etc")],
                            cwd=home, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return Installed(venv / "bin", home, base / "etc" / "fourteenplus.yaml", env, wheel)


def test_the_wheel_carries_every_file_of_the_package_and_not_the_harness(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "fourteenplus"], cwd=CHECKOUT, capture_output=True, text=True,
                             check=True, timeout=60).stdout.split()
    tracked = [name for name in tracked if (CHECKOUT / name).is_file()]  # not one deleted since
    assert "fourteenplus/data/sipp/caller.xml" in tracked
    assert sorted(set(tracked) - names) == []
    harness = {f"fourteenplus/{name}.py" for name in ("commands/bench", "commands/corpus", "commands/soak",
                                                      "commands/cluster", "pgserver", "simulation", "stats")}
    assert not [name for name in names if name.startswith("fourteenplus_dev") or name in harness]


def test_installed_it_uses_the_operators_places_not_a_checkout(installed):
    env = {name: value for name, value in installed.env.items() if name != "FOURTEENPLUS_CACHE"}
    probe = ("from fourteenplus import config, paths; "
             "print(paths.CHECKOUT, config.config_path(), paths.state_dir(), paths.cache_dir())")
    result = subprocess.run([str(installed.bin / "python"), "-c", probe], cwd=installed.home, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["None", "/etc/fourteenplus/fourteenplus.yaml", "/var/lib/fourteenplus",
                                     "/var/cache/fourteenplus"], result.stderr


def test_check_area_and_recognize_work_outside_the_checkout(installed):
    check = installed.run("check", "--config", str(installed.config))
    assert check.returncode == 0, check.stderr
    assert f"{installed.config}: ok: 10 area codes answered" in check.stdout
    # The packaged grammars, not the checkout's: their file names are the installed package's.
    assert str(CHECKOUT) not in check.stdout + check.stderr

    area = installed.run("area", "0229", "--json", "--config", str(installed.config))
    assert area.returncode == 0, area.stderr
    info = json.loads(area.stdout)
    assert info["area_code"] == "0229" and info["default"] == "Hoorn"
    assert {"Hoorn", "Koggenland", "Drechterland", "Medemblik", "Opmeer"} <= {m["name"] for m in info["municipalities"]}

    heard = installed.run("recognize", str(CLIP), "--area", "0229", "--json")
    assert heard.returncode == 0, heard.stderr
    result = json.loads(heard.stdout)
    assert result["municipality"] == "Koggenland" and result["decision"] in ("accept", "confirm")


def test_the_development_commands_are_not_there(installed):
    for command in ("bench", "cluster", "corpus", "soak"):
        result = installed.run(command, "--help")
        assert result.returncode == 2 and f"invalid choice: '{command}'" in result.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"),
                    reason="systemd-analyze is not installed (Debian package systemd): the units are not verified")
def test_systemd_accepts_the_units_the_installed_command_writes(installed):
    out = installed.home / "units"
    result = installed.run("install", "systemd", "--out", str(out), "--config", str(installed.config))
    assert result.returncode == 0, result.stderr
    written = sorted(out.glob("*.service"))
    assert [path.name for path in written] == sorted(unit.name for unit in units.UNITS)
    assert f"ExecStart={installed.bin / 'fourteenplus'} run --log-format logfmt" in (out / "fourteenplus.service").read_text()
    verify = subprocess.run(["systemd-analyze", "verify", *map(str, written)], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
