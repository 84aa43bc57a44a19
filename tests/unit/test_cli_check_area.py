"""`fourteenplus check` and `fourteenplus area` as an engineer runs them."""

import json
import subprocess
import sys

import pytest

from fourteenplus.cli import main
from fourteenplus.config import EXAMPLE
from fourteenplus.directory import load_directory


def run(*args):
    return subprocess.run([sys.executable, "-m", "fourteenplus.cli", *args], capture_output=True, text=True)


def test_check_clean_configuration_exits_0_with_warnings_on_stderr():
    result = run("check")
    assert result.returncode == 0
    assert "ok: 10 area codes answered" in result.stdout
    assert "warning:" in result.stderr and "error" not in result.stderr


def test_check_broken_yaml_names_file_and_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("language: nl\nareas:\n  \"0229\": {municipalities: [Hoorn\n", encoding="utf-8")
    result = run("check", "--config", str(broken))
    assert result.returncode == 1
    assert f"{broken}:4:" in result.stderr and "YAML syntax error" in result.stderr


def test_check_reports_every_schema_error_with_its_line(tmp_path, capsys):
    text = EXAMPLE.read_text(encoding="utf-8").replace("accept: 0.99", "accept: 1.80").replace(
        "  Opmeer: {trunk", "  Opmeeer: {trunk")
    path = tmp_path / "wrong.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["check", "--config", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"{path}:") and "'accept' must be between 0.0 and 1.0" in line for line in err)
    assert any("unknown municipality 'Opmeeer'; did you mean 'Opmeer'?" in line for line in err)
    assert any("Opmeer is connected in area 0229 but has no trunk" in line for line in err)


def test_check_missing_file(tmp_path):
    result = run("check", "--config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1 and "nope.yaml: error: file not found" in result.stderr


def test_check_config_from_environment(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text("language: klingon\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "fourteenplus.cli", "check"], capture_output=True, text=True,
                            env={**__import__("os").environ, "FOURTEENPLUS_CONFIG": str(path)})
    assert result.returncode == 1 and f"{path}:1:" in result.stderr


def test_area_json_names_the_five_municipalities_of_0229():
    result = run("area", "0229", "--json")
    assert result.returncode == 0
    info = json.loads(result.stdout)
    assert info["area_code"] == "0229" and info["default"] == "Hoorn"
    rows = {row["name"]: row for row in info["municipalities"]}
    assert set(rows) == {"Hoorn", "Medemblik", "Drechterland", "Opmeer", "Koggenland"}
    assert rows["Koggenland"] == {"name": "Koggenland", "connected": True,
                                  "trunk": "PJSIP/koggenland@fourteenplus-trunks",
                                  "overflow": "PJSIP/regio-westfriesland@fourteenplus-trunks",
                                  "menu_digit": 5, "default": False}


@pytest.mark.parametrize("code", sorted(load_directory().areas))
def test_area_every_reference_area_code_answers(code, capsys):
    assert main(["area", code, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["area_code"] == code and info["municipalities"]


@pytest.mark.parametrize("arg", ["140229", "14 0229", "+31 14 0229"])
def test_area_accepts_14_numbers(arg, capsys):
    assert main(["area", arg, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["area_code"] == "0229"


@pytest.mark.parametrize("arg, reason", [("0000", "no Dutch area code"), ("06", "mobile"), ("14", "stops before")])
def test_area_unknown_code_is_explained_with_exit_1(arg, reason, capsys):
    assert main(["area", arg]) == 1
    assert reason in capsys.readouterr().err
