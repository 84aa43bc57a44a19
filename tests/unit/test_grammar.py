"""Grammars: phrases per area from fourteenplus/data/grammars/*.yaml, validated against the directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from fourteenplus.directory import Area, Directory, Municipality, load_directory, slug
from fourteenplus.errors import ConfigErrors
from fourteenplus.grammar import Phrase, load_grammars


def small_directory(pairs: dict[str, tuple[str, ...]]) -> Directory:
    """A directory from {area code: municipalities}, for tests independent of the national data."""
    codes: dict[str, list[str]] = {}
    for code, names in pairs.items():
        for name in names:
            codes.setdefault(name, []).append(code)
    return Directory({c: Area(c, names[0], names) for c, names in pairs.items()},
                     {n: Municipality(n, slug(n), "Test", tuple(cs)) for n, cs in codes.items()})


DIRECTORY = small_directory({
    "0229": ("Drechterland", "Hoorn", "Koggenland", "Medemblik", "Opmeer"),
    "0228": ("Drechterland", "Enkhuizen", "Medemblik"),
    "026": ("Arnhem", "Rheden"),
    "0313": ("Rheden",),
    "0486": ("Land van Cuijk", "Oss"),
    "073": ("'s-Hertogenbosch", "Oss"),
    "058": ("Leeuwarden",),
    "0515": ("Súdwest-Fryslân",),
})


def load(folder: Path, directory=DIRECTORY, **files: str):
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return load_grammars(directory, folder)


def errors_of(folder: Path, **files: str) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load(folder, **files)
    return [str(e) for e in caught.value.errors]


def routes(grammar, phrase: str) -> set[str]:
    return {p.municipality for p in grammar.phrases if p.text == phrase}


def test_official_names_are_phrases_without_any_yaml(tmp_path):
    grammars = load(tmp_path)
    area = grammars.area("0229")
    assert area.code == "0229"
    assert area.municipalities == ("Drechterland", "Hoorn", "Koggenland", "Medemblik", "Opmeer")
    assert area.phrases == tuple(Phrase(n, n, "name") for n in area.municipalities)
    assert grammars.warnings == ()


def test_aliases_villages_and_frisian_names_route_to_their_municipality(tmp_path):
    grammars = load(tmp_path, brabant="""
municipalities:
  "'s-Hertogenbosch": {aliases: [Den Bosch], villages: [Rosmalen]}
""", friesland="""
municipalities:
  Leeuwarden: {frisian: [Ljouwert], villages: [Grou], aliases: [Grouw]}
  Súdwest-Fryslân: {villages: [Sneek], frisian: [Snits]}
""", holland="""
municipalities:
  Hoorn: {villages: [Zwaag]}
  Medemblik: {villages: [Wognum]}
""")
    kinds = {(p.text, p.municipality, p.kind) for p in grammars.area("073").phrases}
    assert {("Den Bosch", "'s-Hertogenbosch", "alias"), ("Rosmalen", "'s-Hertogenbosch", "village")} <= kinds
    leeuwarden = grammars.area("058").phrases
    assert [(p.text, p.kind) for p in leeuwarden] == [
        ("Leeuwarden", "name"), ("Grouw", "alias"), ("Ljouwert", "frisian"), ("Grou", "village")]
    assert routes(grammars.area("0515"), "Snits") == {"Súdwest-Fryslân"}
    assert routes(grammars.area("0229"), "Zwaag") == {"Hoorn"}
    assert routes(grammars.area("0228"), "Wognum") == {"Medemblik"}  # every area of the municipality
    assert grammars.area("0229").phrases[0].key == "drechterland"
    assert next(p for p in leeuwarden if p.text == "Ljouwert").key == "ljouwert"


def test_homonyms_are_resolved_by_area_and_restricted_phrases_stay_in_their_areas(tmp_path):
    grammars = load(tmp_path, villages="""
municipalities:
  Rheden:
    villages: [{name: Velp, areas: ["026"]}, Dieren]
  Land van Cuijk:
    villages: [Velp]
""")
    assert routes(grammars.area("026"), "Velp") == {"Rheden"}
    assert routes(grammars.area("0486"), "Velp") == {"Land van Cuijk"}
    assert routes(grammars.area("0313"), "Velp") == set()          # restricted to 026
    assert routes(grammars.area("0313"), "Dieren") == {"Rheden"}
    # Velp routes within 0486, so it is no reason to reject there; elsewhere it is out of area.
    assert "Velp" not in {p.text for p in grammars.elsewhere("0486")}
    assert {p.municipality for p in grammars.elsewhere("0229") if p.text == "Velp"} == {"Rheden", "Land van Cuijk"}


def test_elsewhere_holds_the_phrases_of_municipalities_not_behind_the_code(tmp_path):
    grammars = load(tmp_path, x="""
municipalities:
  Leeuwarden: {frisian: [Ljouwert]}
  Hoorn: {villages: [Zwaag]}
""")
    elsewhere = grammars.elsewhere("0229")
    assert {"Leeuwarden", "Ljouwert", "Arnhem", "Súdwest-Fryslân"} <= {p.text for p in elsewhere}
    assert not {p.municipality for p in elsewhere} & set(grammars.area("0229").municipalities)
    assert grammars.elsewhere("0229") is elsewhere  # computed once


def test_unknown_area_code_is_a_clear_key_error(tmp_path):
    with pytest.raises(KeyError, match="'0999' is not in the directory"):
        load(tmp_path).area("0999")


def test_learned_entries_route_only_in_their_areas(tmp_path):
    grammars = load(tmp_path, learned="""
learned:
  - phrase: Hoorn Noord
    municipality: Hoorn
    areas: ["0229"]
    reviewed_by: j.jansen
    reviewed_on: 2025-03-31
    seen: 14
    callers: 9
""")
    assert [p for p in grammars.area("0229").phrases if p.kind == "learned"] == [
        Phrase("Hoorn Noord", "Hoorn", "learned")]


def test_each_problem_is_reported_with_its_file_line_and_column(tmp_path):
    errors = errors_of(tmp_path, a="""
municipalities:
  Hoorne: {villages: [Zwaag]}
  Hoorn:
    villages: [Zwaag, "", 7]
    vilages: [Blokker]
  Medemblik:
    aliases: [Zwaag]
  Rheden:
    villages: [{name: Velp, areas: ["0486"]}]
oops: 1
""", b="""
municipalities:
  Hoorn: {}
  Leeuwarden: {villages: [Ljouwert], frisian: [ljouwert]}
""")
    file_a, file_b = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    assert sorted(errors) == sorted([
        f"{file_a}:3:3: unknown municipality 'Hoorne'; did you mean 'Hoorn'?",
        f"{file_a}:5:23: empty phrase: a phrase needs letters or digits",
        f"{file_a}:5:27: a phrase must be text, not 7",
        f"{file_a}:6:5: unknown key 'vilages'; did you mean 'villages'?",
        f"{file_a}:8:15: 'Zwaag' would route to both Hoorn (village at {file_a}:5:16) and Medemblik "
        "in area 0229: leave it out or restrict one with 'areas'",
        f"{file_a}:10:37: Rheden is not behind area code '0486' (its codes: 026, 0313)",
        f"{file_a}:11:1: unknown key 'oops'",
        f"{file_b}:3:3: Hoorn already has an entry at {file_a}:4:3",
        f"{file_b}:4:48: 'ljouwert' is listed twice for Leeuwarden: already its village 'Ljouwert' "
        f"at {file_b}:4:27",
    ])


def test_a_phrase_equal_to_another_municipalitys_official_name_is_a_clash(tmp_path):
    [error] = errors_of(tmp_path, a="municipalities:\n  Medemblik: {villages: [opmeer]}\n")
    assert error.startswith(f"{tmp_path / 'a.yaml'}:2:26: 'opmeer' would route to both Opmeer (name) and Medemblik")


def test_learned_entries_are_validated(tmp_path):
    errors = errors_of(tmp_path, learned="""
learned:
  - phrase: Hoorn Noord
    municipality: Hoorn
  - phrase: Hoorn Noord
    municipality: Horn
    areas: ["0229"]
    reviewed_by: j.jansen
    reviewed_on: last week
    seen: 0
    callers: 3
    heard: 2
""")
    file = str(tmp_path / "learned.yaml")
    assert sorted(errors) == sorted([
        f"{file}:3:5: a learned entry needs areas, reviewed_by, reviewed_on, seen, callers",
        f"{file}:12:5: unknown key 'heard'",
        f"{file}:9:5: 'reviewed_on' must be a date such as 2025-03-31, not 'last week'",
        f"{file}:10:5: 'seen' must be a whole number of at least 1, not 0",
        f"{file}:6:5: unknown municipality 'Horn'; did you mean 'Hoorn'?",
    ])


def test_yaml_syntax_errors_and_wrong_shapes_are_located(tmp_path):
    errors = errors_of(tmp_path, a="municipalities: [\n", b="- just a list\n",
                       c="municipalities:\n  Hoorn: [Zwaag]\n  Opmeer: {villages: Spanbroek}\n")
    assert errors[0].startswith(f"{tmp_path / 'a.yaml'}:")
    assert "YAML syntax error" in errors[0]
    assert errors[1:] == [
        f"{tmp_path / 'b.yaml'}:1:1: a grammar file is a mapping with municipalities and/or learned",
        f"{tmp_path / 'c.yaml'}:2:3: the entry of Hoorn must be a mapping with aliases, frisian, villages",
        f"{tmp_path / 'c.yaml'}:3:12: 'villages' must be a list",
    ]


def test_sound_alike_names_within_an_area_are_warnings_not_errors(tmp_path):
    grammars = load(tmp_path, a="""
municipalities:
  Drechterland: {villages: [Venhuizen]}
  Hoorn: {villages: [Blokker]}
  Medemblik: {villages: [Oosterblokker]}
""")
    [warning] = grammars.warnings
    assert (warning.file, warning.line, warning.column) == (str(tmp_path / "a.yaml"), 3, 29)
    assert warning.message == ("'Venhuizen' (Drechterland) and 'Enkhuizen' (Enkhuizen) sound alike "
                               "in area 0228 (similarity 89)")


# The shipped grammars, against the real directory.

SEED_AREAS = {
    "0229": {"Zwaag": "Hoorn", "Wognum": "Medemblik", "Hoogkarspel": "Drechterland",
             "Spanbroek": "Opmeer", "Avenhorn": "Koggenland"},
    "0113": {"Yerseke": "Reimerswaal", "Heinkenszand": "Borsele", "Kloetinge": "Goes",
             "Wemeldinge": "Kapelle", "Kortgene": "Noord-Beveland"},
    "0570": {"Bathmen": "Deventer", "Wijhe": "Olst-Wijhe", "Twello": "Voorst", "Nieuwleusen": "Dalfsen"},
    "024": {"Groesbeek": "Berg en Dal", "Ewijk": "Beuningen", "Malden": "Heumen",
            "Mook": "Mook en Middelaar", "Lent": "Nijmegen", "Bergharen": "Wijchen"},
    "055": {"Beekbergen": "Apeldoorn", "Twello": "Voorst"},
}


@pytest.fixture(scope="module")
def shipped():
    return load_grammars(load_directory())


@pytest.mark.parametrize("code", SEED_AREAS)
def test_shipped_seed_areas_know_a_kern_of_every_municipality(shipped, code):
    area = shipped.area(code)
    villages = {p.municipality for p in area.phrases if p.kind == "village"}
    assert villages == set(area.municipalities)
    for village, municipality in SEED_AREAS[code].items():
        assert routes(area, village) == {municipality}


def test_shipped_grammars_resolve_the_known_homonyms_and_names(shipped):
    assert routes(shipped.area("026"), "Velp") == {"Rheden"}
    assert routes(shipped.area("0486"), "Velp") == {"Land van Cuijk"}
    assert routes(shipped.area("073"), "Den Bosch") == {"'s-Hertogenbosch"}
    assert routes(shipped.area("070"), "'s-Gravenhage") == {"Den Haag"}
    assert routes(shipped.area("058"), "Ljouwert") == {"Leeuwarden"}
    assert routes(shipped.area("0515"), "Snits") == {"Súdwest-Fryslân"}
    assert "Epe" in {p.text for p in shipped.elsewhere("0570")}
