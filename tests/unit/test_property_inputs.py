"""Property and fuzz tests: any dialled string, any YAML, never a crash, never a wrong route."""

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.directory import load_directory
from fourteenplus.errors import ConfigError, ConfigErrors
from fourteenplus.numberplan import REASONS, NumberRejected, parse

CODES = load_directory().areas
dial_chars = st.text(alphabet=string.digits + " -+()./&,*#@xX\t\n" + "٠١٢", max_size=40)


@settings(max_examples=2000, deadline=None)
@given(dial_chars)
def test_property_numberplan_any_string_gives_a_known_code_or_a_known_reason(number):
    try:
        code = parse(number, CODES)
    except NumberRejected as exc:
        assert exc.reason in REASONS
    else:
        assert code in CODES
        digits = "".join(ch for ch in number if ch.isdigit())
        assert code in digits  # the code was dialled, not invented


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(sorted(CODES)), st.text(alphabet=string.digits, min_size=1, max_size=6))
def test_property_numberplan_extra_digits_are_never_swallowed(code, extra):
    with pytest.raises(NumberRejected) as exc:
        parse(f"14{code}{extra}", CODES)
    assert exc.value.reason == "trailing_digits"


EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(0, len(EXAMPLE_TEXT) - 1), junk=st.text(max_size=8))
def test_fuzz_config_loader_mutated_yaml_loads_or_names_file_and_line(tmp_path, position, junk):
    path = tmp_path / "mutated.yaml"
    path.write_text(EXAMPLE_TEXT[:position] + junk + EXAMPLE_TEXT[position + 1:], encoding="utf-8")
    try:
        service = load_service(path)
    except (ConfigError, ConfigErrors) as exc:
        errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
        assert errors and all(e.file == str(path) and e.line for e in errors)
    else:
        for plan in service.areas.values():
            assert set(plan.connected) <= set(plan.municipalities)
            assert all(service.municipality(m).trunk for m in plan.connected)
