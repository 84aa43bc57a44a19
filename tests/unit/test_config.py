import pytest

from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.errors import ConfigError, ConfigErrors

GOOD = """\
language: nl
thresholds: {accept: 0.8, confirm: 0.5}
municipalities:
  Hoorn: {trunk: PJSIP/hoorn@trunks}
  Medemblik: {trunk: PJSIP/medemblik@trunks, overflow: PJSIP/regio@trunks}
  Amsterdam: {trunk: PJSIP/amsterdam@trunks}
areas:
  "0229":
    municipalities: [Hoorn, Medemblik]
    default: Hoorn
  "020":
    municipalities: [Amsterdam]
"""


def errors_of(write_yaml, text):
    path = write_yaml(text)
    with pytest.raises((ConfigErrors, ConfigError)) as exc:
        load_service(path)
    errors = exc.value.errors if isinstance(exc.value, ConfigErrors) else [exc.value]
    return path, [str(e) for e in errors]


def test_the_example_configuration_loads():
    service = load_service(EXAMPLE)
    assert service.plan("0229").connected == ("Hoorn", "Medemblik", "Drechterland", "Opmeer", "Koggenland")
    assert service.plan("020").connected == ("Amsterdam",)
    assert service.municipality("Koggenland").trunk == "PJSIP/koggenland@fourteenplus-trunks"
    assert service.warnings == ()


def test_a_good_configuration(write_yaml):
    service = load_service(write_yaml(GOOD))
    assert service.thresholds.accept == 0.8 and service.thresholds.confirm == 0.5
    assert service.listen.attempts == 2  # default
    assert service.municipality("Medemblik").overflow == "PJSIP/regio@trunks"
    plan = service.plan("0229")
    assert plan.default == "Hoorn" and set(plan.municipalities) >= {"Opmeer", "Koggenland"}
    assert service.plan("0111").connected == ()  # in the directory, not answered here


def test_yaml_syntax_error_names_the_line(write_yaml):
    path, errors = errors_of(write_yaml, "areas:\n  \"0229\": [Hoorn\nmunicipalities: {}\n")
    assert errors[0].startswith(f"{path}:3:") and "YAML syntax error" in errors[0]


def test_unknown_key_suggests_the_closest(write_yaml):
    path, errors = errors_of(write_yaml, GOOD.replace("thresholds:", "treshold:"))
    assert f"{path}:2:1: unknown key 'treshold' in the configuration; did you mean 'thresholds'?" in errors


def test_unknown_nested_key(write_yaml):
    _, errors = errors_of(write_yaml, GOOD.replace("confirm: 0.5", "confrim: 0.5"))
    assert any("unknown key 'confrim' in thresholds; did you mean 'confirm'?" in e for e in errors)


def test_connected_municipality_without_trunk(write_yaml):
    path, errors = errors_of(write_yaml, GOOD.replace("  Medemblik: {trunk: PJSIP/medemblik@trunks, overflow: PJSIP/regio@trunks}\n", ""))
    assert f"{path}:8:29: Medemblik is connected in area 0229 but has no trunk under 'municipalities'" in errors


def test_municipality_in_the_wrong_area(write_yaml):
    path, errors = errors_of(write_yaml, GOOD.replace("[Hoorn, Medemblik]", "[Hoorn, Medemblik, Amsterdam]"))
    assert any(e.startswith(f"{path}:9:40") and "Amsterdam is not behind area code 0229" in e for e in errors)


def test_duplicate_names(write_yaml):
    _, errors = errors_of(write_yaml, GOOD.replace("[Hoorn, Medemblik]", "[Hoorn, Medemblik, Hoorn]"))
    assert any("Hoorn is listed twice in area 0229" in e for e in errors)
    _, errors = errors_of(write_yaml, GOOD.replace("  Amsterdam:", "  Hoorn: {trunk: PJSIP/x@y}\n  Amsterdam:"))
    assert any("duplicate key 'Hoorn'" in e for e in errors)


def test_unknown_municipality_and_area(write_yaml):
    _, errors = errors_of(write_yaml, GOOD.replace("  Hoorn: {trunk", "  Hoorm: {trunk"))
    assert any("unknown municipality 'Hoorm'; did you mean 'Hoorn'?" in e for e in errors)
    _, errors = errors_of(write_yaml, GOOD.replace('"020":', '"0200":'))
    assert any("unknown area code '0200'" in e for e in errors)


def test_reply_thresholds_default_and_load(write_yaml):
    assert (load_service(write_yaml(GOOD)).thresholds.reply_yes, load_service(write_yaml(GOOD)).thresholds.reply_no) == (0.8, 0.5)
    service = load_service(write_yaml(GOOD.replace("confirm: 0.5}", "confirm: 0.5, reply_yes: 0.9, reply_no: 0.6}")))
    assert (service.thresholds.reply_yes, service.thresholds.reply_no) == (0.9, 0.6)
    assert service.thresholds.reply_yes_unwritten == 0.85


def test_recognition_workers_default_load_and_are_checked(write_yaml):
    from fourteenplus.config import DEFAULT_WORKERS

    assert load_service(write_yaml(GOOD)).speech.workers == DEFAULT_WORKERS
    assert load_service(write_yaml(GOOD + "speech: {workers: 3}\n")).speech.workers == 3
    path, errors = errors_of(write_yaml, GOOD + "speech:\n  workers: 0\n")
    assert f"{path}:14:3: 'workers' must be between 1 and 32, not 0" in errors, errors
    _, errors = errors_of(write_yaml, GOOD + "speech: {workers: 1.5, threads: 2}\n")
    assert any("'workers' must be a whole number" in e for e in errors), errors
    assert any("unknown key 'threads' in speech" in e for e in errors), errors


def test_an_unquoted_yes_key_is_explained(write_yaml):
    # YAML 1.1 reads `yes:` as the boolean true: the engineer is told why the key is unknown.
    path, errors = errors_of(write_yaml, GOOD.replace("thresholds: {accept: 0.8, confirm: 0.5}",
                                                      "thresholds:\n  accept: 0.8\n  yes: 0.9"))
    assert any(e.startswith(f"{path}:4:3: unknown key 'True' in thresholds (YAML reads an unquoted yes/no/on/off as True)")
               for e in errors), errors


def test_a_municipality_that_is_not_a_name_is_an_error(write_yaml):
    path, errors = errors_of(write_yaml, GOOD.replace("municipalities: [Hoorn, Medemblik]", "municipalities: [Hoorn, {Medemblik: 1}]"))
    assert any("a municipality in area 0229 must be a name, not {'Medemblik': 1}" in e and e.startswith(f"{path}:")
               for e in errors), errors


@pytest.mark.parametrize("accept, confirm, message", [
    ("1.5", "0.5", "'accept' must be between 0.0 and 1.0, not 1.5"),
    ("0.5", "0.8", "'confirm' (0.8) must not be above 'accept' (0.5)"),
    ("hoog", "0.5", "'accept' must be a number"),
])
def test_bad_thresholds(write_yaml, accept, confirm, message):
    _, errors = errors_of(write_yaml, GOOD.replace("{accept: 0.8, confirm: 0.5}", f"{{accept: {accept}, confirm: {confirm}}}"))
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize("trunk", ["PJSIP/a&PJSIP/b", "PJSIP/a,30,tT", "hoorn", "PJSIP/${EVIL}"])
def test_dial_strings_reach_one_trunk_and_nothing_else(write_yaml, trunk):
    _, errors = errors_of(write_yaml, GOOD.replace("PJSIP/hoorn@trunks", f'"{trunk}"'))
    assert any("'trunk' must be one dial string" in e for e in errors)


def test_default_must_be_connected(write_yaml):
    _, errors = errors_of(write_yaml, GOOD.replace("default: Hoorn", "default: Opmeer"))
    assert any("default 'Opmeer' is not one of the connected municipalities of 0229" in e for e in errors)


def test_shared_area_without_default_is_a_warning(write_yaml):
    service = load_service(write_yaml(GOOD.replace("    default: Hoorn\n", "")))
    assert [w.message for w in service.warnings] == [
        "area 0229 is shared but has no 'default': callers who cannot be understood and press "
        "no key will hear a goodbye instead of reaching a municipality"]


def test_every_problem_is_reported_at_once(write_yaml):
    _, errors = errors_of(write_yaml, GOOD.replace("language: nl", "language: fy").replace("Hoorn: {trunk", "Hoorm: {trunk"))
    assert len(errors) >= 3  # language, unknown municipality, Hoorn without trunk
