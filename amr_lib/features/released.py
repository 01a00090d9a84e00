"""Pre-extracted features as the AMR authors release them (Lighthouse's layout), read as is.

The paper's authors distribute MS-CLAP 2023 features for Clotho-Moment, the UnAV-100 subset,
TUT Sound Events 2017 and CASTELLA (Lighthouse's README, "features/<dataset>/")::

    {root}/clap/{vid}.npz           key "features"           (T, 768)  one frame per second
    {root}/clap_text/qid{qid}.npz   key "last_hidden_state"  (L, 768)  the query's tokens

Lighthouse's loader (``StartEndDataset``) reads exactly these keys, keeps the first
``max_q_l = 32`` tokens, and L2-normalises both (AM-DETR normalises its inputs itself, so
nothing else is done here). Frames are one per ``clip_length = 1`` s for every AMR dataset.

:meth:`~ReleasedFeatures.read` returns the arrays of a set of queries (numpy, checked);
:meth:`amr_lib.model.data.MomentSplit.from_arrays` builds the tensors from them like from
features this library extracts, so ``amr train --features DIR`` trains AM-DETR on the
released features without simulating or embedding anything. Every file that is missing or
unusable is reported with its path before any training starts.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib.lighthouse_jsonl import MomentAnnotation, QueryId

AUDIO_KEY = "features"
TOKENS_KEY = "last_hidden_state"
MAX_QUERY_TOKENS = 32           # Lighthouse's max_q_l
CLIP_LENGTH_S = 1.0             # Lighthouse's clip_length for Clotho-Moment, UnAV, TUT, CASTELLA
CHECKPOINT_KEY = "released_features"   # in a checkpoint's extra: ReleasedFeatures.reference()


@dataclass(frozen=True)
class ReleasedArrays:
    """The features of a set of queries: ``frames[i]`` ``(T_i, D)`` of recording
    ``vids[i]``, ``tokens[q]`` ``(L_q, H)`` of the ``q``-th query, one frame per ``hop_s``."""

    vids: list[str]
    frames: list[np.ndarray]
    tokens: list[np.ndarray]
    hop_s: float


class ReleasedFeatureError(ValueError):
    """A released feature folder that cannot be used as it is (names the file)."""


@dataclass(frozen=True)
class ReleasedFeatures:
    """A folder of released features (see the module docstring).

    ``audio`` and ``text`` name the two sub-folders; ``hop_s`` is the seconds per frame;
    ``max_tokens`` the query length kept (Lighthouse's 32).
    """

    root: Path
    audio: str = "clap"
    text: str = "clap_text"
    hop_s: float = CLIP_LENGTH_S
    max_tokens: int = MAX_QUERY_TOKENS

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        if self.hop_s <= 0 or self.max_tokens < 1:
            raise ValueError(f"hop_s and max_tokens must be positive: {self}")
        for folder in (self.audio_dir, self.text_dir):
            if not folder.is_dir():
                raise ReleasedFeatureError(
                    f"{folder}: no such folder; released features are laid out as "
                    f"DIR/{self.audio}/{{vid}}.npz and DIR/{self.text}/qid{{qid}}.npz")

    @property
    def audio_dir(self) -> Path:
        return self.root / self.audio

    @property
    def text_dir(self) -> Path:
        return self.root / self.text

    def audio_path(self, vid: str) -> Path:
        return self.audio_dir / f"{vid}.npz"

    def tokens_path(self, qid: QueryId) -> Path:
        return self.text_dir / f"qid{qid}.npz"

    def load_audio(self, vid: str) -> np.ndarray:
        """``(T, D)`` float32 frames of recording ``vid``."""
        return _load(self.audio_path(vid), AUDIO_KEY, f"recording {vid!r}")

    def load_tokens(self, qid: QueryId) -> np.ndarray:
        """``(L, H)`` float32 token states of query ``qid``, the first ``max_tokens``."""
        return _load(self.tokens_path(qid), TOKENS_KEY, f"query {qid!r}")[:self.max_tokens]

    def missing(self, annotations: Sequence[MomentAnnotation]) -> list[Path]:
        """The files ``annotations`` need that are not in the folder."""
        needed = ([self.audio_path(vid) for vid in sorted({a.vid for a in annotations})]
                  + [self.tokens_path(a.qid) for a in annotations])
        return [path for path in needed if not path.is_file()]

    def read(self, annotations: Sequence[MomentAnnotation], where: str = "annotations"
             ) -> ReleasedArrays:
        """Every recording and query of ``annotations``; raises
        :class:`ReleasedFeatureError` naming the missing files (``where`` names the
        annotation file in the message) or the first file of another width."""
        missing = self.missing(annotations)
        if missing:
            shown = ", ".join(str(path) for path in missing[:3])
            raise ReleasedFeatureError(
                f"{where}: {len(missing)} feature file(s) missing in {self.root} "
                f"(first: {shown})")
        vids = sorted({a.vid for a in annotations})
        frames = [self.load_audio(vid) for vid in vids]
        tokens = [self.load_tokens(a.qid) for a in annotations]
        _same_width(frames, [self.audio_path(v) for v in vids])
        _same_width(tokens, [self.tokens_path(a.qid) for a in annotations])
        return ReleasedArrays(vids, frames, tokens, self.hop_s)

    def reference(self) -> dict[str, Any]:
        """What a checkpoint stores about its inputs (no machine path)."""
        reference = asdict(self)
        del reference["root"]
        return reference


def _load(path: Path, key: str, what: str) -> np.ndarray:
    if not path.is_file():
        raise ReleasedFeatureError(f"{path}: no features for {what}")
    try:
        with np.load(path) as archive:
            found = archive.files
            array = np.asarray(archive[key], dtype=np.float32) if key in found else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as problem:
        raise ReleasedFeatureError(f"{path}: not a readable .npz file ({problem})") from None
    if array is None:
        raise ReleasedFeatureError(f"{path}: no array {key!r} (found "
                                   f"{', '.join(found) or 'none'})")
    if array.ndim != 2 or len(array) == 0:
        raise ReleasedFeatureError(f"{path}: {key!r} must be a non-empty (length, width) "
                                   f"array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ReleasedFeatureError(f"{path}: {key!r} holds NaN or infinite values")
    return array


def _same_width(arrays: Sequence[np.ndarray], paths: Sequence[Path]) -> None:
    width = arrays[0].shape[1]
    for array, path in zip(arrays, paths, strict=True):
        if array.shape[1] != width:
            raise ReleasedFeatureError(f"{path}: {array.shape[1]} wide, but {paths[0]} is "
                                       f"{width} wide")
