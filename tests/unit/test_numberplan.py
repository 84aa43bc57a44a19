import pytest

from fourteenplus.directory import load_directory
from fourteenplus.numberplan import REASONS, NumberRejected, digits_of, parse

CODES = load_directory().areas


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_area_code_in_the_directory_parses_in_every_written_form(code):
    for number in (f"14{code}", f"14 {code}", f"14-{code}", f"+31 14 {code}", f"0031 14{code}", f"(14) {code}"):
        assert parse(number, CODES) == code


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_area_code_cut_short_or_extended_is_rejected_precisely(code):
    for cut in range(1, len(code)):
        with pytest.raises(NumberRejected) as exc:
            parse("14" + code[:cut], CODES)
        assert exc.value.reason in ("too_short", "national_line")
    with pytest.raises(NumberRejected) as exc:
        parse(f"14{code}5", CODES)
    assert exc.value.reason == "trailing_digits"


@pytest.mark.parametrize("number, reason", [
    ("", "empty"),
    ("  ", "empty"),
    ("1", "too_short"),
    ("14", "too_short"),
    ("140", "too_short"),
    ("1400", "national_line"),
    ("14 0000", "unknown_area"),
    ("14 06 12345678", "not_geographic"),
    ("14 0800", "not_geographic"),
    ("14 0900", "not_geographic"),
    ("14 0229 1", "trailing_digits"),
    ("020 555 1234", "not_14"),
    ("112", "not_14"),
    ("14O229", "non_digit"),
    ("140229&PJSIP/evil", "non_digit"),
    ("14 0229,1", "non_digit"),
    ("١٤٠٢٢٩", "non_digit"),  # Arabic-Indic digits are digits to Python, not to a switch
    ("14" + "0" * 30, "too_long"),
])
def test_rejections_name_their_reason(number, reason):
    with pytest.raises(NumberRejected) as exc:
        parse(number, CODES)
    assert exc.value.reason == reason
    assert REASONS[reason] in str(exc.value)


def test_prefix_match_never_guesses_from_length():
    # 010 (Rotterdam) and 0101 do not both exist; a three-digit and a four-digit code
    # that share a start are told apart by the directory, not by counting digits.
    assert parse("14010", CODES) == "010"
    assert parse("140111", CODES) == "0111"
    assert parse("14020", CODES) == "020"


def test_country_code_is_only_stripped_at_the_start():
    assert digits_of("+31 14 0229") == "140229"
    with pytest.raises(NumberRejected):
        digits_of("14+310229")
