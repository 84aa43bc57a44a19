"""Dutch name folding: the key that grammar phrases and transcripts are compared on."""

import pytest

from fourteenplus.text import fold


@pytest.mark.parametrize("written, key", [
    ("Súdwest-Fryslân", "sudwest fryslan"),
    ("Damwâld", "damwald"),
    ("Mariënheem", "marienheem"),
    ("ĲSSELSTEIN", "ijsselstein"),            # the ij ligature is two letters
    ("Nuenen, Gerwen en Nederwetten", "nuenen gerwen en nederwetten"),
    ("Bergen (NH)", "bergen nh"),
    ("  Den \t Bosch  ", "den bosch"),
    ("Zwaagdijk-Oost", "zwaagdijk oost"),
])
def test_fold_lowercases_strips_accents_and_punctuation(written, key):
    assert fold(written) == key


@pytest.mark.parametrize("written", [
    "'s-Hertogenbosch", "'s Hertogenbosch", "s hertogenbosch", "S-HERTOGENBOSCH",
    "\u2019s-Hertogenbosch", "s'Hertogenbosch", "'sHertogenbosch",
])
def test_fold_archaic_s_prefix_spellings_meet_on_one_key(written):
    assert fold(written) == "s hertogenbosch"


def test_fold_keeps_the_article_so_prefixed_names_stay_distinct():
    assert fold("'t Zand") == fold("t Zand") == fold("\u2018tZand") == "t zand"
    assert fold("'s-Heerenhoek") != fold("Heerenhoek")


def test_fold_is_idempotent_and_empty_for_no_letters():
    assert fold(fold("'s-Gravenhage")) == fold("'s-Gravenhage")
    assert fold(" '-- ") == ""
