import csv
from pathlib import Path

import pytest

from fourteenplus.directory import load_directory, slug
from fourteenplus.errors import ConfigErrors

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "netnummers_reference.csv"


@pytest.fixture(scope="module")
def directory():
    return load_directory()


def test_covers_every_geographic_area_code_and_municipality(directory):
    assert len(directory.areas) == 141
    assert len(directory.municipalities) == 342


def test_shared_and_single_areas(directory):
    assert set(directory.area("0229").municipalities) == {"Hoorn", "Medemblik", "Drechterland", "Opmeer", "Koggenland"}
    assert "Amsterdam" in directory.area("020").municipalities
    assert directory.area("0111").municipalities == ("Schouwen-Duiveland",)
    assert directory.municipalities["Opsterland"].area_codes == ("0512", "0513", "0516")


def test_names_keep_diacritics_and_punctuation(directory):
    for name in ("'s-Hertogenbosch", "Súdwest-Fryslân", "Noord-Beveland", "Berg en Dal"):
        assert name in directory.municipalities
    assert directory.municipalities["Súdwest-Fryslân"].slug == "sudwest-fryslan"
    assert slug("'s-Hertogenbosch") == "s-hertogenbosch"


def test_area_codes_are_prefix_free(directory):
    codes = sorted(directory.areas)
    assert not [(a, b) for a in codes for b in codes if a != b and b.startswith(a)]


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared reference data not beside the checkout")
def test_only_sourced_pairs_of_high_or_medium_confidence(directory):
    rows = list(csv.DictReader(REFERENCE.open(encoding="utf-8")))
    kept = {(r["netnummer"], r["municipality"]) for r in rows if r["confidence"] in ("high", "medium")}
    ours = {(a.code, m) for a in directory.areas.values() for m in a.municipalities}
    assert ours == kept


def test_a_broken_directory_names_file_and_line(write_yaml):
    path = write_yaml('areas:\n  "0229":\n    main_place: Hoorn\n    municipalities: [Hoorn, Nergens]\n'
                      '  "022":\n    main_place: X\n    municipalities: [Hoorn]\nprovinces:\n  Hoorn: Noord-Holland\n',
                      "directory.yaml")
    with pytest.raises(ConfigErrors) as exc:
        load_directory(path)
    messages = [str(e) for e in exc.value.errors]
    assert any(m.startswith(f"{path}:4:") and "'Nergens' has no province" in m for m in messages)
    assert any("022 is a prefix of 0229" in m for m in messages)
