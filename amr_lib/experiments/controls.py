"""Blind controls: does a moment-retrieval method listen and read, or has it learnt priors?

- **query-blind**: every query is replaced by a query of another recording
  (:func:`swap_queries`); a method that reads scores far lower on the original labels.
- **audio-blind**: one constant moment for every query, the one that scores best on the
  training labels (:func:`best_constant_moment`); a method that listens beats it.
- **same-recording discrimination**: on recordings with two or more events, does the top
  moment land on the queried event or on another event of the same recording
  (:func:`discrimination`)?
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.metrics import IOU_THRESHOLDS
from amr_lib.model.data import MomentSplit
from amr_lib.spans import temporal_iou


def swap_donors(recordings: np.ndarray) -> np.ndarray:
    """``(Q,)`` recording index of each query -> ``(Q,)`` index of a query of *another*
    recording for each: queries sorted by recording, shifted by the most queries any one
    recording has (so a donor never shares its taker's recording). ``ValueError`` when one
    recording holds more than half the queries, where no such shift exists."""
    recordings = np.asarray(recordings)
    if len(np.unique(recordings)) < 2:
        raise ValueError("swapping queries needs queries of at least two recordings")
    order = np.argsort(recordings, kind="stable")
    shift = np.bincount(np.unique(recordings, return_inverse=True)[1]).max()
    if 2 * shift > len(recordings):
        # the shift would wrap a query of that recording round onto its own recording
        raise ValueError(f"one recording holds {shift} of the {len(recordings)} queries, "
                         "more than half: not every query can take one of another "
                         "recording")
    donors = np.empty_like(order)
    donors[order] = np.roll(order, -shift)
    return donors


def swap_queries(split: MomentSplit) -> MomentSplit:
    """``split`` with every query's tokens taken from a query of another recording; the
    labels (annotations) stay the original ones."""
    donors = swap_donors(split.recording.cpu().numpy())
    index = np.asarray(donors)
    return replace(split, tokens=split.tokens[index], token_mask=split.token_mask[index])


@dataclass(frozen=True)
class ConstantMoment:
    """The audio-blind answer: ``[start_s, end_s]`` for every query, and its average mAP
    (percent) on the labels it was chosen on."""

    start_s: float
    end_s: float
    train_average_map: float

    def predictions(self, annotations: Sequence[MomentAnnotation]) -> list[MomentPrediction]:
        """The moment (clamped to each recording) as every query's single prediction."""
        return [MomentPrediction(a.qid, a.query, a.vid, np.array(
            [[min(self.start_s, a.duration), min(self.end_s, a.duration), 1.0]]))
            for a in annotations]


def best_constant_moment(annotations: Sequence[MomentAnnotation], hop_s: float = 1.0
                         ) -> ConstantMoment:
    """Of all moments on the ``hop_s`` grid within the longest recording, the one whose
    average mAP over ``annotations`` is highest (ties: the earliest, then the shortest).

    With one prediction per query, AP at IoU ``t`` is ``1 / G`` if the moment overlaps one
    of the query's ``G`` windows by ``IoU >= t`` and 0 otherwise, as the metrics score it."""
    if not annotations:
        raise ValueError("no annotations to choose a constant moment on")
    steps = round(max(a.duration for a in annotations) / hop_s)
    start, end = np.triu_indices(steps + 1, k=1)
    candidates = np.stack([start, end], axis=1) * hop_s                       # (C, 2)
    total = np.zeros(len(candidates))
    thresholds = np.asarray(IOU_THRESHOLDS)
    for annotation in annotations:
        windows = annotation.relevant_windows                                 # (G, 2)
        iou = temporal_iou(candidates, windows).max(axis=1)                   # (C,)
        total += (iou[:, None] >= thresholds).mean(axis=1) / len(windows)
    best = int(np.argmax(total))
    return ConstantMoment(float(candidates[best, 0]), float(candidates[best, 1]),
                          float(100 * total[best] / len(annotations)))


@dataclass(frozen=True)
class Discrimination:
    """Top moments on recordings with several events: the share (percent) landing on the
    queried event, on another event of the same recording, or on neither; ``queries``
    counts the queries of such recordings."""

    on_queried: float
    on_other: float
    on_neither: float
    queries: int


def top_ious(annotations: Sequence[MomentAnnotation],
             predictions: Sequence[MomentPrediction]) -> np.ndarray:
    """``(Q,)`` IoU of each query's top-ranked moment with its best-matching true window."""
    return np.array([temporal_iou(p.pred_relevant_windows[:1, :2], a.relevant_windows).max()
                     for a, p in zip(annotations, predictions, strict=True)])


def top_moment_lands(prediction: MomentPrediction, annotation: MomentAnnotation,
                     other_windows: np.ndarray) -> str:
    """Where the top moment lies: ``"queried"`` when its best IoU with the queried event's
    windows is at least its best IoU with ``other_windows`` ``(M, 2)`` (the recording's
    other events, possibly none), ``"other"`` when below, ``"neither"`` when it overlaps
    no event."""
    top = prediction.pred_relevant_windows[:1, :2]
    own = temporal_iou(top, annotation.relevant_windows).max()
    other = temporal_iou(top, other_windows).max() if len(other_windows) else 0.0
    return "neither" if max(own, other) <= 0 else "queried" if own >= other else "other"


def several_events(annotations: Sequence[MomentAnnotation]) -> np.ndarray:
    """``(Q,)`` bool, in annotation order: the query's recording holds another query's
    event too (where a prior of position and length cannot tell which one is asked)."""
    counts: dict[str, int] = {}
    for annotation in annotations:
        counts[annotation.vid] = counts.get(annotation.vid, 0) + 1
    return np.array([counts[a.vid] > 1 for a in annotations], dtype=bool)


def other_event_windows(annotations: Sequence[MomentAnnotation]) -> list[np.ndarray]:
    """Per annotation, in order: the ``(M, 2)`` windows of the *other* events of its
    recording (``(0, 2)`` for a one-event recording)."""
    by_vid: dict[str, list[MomentAnnotation]] = {}
    for annotation in annotations:
        by_vid.setdefault(annotation.vid, []).append(annotation)
    windows = []
    for annotation in annotations:
        others = [a.relevant_windows for a in by_vid[annotation.vid] if a is not annotation]
        windows.append(np.concatenate(others) if others else np.zeros((0, 2)))
    return windows


def landings(annotations: Sequence[MomentAnnotation],
             predictions: Sequence[MomentPrediction]) -> list[str]:
    """Where each query's top moment lies (:func:`top_moment_lands` against the other
    events of its recording), in annotation order."""
    by_qid = {p.qid: p for p in predictions}
    return [top_moment_lands(by_qid[annotation.qid], annotation, others)
            for annotation, others in zip(annotations, other_event_windows(annotations),
                                          strict=True)]


def lands_on_queried(annotations: Sequence[MomentAnnotation],
                     predictions: Sequence[MomentPrediction]) -> np.ndarray:
    """``(Q,)`` percent per query: 100 when the top moment lands on the queried event, else
    0; its mean over the :func:`several_events` queries is
    ``Discrimination.on_queried``, and the evidence rule resamples it like a metric."""
    return np.array([100.0 if outcome == "queried" else 0.0
                     for outcome in landings(annotations, predictions)])


def discrimination(annotations: Sequence[MomentAnnotation],
                   predictions: Sequence[MomentPrediction]) -> Discrimination:
    """Compare each top moment's best IoU with the queried event's windows against its
    best IoU with the other events of the same recording (ties go to the queried event;
    no overlap with either is "neither"), over the queries of recordings with several
    events."""
    keep = several_events(annotations)
    outcomes = [outcome for outcome, kept in zip(landings(annotations, predictions), keep,
                                                 strict=True) if kept]
    count = len(outcomes)
    if not count:
        raise ValueError("no recording has two or more events")
    share = {kind: 100 * outcomes.count(kind) / count for kind in ("queried", "other",
                                                                  "neither")}
    return Discrimination(share["queried"], share["other"], share["neither"], count)
