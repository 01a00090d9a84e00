"""Feature store on disk, in the layout Lighthouse reads.

::

    {root}/{feature_name}/{vid}.npz              key "features"           (T, D) audio frames
    {root}/{feature_name}_text/qid{qid}.npz      key "last_hidden_state"  (L, H) query tokens
                                                 key "sentence"           (D,)  query, joint space
    {root}/{feature_name}/manifest.json          what made these features

``feature_name`` is content-addressed: ``{encoder}_{sha256(material)[:12]}`` where the
material is everything that decides the numbers (the simulated split's recipes, the
encoder's weights hash, window and hop), so changed inputs never reuse stale features.
Every file is written atomically; a store is filled under a file lock, so two processes
filling it at once compute each file once. A file that cannot be read back (truncated,
wrong key, non-finite values) is reported, deleted and recomputed.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from amr_lib.storage.atomic import atomic_write
from amr_lib.storage.cache import content_key

AUDIO_KEY = "features"
TOKENS_KEY = "last_hidden_state"
SENTENCE_KEY = "sentence"
MANIFEST = "manifest.json"


class FeatureStore:
    """One feature set: audio frames per recording and query features per qid."""

    def __init__(self, root: str | Path, encoder_name: str, material: dict[str, Any]) -> None:
        self.root = Path(root)
        self.name = f"{encoder_name}_{content_key(material)[:12]}"
        self.material = material
        self.audio_dir = self.root / self.name
        self.text_dir = self.root / f"{self.name}_text"

    def lock(self) -> FileLock:
        """Held while filling, so concurrent fills of one store do each file once."""
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / f".{self.name}.lock"))

    def write_manifest(self) -> None:
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.audio_dir / MANIFEST, lambda path: path.write_text(
            json.dumps({"feature_name": self.name, "material": self.material}, indent=2,
                       default=str), encoding="utf-8"))

    def audio_path(self, vid: str) -> Path:
        return self.audio_dir / f"{vid}.npz"

    def text_path(self, qid: str | int) -> Path:
        return self.text_dir / f"qid{qid}.npz"

    def has_audio(self, vid: str) -> bool:
        return _readable(self.audio_path(vid), (AUDIO_KEY,))

    def has_text(self, qid: str | int) -> bool:
        return _readable(self.text_path(qid), (TOKENS_KEY, SENTENCE_KEY))

    def save_audio(self, vid: str, frames: np.ndarray) -> None:
        """``(T, D)`` frame features of one recording."""
        _save_npz(self.audio_path(vid), {AUDIO_KEY: _finite(frames, 2, vid)})

    def save_text(self, qid: str | int, tokens: np.ndarray, sentence: np.ndarray) -> None:
        """``(L, H)`` token states and ``(D,)`` joint-space embedding of one query."""
        _save_npz(self.text_path(qid), {TOKENS_KEY: _finite(tokens, 2, f"qid{qid}"),
                                        SENTENCE_KEY: _finite(sentence, 1, f"qid{qid}")})

    def load_audio(self, vid: str) -> np.ndarray:
        return _load(self.audio_path(vid), AUDIO_KEY)

    def load_tokens(self, qid: str | int) -> np.ndarray:
        return _load(self.text_path(qid), TOKENS_KEY)

    def load_sentence(self, qid: str | int) -> np.ndarray:
        return _load(self.text_path(qid), SENTENCE_KEY)


def _readable(path: Path, keys: tuple[str, ...]) -> bool:
    """True for a complete file; a damaged one is reported and removed (to be rebuilt)."""
    if not path.exists():
        return False
    try:
        with np.load(path) as data:
            ok = all(key in data and np.isfinite(data[key]).all() for key in keys)
    except Exception as damage:  # any unreadable file means recompute, whatever the cause
        ok, reason = False, str(damage)
    else:
        reason = f"missing or non-finite {keys}"
    if not ok:
        warnings.warn(f"feature file {path} is damaged ({reason}); recomputing", stacklevel=3)
        path.unlink()
    return ok


def _load(path: Path, key: str) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such feature file; extract the features first")
    try:
        with np.load(path) as data:
            return data[key]
    except Exception as damage:
        raise ValueError(f"{path}: unreadable feature file ({damage}); delete it and "
                         "extract again") from None


def _finite(array: np.ndarray, ndim: int, what: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float32)
    if array.ndim != ndim or not np.isfinite(array).all():
        raise ValueError(f"{what}: expected finite {ndim}-D features, got shape {array.shape}")
    return array


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    def write(temporary: Path) -> None:
        with temporary.open("wb") as handle:
            np.savez(handle, **arrays)

    atomic_write(path, write)
