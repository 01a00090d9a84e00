"""Zero-shot sound event detection (SED) from moments, scored as the authors' script does.

An AMR model becomes a sound event detector when each class name, put in a prompt
("the sound of a dog barking"), is a query: its moments above a score threshold say where
the class is active. The paper scores this with frame-level metrics but does not state a
frame rule; the authors' released evaluation (``zero-shot_sed_eval/evaluate.py`` in
h-munakata/Lighthouse-Wrapper-for-Audio-Moment-Retrieval) uses this one, and so does
every detector here (:mod:`amr_lib.sed.detectors`):

- frame ``t`` stands for the instant ``t * frame_s`` (``frame_s = 1`` s, so ``t = 0, 1, ...``
  seconds), ``F = ceil(duration / frame_s)`` frames per recording;
- a window ``[start, end]`` makes frame ``t`` active when ``start <= t * frame_s <= end``
  (both ends included; a window from 12.3 s to 17.0 s covers frames 13 to 17, and one
  past the end of the recording is cut there), for the reference events and for the
  predicted moments alike;
- a predicted moment counts where its score is strictly **above** the threshold;
- labels are the distinct queries (one prompt per class); precision, recall and F1 are
  micro-averaged over every (label, frame) cell of every recording.

:func:`evaluate_sed` applies this to Lighthouse JSONL files (``amr evaluate-sed``);
:class:`SedTask` to the book's simulated SED recordings, where a recording's frame matrix
is ``(F, C)`` over the task's classes and a task stacks its recordings' matrices in ``vid``
order into one ``(N, C)`` matrix, ``N`` the total frames.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction

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
            start = offsets[self.vids.index(event.vid)]
            covered = covered_frames(event.start_s, event.end_s, self.frames(event.vid),
                                     self.frame_s)
            matrix[start:start + len(covered), column[event.label]] |= covered
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
    """``ceil(duration / frame_s)``: the frames of a recording."""
    return math.ceil(duration_s / frame_s)


def covered_frames(start_s: float, end_s: float, frames: int, frame_s: float = FRAME_S
                   ) -> np.ndarray:
    """``(frames,)`` bool: the frames whose instant ``t * frame_s`` lies in ``[start_s,
    end_s]`` (both ends included; nothing beyond the recording)."""
    instants = np.arange(frames) * frame_s
    return (instants >= start_s) & (instants <= end_s)


def frame_scores(moments: np.ndarray, frames: int, frame_s: float = FRAME_S) -> np.ndarray:
    """``(K, 3)`` moments -> ``(frames,)`` highest score covering each frame (``-inf``:
    none). A frame is then active at threshold ``t`` where this exceeds ``t``."""
    scores = np.full(frames, -np.inf)
    for start, end, score in np.asarray(moments, dtype=np.float64).reshape(-1, 3):
        covered = covered_frames(start, end, frames, frame_s)
        scores[covered] = np.maximum(scores[covered], score)
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


def evaluate_sed(annotations: Sequence[MomentAnnotation],
                 predictions: Sequence[MomentPrediction],
                 threshold: float = DEFAULT_THRESHOLD) -> dict[str, float]:
    """Micro precision, recall and F1 (percent, unrounded) of ``predictions`` against the
    reference ``annotations`` (Lighthouse lines; the query is the label), as the authors'
    script computes them (see the module docstring). ``ValueError`` naming the line when a
    recording has two durations, a prediction names a recording or a label the reference
    lacks, or a reference recording has no prediction line (the script fails there too)."""
    labels = list(dict.fromkeys(a.query for a in annotations))
    row = {label: index for index, label in enumerate(labels)}
    reference: dict[str, np.ndarray] = {}
    durations: dict[str, float] = {}
    for a in annotations:
        if durations.setdefault(a.vid, a.duration) != a.duration:
            raise ValueError(f"reference qid {a.qid}: recording {a.vid!r} has duration "
                             f"{a.duration}, an earlier line gives {durations[a.vid]}")
        frames = frame_count(a.duration)
        matrix = reference.setdefault(a.vid, np.zeros((len(labels), frames), dtype=bool))
        for start, end in np.asarray(a.relevant_windows, dtype=np.float64).reshape(-1, 2):
            matrix[row[a.query]] |= covered_frames(start, end, frames)
    predicted = {vid: np.zeros_like(matrix) for vid, matrix in reference.items()}
    answered = set()
    for p in predictions:
        if p.vid not in reference:
            raise ValueError(f"prediction qid {p.qid}: recording {p.vid!r} is not in the "
                             "reference")
        if p.query not in row:
            raise ValueError(f"prediction qid {p.qid}: label {p.query!r} is not a query of "
                             "the reference")
        answered.add(p.vid)
        matrix = predicted[p.vid]
        for start, end, score in np.asarray(p.pred_relevant_windows,
                                            dtype=np.float64).reshape(-1, 3):
            if score > threshold:
                matrix[row[p.query]] |= covered_frames(start, end, matrix.shape[1])
    missing = sorted(set(reference) - answered)
    if missing:
        raise ValueError(f"{len(missing)} reference recording(s) have no prediction line, "
                         f"e.g. {missing[:3]}")
    # the script's layout: labels x frames of every recording side by side, micro-averaged
    # by scikit-learn over that indicator matrix
    order = list(reference)
    precision, recall, f1, _ = precision_recall_fscore_support(
        np.hstack([reference[v] for v in order]), np.hstack([predicted[v] for v in order]),
        average="micro", zero_division=0)
    return {"precision": float(precision) * 100, "recall": float(recall) * 100,
            "f1": float(f1) * 100}
