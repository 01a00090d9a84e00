"""The two corpus protocols the simulation reads: captioned clips and long backgrounds.

A corpus lists light metadata eagerly (ids, captions, durations, splits) and loads audio
lazily, one clip or one background range at a time. Audio comes back as ``(N,)`` float32
mono at the corpus's ``sample_rate``; the simulation resamples to its own rate.
``fingerprint()`` is a JSON-able identity of the corpus's content, used as a cache key.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SPLITS = ("train", "valid", "test")
CAPTIONS_PER_CLIP = 5
BACKGROUND_SPLIT_RATIOS = (7, 1, 2)   # train : valid : test, by recording (Clotho-Moment)


class CorpusError(ValueError):
    """A corpus that cannot be used as it is (missing files, bad metadata, empty)."""


@dataclass(frozen=True)
class ClipInfo:
    """One captioned clip: an id unique in its corpus, five captions, and its split."""

    clip_id: str
    captions: tuple[str, ...]
    split: str

    def __post_init__(self) -> None:
        _check_split(self.split, self.clip_id)
        captions = tuple(self.captions)
        if len(captions) != CAPTIONS_PER_CLIP or not all(
                isinstance(c, str) and c.strip() for c in captions):
            raise CorpusError(f"clip {self.clip_id!r}: needs {CAPTIONS_PER_CLIP} non-empty "
                              f"captions, got {list(captions)!r}")
        object.__setattr__(self, "captions", captions)


@dataclass(frozen=True)
class RecordingInfo:
    """One long background recording: an id, its length in seconds, and its split."""

    recording_id: str
    duration_s: float
    split: str

    def __post_init__(self) -> None:
        _check_split(self.split, self.recording_id)


class ClipCorpus(ABC):
    """Captioned sound clips (Clotho, ESC-50, synthetic)."""

    name: str
    sample_rate: int

    @abstractmethod
    def _clip_infos(self) -> Sequence[ClipInfo]:
        """All clips, in a fixed order."""

    @abstractmethod
    def load(self, clip_id: str) -> np.ndarray:
        """The clip's audio, ``(N,)`` float32 mono at ``self.sample_rate``."""

    @abstractmethod
    def fingerprint(self) -> dict[str, Any]:
        """JSON-able identity of the content (changes when the clips would change)."""

    def category(self, clip_id: str) -> str:
        """The clip's sound class, for corpora labelled by class (ESC-50, synthetic)."""
        raise CorpusError(f"clip corpus {self.name!r} has captions but no sound classes")

    def clips(self, split: str | None = None) -> list[ClipInfo]:
        """Clips of one split (or all), refusing an empty result with a clear error."""
        if split is not None:
            _check_split(split, self.name)
        chosen = [c for c in self._clip_infos() if split is None or c.split == split]
        if not chosen:
            raise CorpusError(f"clip corpus {self.name!r} has no clips"
                              + (f" in split {split!r}" if split else ""))
        return chosen

    def __iter__(self) -> Iterator[ClipInfo]:
        return iter(self._clip_infos())

    def __len__(self) -> int:
        return len(self._clip_infos())


class BackgroundCorpus(ABC):
    """Long background recordings (Walking Tours, urban ambience, synthetic)."""

    name: str
    sample_rate: int

    @abstractmethod
    def _recording_infos(self) -> Sequence[RecordingInfo]:
        """All recordings, in a fixed order."""

    @abstractmethod
    def load(self, recording_id: str, start_s: float = 0.0,
             duration_s: float | None = None) -> np.ndarray:
        """``(N,)`` float32 mono at ``self.sample_rate`` from ``start_s`` for ``duration_s``
        seconds (to the end when None)."""

    @abstractmethod
    def fingerprint(self) -> dict[str, Any]:
        """JSON-able identity of the content (changes when the audio would change)."""

    def recordings(self, split: str | None = None) -> list[RecordingInfo]:
        """Recordings of one split (or all), refusing an empty result with a clear error."""
        if split is not None:
            _check_split(split, self.name)
        chosen = [r for r in self._recording_infos() if split is None or r.split == split]
        if not chosen:
            raise CorpusError(f"background corpus {self.name!r} has no recordings"
                              + (f" in split {split!r}" if split else ""))
        return chosen

    def __iter__(self) -> Iterator[RecordingInfo]:
        return iter(self._recording_infos())

    def __len__(self) -> int:
        return len(self._recording_infos())


def split_by_recording(recording_ids: Sequence[str], seed: int,
                       ratios: Sequence[int] = BACKGROUND_SPLIT_RATIOS) -> dict[str, str]:
    """Assign whole recordings to train/valid/test in the given ratios (7:1:2 by default).

    Recordings are shuffled with ``seed`` first (the released generator kept directory
    order), so a split never depends on file naming. Counts are rounded as the released
    generator rounds them: ``round(n * 7/10)`` train, ``round(n * 1/10)`` valid, the rest test.
    """
    ordered = sorted(recording_ids)
    random.Random(seed).shuffle(ordered)
    total = sum(ratios)
    num_train = round(len(ordered) * ratios[0] / total)
    num_valid = round(len(ordered) * ratios[1] / total)
    return {rid: ("train" if i < num_train else "valid" if i < num_train + num_valid
                  else "test") for i, rid in enumerate(ordered)}


def _check_split(split: str, owner: str) -> None:
    if split not in SPLITS:
        raise CorpusError(f"{owner!r}: split must be one of {SPLITS}, got {split!r}")
