"""Zero-shot sound event detection (SED) from moments, scored as the paper's script does.

An AMR model becomes a sound event detector when each class name, put in a prompt
("the sound of a dog barking"), is a query: its moments above a score threshold say where
the class is active. The paper scores this like SED:

- time is cut into frames of ``frame_s = 1`` s, ``F = ceil(duration / frame_s)`` per
  recording;
- a moment ``[start, end]`` covers frames ``int(start / frame_s)`` to
  ``int(end / frame_s)``, **both ends inclusive** (so a moment ending exactly on a frame
  boundary also covers the frame that starts there), cut to the recording; the reference
  events are turned into frames by the same rule;
- a frame is active for a class where a predicted moment with score **above** the
  threshold covers it;
- precision, recall and F1 are micro-averaged over every (frame, class) cell of every
  recording (scikit-learn's ``average="micro"`` on the multilabel frame matrix).

Every detector (:mod:`amr_lib.sed.detectors`) answers in moments or frame scores that go
through this one rule.

A recording's frame matrix is ``(F, C)`` over the task's classes; a task stacks its
recordings' matrices in ``vid`` order into one ``(N, C)`` matrix, ``N`` the total frames.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

FRAME_S = 1.0
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class SedEvent:
    """One occurrence of class ``label`` in recording ``vid``, in seconds."""

    vid: str
    label: str
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not 0 <= self.start_s <= self.end_s:
            raise ValueError(f"event {self.label!r} in {self.vid!r} needs 0 <= start <= "
                             f"end, got {self.start_s}, {self.end_s}")


@dataclass(frozen=True)
class SedTask:
    """Recordings (``vid -> duration_s``), the classes asked for, and the true events."""

    durations: Mapping[str, float]
    labels: tuple[str, ...]
    events: tuple[SedEvent, ...]
    frame_s: float = FRAME_S

    def __post_init__(self) -> None:
        unknown = {e.label for e in self.events} - set(self.labels)
        missing = {e.vid for e in self.events} - set(self.durations)
        if unknown or missing:
            raise ValueError(f"events of unknown classes {sorted(unknown)} or recordings "
                             f"{sorted(missing)}")
        if len(set(self.labels)) != len(self.labels) or self.frame_s <= 0:
            raise ValueError("labels must be distinct and frame_s positive")

    @property
    def vids(self) -> list[str]:
        return sorted(self.durations)

    def frames(self, vid: str) -> int:
        return frame_count(self.durations[vid], self.frame_s)

    def reference(self) -> np.ndarray:
        """``(N, C)`` bool: where each class truly is, by the frame rule."""
        column = {label: c for c, label in enumerate(self.labels)}
        offsets = self._offsets()
        matrix = np.zeros((offsets[-1], len(self.labels)), dtype=bool)
        for event in self.events:
            first, last = covered_frames(event.start_s, event.end_s, self.frames(event.vid),
                                         self.frame_s)
            start = offsets[self.vids.index(event.vid)]
            matrix[start + first:start + last + 1, column[event.label]] = True
        return matrix

    def moment_scores(self, moments: Mapping[tuple[str, str], np.ndarray]) -> np.ndarray:
        """``(N, C)`` float: per cell, the highest score of a moment covering it (``-inf``
        where none does). ``moments[(vid, label)]`` are ``(K, 3)`` ``[start_s, end_s,
        score]`` rows; a pair that is not given has no moments."""
        offsets = self._offsets()
        scores = np.full((offsets[-1], len(self.labels)), -np.inf)
        for r, vid in enumerate(self.vids):
            for c, label in enumerate(self.labels):
                rows = moments.get((vid, label))
                if rows is not None and len(rows):
                    scores[offsets[r]:offsets[r + 1], c] = frame_scores(
                        rows, self.frames(vid), self.frame_s)
        return scores

    def _offsets(self) -> np.ndarray:
        return np.cumsum([0] + [self.frames(vid) for vid in self.vids])


def frame_count(duration_s: float, frame_s: float = FRAME_S) -> int:
    return max(1, math.ceil(duration_s / frame_s - 1e-9))


def covered_frames(start_s: float, end_s: float, frames: int, frame_s: float = FRAME_S
                   ) -> tuple[int, int]:
    """First and last frame (inclusive) a moment covers, cut to ``[0, frames - 1]``."""
    first = min(int(start_s / frame_s), frames - 1)
    return first, max(first, min(int(end_s / frame_s), frames - 1))


def frame_scores(moments: np.ndarray, frames: int, frame_s: float = FRAME_S) -> np.ndarray:
    """``(K, 3)`` moments -> ``(frames,)`` highest score covering each frame (``-inf``:
    none). A frame is then active at threshold ``t`` where this exceeds ``t``."""
    scores = np.full(frames, -np.inf)
    for start, end, score in np.asarray(moments, dtype=np.float64).reshape(-1, 3):
        first, last = covered_frames(start, end, frames, frame_s)
        np.maximum(scores[first:last + 1], score, out=scores[first:last + 1])
    return scores


def micro_scores(reference: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    """Micro-averaged precision, recall and F1 (fractions) over every cell of two
    ``(N, C)`` bool frame matrices (scikit-learn; 0 where undefined).

    Micro-averaging pools the cells of all classes, so it is the binary score of the
    flattened matrices; flattening also keeps one class (``C = 1``) from being read as a
    two-class problem, which scikit-learn does with an ``(N, 1)`` column."""
    if reference.shape != decided.shape:
        raise ValueError(f"frame matrices differ: {reference.shape} vs {decided.shape}")
    precision, recall, f1, _ = precision_recall_fscore_support(
        reference.ravel().astype(int), decided.ravel().astype(int), average="binary",
        pos_label=1, zero_division=0)
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def f1_curve(reference: np.ndarray, scores: np.ndarray, thresholds: Sequence[float]
             ) -> dict[str, np.ndarray]:
    """Precision, recall and F1 at each threshold, deciding ``scores > threshold``
    (``(H,)`` arrays; the same counts as :func:`micro_scores`, without a call per
    threshold)."""
    thresholds = np.asarray(thresholds, dtype=np.float64)
    decided = scores[None] > thresholds[:, None, None]                  # (H, N, C)
    true_pos = (decided & reference).sum(axis=(1, 2)).astype(np.float64)
    predicted = decided.sum(axis=(1, 2))
    actual = reference.sum()
    precision = np.divide(true_pos, predicted, out=np.zeros_like(true_pos),
                          where=predicted > 0)
    recall = true_pos / actual if actual else np.zeros_like(true_pos)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(both), where=both > 0)
    return {"threshold": thresholds, "precision": precision, "recall": recall, "f1": f1}
