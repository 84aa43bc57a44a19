"""Dutch name folding: the key that grammar phrases and transcripts are compared on."""

import pytest

from fourteenplus.directory import load_directory
from fourteenplus.grammar import load_grammars
from fourteenplus.text import answer_of, asks_for_english, fold


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


# What whisper base wrote down for espeak-ng voices asking for English, and for Dutch (measured;
# "Englief" through a real call).
@pytest.mark.parametrize("transcript, english", [
    ("English", True), ("English lean English lean", True), ("In English Lien", True),
    ("English English English", True), ("Englisch", True), ("Engel.", True), ("Englief", True),
    ("Hallo, ik wil ik te speak English", True), ("In Englisch. In Englie", True),
    ("English, clean", True), ("speak English", True),
    ("Voon je fief kangels", False),          # "Do you speak English?": missed
    ("In verenial, ouderbl", False),          # "In het Engels alstublieft": missed
    ("En Listeri, Amir", False),              # "English please", Dutch voice: missed
    ("Gohendzang.", False), ("horgie", False), ("Engelen", False), ("Engeland", False), ("", False),
])
def test_asks_for_english_on_measured_transcripts(transcript, english):
    assert asks_for_english(transcript) is english


def test_no_name_in_any_grammar_sounds_like_asking_for_english():
    grammars = load_grammars(load_directory())
    assert not [p.text for p in grammars.phrases if asks_for_english(p.text)]


@pytest.mark.parametrize("transcript, side, rest", [
    ("Ja.", True, ""), ("Ja hoor!", True, ""), ("Jazeker.", True, ""), ("Klopt.", True, ""),
    ("Dat klopt.", True, ""), ("Graag.", True, ""), ("Natuurlijk.", True, ""), ("Correct.", True, ""),
    ("Zeker.", True, ""), ("Ja graag.", True, ""), ("Eh, ja, Hoorn.", True, "hoorn"),
    ("Nee.", False, ""), ("Nee hoor.", False, ""), ("Nee, dank u.", False, ""), ("Neen.", False, ""),
    ("Niet.", False, ""), ("O, nee!", False, ""), ("Natuurlijk niet.", False, ""),
    ("Dat klopt niet.", False, ""), ("Nee, Koggenland.", False, "koggenland"),
    ("Nee, ik bedoel Opmeer.", False, "ik bedoel opmeer"),
    ("Ja, nee.", None, "nee"),  # changed their mind: neither
    # A ja the next words deny: an accented "nee, niet die" was written so (issue 24).
    ("Ja, dat is niet.", None, "dat is niet"), ("Ja, niet die.", None, "niet die"),
    ("Ja, dat klopt niet.", None, "niet"), ("Ja, geen idee.", None, "geen idee"),
    ("Ja hoor, waarom niet?", True, "waarom niet"),  # agrees
    ("Ja, we zijn al bijna klaar, dat is niet moeilijk.", True, "we zijn al bijna klaar dat is niet moeilijk"),
    ("Hij is goed, zeg.", None, "hij is goed zeg"), ("Jou.", None, "jou"), ("", None, ""),
])
def test_an_answer_is_read_off_the_start_of_the_transcript(transcript, side, rest):
    assert answer_of(transcript) == (side, rest)


@pytest.mark.parametrize("transcript, side, rest", [
    ("Laptuurlijk. Hier zijn vier", True, "hier zijn vier"),  # a person's "Natuurlijk! Hier zijn vier …"
    ("Laptuurlijk niet.", False, ""),  # read as the word it misspells, then as the longest form
    ("Indertaad.", True, ""),
    ("Jou.", None, "jou"), ("Nie.", None, "nie"),  # a short form is never read from a near word
    ("Materialic, dioststacials", None, "materialic dioststacials"),  # too far from natuurlijk
])
def test_a_long_answer_word_whisper_misspells_a_little_is_still_read(transcript, side, rest):
    assert answer_of(transcript) == (side, rest)


def test_the_words_after_an_answer_that_may_be_a_name():
    from fourteenplus.speech.reply import said_name

    assert said_name("Nee, ik bedoel Opmeer.") == (False, "opmeer")
    assert said_name("Nee, dat klopt niet.") == (False, "")
    assert said_name("Ja hoor, dank u wel.") == (True, "")
    assert said_name("Ja, maar we moeten eerst die vis naar links duwen.") == (True, "")  # a sentence, no name
    # Whisper's spelling of espeak-ng's "nee": the audio heard a nee, the first word is it.
    assert said_name("Lij, Kogenland.", heard=False) == (False, "kogenland")
    assert said_name("Lij, Kogenland.") == (None, "")
    # The answer written twice, the second time misspelt, names nothing: no municipality's
    # phrase has a word that close to a long answer word.
    assert said_name("Natuurlijk niet. Natuurlig") == (False, "")
    assert said_name("Natuurlijk niet. Natuurlig, Hoorn.") == (False, "hoorn")


def test_no_phrase_of_the_country_is_read_as_a_long_answer_word():
    from fourteenplus.text import spelt_answer

    directory = load_directory()
    grammars = load_grammars(directory)
    words = {word for code in directory.areas for phrase in grammars.area(code).phrases for word in fold(phrase.text).split()}
    assert len(words) > 1000 and not [word for word in words if spelt_answer(word)]
