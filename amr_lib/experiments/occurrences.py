"""Queries with zero, one or several moments: is the sound there at all, and how often?

The paper's queries each have exactly one moment. A retrieval tool meets the other cases
all the time: a sound that is not in the recording (zero moments) and a sound that comes
back (several, the norm in CASTELLA). :func:`run_occurrences` measures both on a profile:

- **presence**: AM-DETR trained as in the paper (every query present) and trained with a
  share of absent pairs (``absent_share``, :mod:`amr_lib.presence`): the AUROC of the top
  score between present and absent test pairs, the shares kept and refused at the stored
  threshold, and what the absent pairs cost on the present test queries (R1, mAP);
- **several moments**: the profile simulated with ``instances`` (each drawn clip due 2 to
  5 times, ``SimulationConfig.instances``) and shorter gaps, so one split mixes
  single- and multi-moment queries (the walk still stops at the segment's end, so many
  clips fit only once). The paper's model (trained on single moments) and one trained on
  the mixed simulation are both scored on the mixed test split, single- and multi-moment
  queries apart (mAP uses every true window), and asked *how many* moments there are:
  :func:`distinct_moments` above a score threshold (tuned on validation for the exact
  count) against the true count (:func:`count_report`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from amr_lib.config import resolve_device
from amr_lib.experiments.results import METRICS, PROBABILITY_THRESHOLDS
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction, write_predictions
from amr_lib.metrics import evaluate
from amr_lib.presence import ABSENT_SHARE
from amr_lib.profiles import Profile
from amr_lib.runs.chain import train_profile
from amr_lib.spans import temporal_iou
from amr_lib.train import predict_split

OCCURRENCES = "occurrences.json"
INSTANCES = (2, 5)               # placements due per drawn clip in the mixed simulation
MIXED_GAP_S = 5.0                # its mean gap before each event (Algorithm 1: 30 s)
MATCH_IOU = 0.5                  # a true window counts as found at this IoU


def several_moments(profile: Profile, instances: tuple[int, int] = INSTANCES,
                    mean_gap_s: float = MIXED_GAP_S) -> Profile:
    """``profile`` simulated with ``instances`` placements due per drawn clip and a mean
    gap of ``mean_gap_s`` seconds: the mixed single/multi-moment simulation."""
    return replace(profile, name=f"{profile.name}-several",
                   simulation=replace(profile.simulation, instances=instances,
                                      mean_gap_s=mean_gap_s))


def distinct_moments(windows: np.ndarray, threshold: float, iou: float = MATCH_IOU
                     ) -> np.ndarray:
    """The moments a ranked ``(K, 3)`` ``[start_s, end_s, score]`` list asserts: those
    scored at least ``threshold``, best first, each dropped when it overlaps an already
    kept one by IoU above ``iou`` (the model's query slots often repeat a moment)."""
    kept: list[np.ndarray] = []
    for row in windows[np.argsort(-windows[:, 2], kind="stable")]:
        if row[2] < threshold:
            break
        if all(temporal_iou(row[None, :2], k[None, :2])[0, 0] <= iou for k in kept):
            kept.append(row)
    return np.array(kept).reshape(-1, 3)


def found_windows(truth: np.ndarray, asserted: np.ndarray, iou: float = MATCH_IOU) -> int:
    """How many of the ``(W, 2)`` true windows a distinct asserted moment matches at IoU
    ``>= iou``, one moment per window (the best one-to-one assignment)."""
    if len(asserted) == 0:
        return 0
    overlap = temporal_iou(truth, asserted[:, :2])                   # (W, M)
    rows, cols = linear_sum_assignment(-overlap)
    return int((overlap[rows, cols] >= iou).sum())


def count_report(annotations: Sequence[MomentAnnotation],
                 predictions: Sequence[MomentPrediction], threshold: float
                 ) -> dict[str, float]:
    """Counting on ``annotations``: the mean true and asserted count, the share of queries
    counted exactly, the mean absolute count error, and the share whose every true window
    is found (:func:`found_windows`)."""
    true, asserted, complete = [], [], []
    for a, p in zip(annotations, predictions, strict=True):
        moments = distinct_moments(p.pred_relevant_windows, threshold)
        true.append(len(a.relevant_windows))
        asserted.append(len(moments))
        complete.append(found_windows(a.relevant_windows, moments) == len(a.relevant_windows))
    true, asserted = np.array(true), np.array(asserted)
    return {"threshold": float(threshold), "queries": len(true),
            "true_mean": round(float(true.mean()), 3),
            "asserted_mean": round(float(asserted.mean()), 3),
            "exact_share": round(float((true == asserted).mean()), 4),
            "abs_error": round(float(np.abs(true - asserted).mean()), 3),
            "all_found_share": round(float(np.mean(complete)), 4)}


def count_threshold(annotations: Sequence[MomentAnnotation],
                    predictions: Sequence[MomentPrediction],
                    grid: Sequence[float] = PROBABILITY_THRESHOLDS) -> float:
    """The score threshold of ``grid`` that counts most queries exactly (the lowest of
    ties)."""
    shares = [count_report(annotations, predictions, t)["exact_share"] for t in grid]
    return float(grid[int(np.argmax(shares))])


def moment_count_parts(annotations: Sequence[MomentAnnotation]) -> dict[str, np.ndarray]:
    """Indices of the single-moment queries, the multi-moment ones and all of them."""
    several = np.array([len(a.relevant_windows) > 1 for a in annotations])
    return {"single": np.flatnonzero(~several), "multi": np.flatnonzero(several),
            "all": np.arange(len(annotations))}


def by_moment_count(annotations: Sequence[MomentAnnotation],
                    predictions: Sequence[MomentPrediction]) -> dict[str, dict[str, Any]]:
    """R1/mAP on the single-moment queries, the multi-moment ones and all of them."""
    report = {}
    for name, picked in moment_count_parts(annotations).items():
        if len(picked) == 0:
            continue
        scores = evaluate([annotations[i] for i in picked], [predictions[i] for i in picked])
        report[name] = {"queries": len(picked), **{m: scores[m] for m in METRICS}}
    return report


def run_occurrences(profile: Profile, device: str = "auto",
                    absent_share: float = ABSENT_SHARE,
                    instances: tuple[int, int] = INSTANCES, mean_gap_s: float = MIXED_GAP_S,
                    predictions_dir: str | Path | None = None) -> dict[str, Any]:
    """The whole study on ``profile`` (see the module docstring), as a JSON-able dict.
    With ``predictions_dir``, each model's predictions on the mixed test split are written
    there as Lighthouse JSONL (``<model>_on_mixed_test.jsonl``)."""
    used = resolve_device(device)
    runs = {"paper": train_profile(profile, device, progress=False),
            "absent": train_profile(profile, device, progress=False,
                                    absent_share=absent_share)}
    presence = {name: {**run.presence,
                       **{m: run.test_metrics[m] for m in METRICS}}
                for name, run in runs.items()}
    runs["mixed"] = train_profile(several_moments(profile, instances, mean_gap_s), device,
                                  progress=False)
    # its own valid and test splits, encoded by the same encoder as the profile's
    splits = {name: runs["mixed"].splits[name] for name in ("valid", "test")}
    valid, test = (splits[name].simulated.annotations for name in ("valid", "test"))
    parts = moment_count_parts(test)
    several: dict[str, Any] = {}
    for name in ("paper", "mixed"):
        model = runs[name].result.model.to(used)
        predicted = {split: predict_split(model, prepared.tensors(), device=used)
                     for split, prepared in splits.items()}
        threshold = count_threshold(valid, predicted["valid"])
        several[name] = {"scores": by_moment_count(test, predicted["test"]), "counting": {
            part: count_report([test[i] for i in parts[part]],
                               [predicted["test"][i] for i in parts[part]], threshold)
            for part in ("single", "multi")}}
        if predictions_dir is not None:
            write_predictions(Path(predictions_dir) / f"{name}_on_mixed_test.jsonl",
                              predicted["test"])
    return {"profile": profile.name, "absent_share": absent_share,
            "instances": list(instances), "mean_gap_s": mean_gap_s, "presence": presence,
            "several": several}
