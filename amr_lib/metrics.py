"""Moment-retrieval metrics with exactly Lighthouse's semantics, vectorised.

This is the one implementation of R1@IoU, mAP@IoU and average mAP in the project. It
reproduces Lighthouse's ``standalone_eval`` (inherited from moment_detr) decision for
decision, but runs over all queries at once instead of one Python loop per query:

- **R1@t** (recall at one): the *first* predicted window of a query (predictions are ranked
  best first) is compared with the ground-truth window it overlaps most; a hit if
  ``IoU >= t``. Lighthouse measures this IoU with the hull of the two windows as the union,
  which equals the true union whenever they overlap; we do the same.
- **mAP@t**: per query, keep the first 10 predicted windows, sort them by descending score
  (stable: ties keep file order), then walk down the list: each prediction claims the
  still-unclaimed ground-truth window of highest IoU if that IoU is ``>= t`` (a true
  positive), otherwise it is a false positive. AP is the area under the interpolated
  precision-recall curve (VOC: the precision envelope summed over recall steps). mAP@t is
  the mean AP over queries.
- **average mAP**: the mean of mAP@t over ``t = 0.50, 0.55, ..., 0.95``.
- Reported values are percentages rounded to 2 decimals, as Lighthouse prints them.

One deliberate difference, on input Lighthouse cannot score: a query with an empty
prediction list crashes Lighthouse's R1 and silently leaves its mAP average; here it counts
as a miss and AP 0, so leaving queries out can never raise a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.spans import temporal_iou

IOU_THRESHOLDS: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
MAX_PREDICTIONS = 10  # Lighthouse keeps the first 10 windows of each query for mAP


@dataclass(frozen=True)
class MomentScores:
    """Unrounded per-query results for each IoU threshold.

    ``qids``: the ``Q`` query ids in annotation order; ``thresholds``: the ``T`` IoU levels;
    ``recall_at_1``: ``(Q, T)`` bool, top-1 hit; ``average_precision``: ``(Q, T)`` float64
    in ``[0, 1]``; ``true_positive``: ``(Q, T, K)`` bool, the matching outcome of each kept
    prediction in descending-score order (False at padding); ``prediction_valid``: ``(Q, K)``
    bool, which of those ranks hold a prediction; ``num_ground_truth``: ``(Q,)`` windows.
    """

    qids: tuple
    thresholds: tuple[float, ...]
    recall_at_1: np.ndarray
    average_precision: np.ndarray
    true_positive: np.ndarray
    prediction_valid: np.ndarray
    num_ground_truth: np.ndarray

    def summary(self) -> dict[str, float]:
        """Lighthouse's report: ``R1@t``, ``mAP@t`` and average ``mAP``, x100, 2 decimals."""
        r1 = self.recall_at_1.mean(axis=0)
        ap = self.average_precision.mean(axis=0)
        report = {f"R1@{t:g}": _percent(v) for t, v in zip(self.thresholds, r1, strict=True)}
        report |= {f"mAP@{t:g}": _percent(v) for t, v in zip(self.thresholds, ap, strict=True)}
        report["mAP"] = _percent(np.mean(ap))
        return report


def evaluate(
    annotations: Sequence[MomentAnnotation],
    predictions: Sequence[MomentPrediction],
    thresholds: Sequence[float] = IOU_THRESHOLDS,
) -> dict[str, float]:
    """Lighthouse's R1@t / mAP@t / average mAP report (percent, 2 decimals).

    Keys: ``R1@0.5`` ... ``R1@0.95``, ``mAP@0.5`` ... ``mAP@0.95`` and ``mAP`` (average).
    Raises ``ValueError`` naming the qids if predictions and annotations do not cover the
    same queries.
    """
    return score_queries(annotations, predictions, thresholds).summary()


def score_queries(
    annotations: Sequence[MomentAnnotation],
    predictions: Sequence[MomentPrediction],
    thresholds: Sequence[float] = IOU_THRESHOLDS,
) -> MomentScores:
    """Per-query R1 hits and AP at each threshold (see :class:`MomentScores`)."""
    ordered = _align(annotations, predictions)
    gt, gt_valid = pad_rows([a.relevant_windows for a in annotations], 2)
    pred, pred_valid = pad_rows([p.pred_relevant_windows[:MAX_PREDICTIONS] for p in ordered], 3)
    return score_padded(tuple(a.qid for a in annotations), pred, pred_valid, gt, gt_valid,
                        thresholds)


def score_padded(qids: tuple, pred: np.ndarray, pred_valid: np.ndarray, gt: np.ndarray,
                 gt_valid: np.ndarray, thresholds: Sequence[float] = IOU_THRESHOLDS
                 ) -> MomentScores:
    """:func:`score_queries` on arrays already padded: ``pred (Q, K, 3)`` ranked
    ``[start, end, score]`` rows (at most 10 used), ``pred_valid (Q, K)``, ``gt (Q, G, 2)``
    and ``gt_valid (Q, G)`` (at least one window per query). For callers that score many
    prediction sets at once, e.g. a grid of baseline settings stacked along ``Q``."""
    pred, pred_valid = pred[:, :MAX_PREDICTIONS], pred_valid[:, :MAX_PREDICTIONS]
    thresholds_array = np.asarray(thresholds, dtype=np.float64)
    recall_at_1 = _recall_at_1(pred, pred_valid, gt, gt_valid, thresholds_array)
    order = _score_order(pred, pred_valid)
    pred = np.take_along_axis(pred, order[..., None], axis=1)
    pred_valid = np.take_along_axis(pred_valid, order, axis=1)
    true_positive = _greedy_matching(pred, pred_valid, gt, gt_valid, thresholds_array)
    envelope = interpolated_precision(true_positive, pred_valid[:, None, :])
    num_gt = gt_valid.sum(axis=1)
    # Recall grows by 1/G exactly at true positives; AP sums envelope * recall step there.
    average_precision = (envelope * true_positive).sum(axis=-1) / num_gt[:, None]
    return MomentScores(
        qids=qids,
        thresholds=tuple(float(t) for t in thresholds),
        recall_at_1=recall_at_1,
        average_precision=average_precision,
        true_positive=true_positive,
        prediction_valid=pred_valid,
        num_ground_truth=num_gt,
    )


def _recall_at_1(pred, pred_valid, gt, gt_valid, thresholds) -> np.ndarray:
    """``(Q, T)`` bool: does the first prediction reach IoU >= t with its best GT window?"""
    top = pred[:, :1, :2]                                      # (Q, 1, 2)
    iou = np.where(gt_valid[:, None, :], temporal_iou(top, gt), -np.inf)[:, 0]  # (Q, G)
    best = gt[np.arange(len(gt)), iou.argmax(axis=1)]          # (Q, 2) first best window
    top = top[:, 0]
    # Lighthouse's paired IoU divides by the hull; equal to the union when spans overlap.
    overlap = np.clip(np.minimum(top[:, 1], best[:, 1]) - np.maximum(top[:, 0], best[:, 0]),
                      0, None)
    hull = np.maximum(top[:, 1], best[:, 1]) - np.minimum(top[:, 0], best[:, 0])
    hit_iou = np.divide(overlap, hull, out=np.zeros_like(overlap), where=hull != 0)
    return (hit_iou[:, None] >= thresholds) & pred_valid[:, :1]


def _score_order(pred, pred_valid) -> np.ndarray:
    """``(Q, K)`` ranks by descending score; stable, so ties keep file order (Python's sort)."""
    return np.argsort(np.where(pred_valid, -pred[..., 2], np.inf), axis=1, kind="stable")


def _greedy_matching(pred, pred_valid, gt, gt_valid, thresholds) -> np.ndarray:
    """``(Q, T, K)`` bool true positives of score-ordered predictions, all queries at once."""
    num_queries, num_thresholds = len(pred), len(thresholds)
    iou = np.where(gt_valid[:, None, :], temporal_iou(pred[..., :2], gt), -np.inf)  # (Q, K, G)
    claimed = np.zeros((num_queries, num_thresholds, gt.shape[1]), dtype=bool)   # (Q, T, G)
    true_positive = np.zeros((num_queries, num_thresholds, pred.shape[1]), dtype=bool)
    rows = np.arange(num_queries)[:, None]
    columns = np.arange(num_thresholds)[None, :]
    last_gt = gt.shape[1] - 1
    for rank in range(pred.shape[1]):
        candidate_iou = iou[:, None, rank, :]                                   # (Q, 1, G)
        eligible = (candidate_iou >= thresholds[None, :, None]) & ~claimed       # (Q, T, G)
        eligible &= pred_valid[:, None, rank, None]
        # Highest IoU wins; among equal IoUs the later window, as Lighthouse's reversed
        # argsort visits them.
        ranked_iou = np.where(eligible, candidate_iou, -np.inf)[..., ::-1]
        choice = last_gt - ranked_iou.argmax(axis=-1)                           # (Q, T)
        matched = eligible.any(axis=-1)                                         # (Q, T)
        claimed[rows, columns, choice] |= matched
        true_positive[:, :, rank] = matched
    return true_positive


def interpolated_precision(true_positive: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """VOC-interpolated precision at each rank: the best precision at that rank or later.

    ``true_positive``: ``(..., K)`` bool, predictions in score order; ``valid``: a mask
    broadcastable to it (False for padding). Returns ``(..., K)`` float64, 0 at padding.
    AP is the mean of this envelope over the ranks of the true positives, scaled by the
    share of ground-truth windows found: ``sum(envelope * true_positive) / num_gt``.
    """
    valid = np.broadcast_to(valid, true_positive.shape)
    tp_count = np.cumsum(true_positive, axis=-1)
    seen = np.cumsum(valid, axis=-1)
    precision = np.divide(tp_count, seen, out=np.zeros(tp_count.shape), where=seen > 0)
    precision *= valid
    # a trailing precision of 0 is implied after the last rank, so the envelope ends at >= 0
    return np.maximum.accumulate(precision[..., ::-1], axis=-1)[..., ::-1]


def _align(
    annotations: Sequence[MomentAnnotation], predictions: Sequence[MomentPrediction]
) -> list[MomentPrediction]:
    """Predictions in annotation order; refuse mismatched or repeated qids, naming them."""
    by_qid = {p.qid: p for p in predictions}
    gt_qids = [a.qid for a in annotations]
    problems = []
    if len(set(gt_qids)) != len(gt_qids):
        problems.append(f"annotations repeat qids {_some(_repeated(gt_qids))}")
    if len(by_qid) != len(predictions):
        problems.append(f"predictions repeat qids {_some(_repeated([p.qid for p in predictions]))}")
    missing = [q for q in gt_qids if q not in by_qid]
    if missing:
        problems.append(
            f"predictions are missing {len(missing)} annotated qid(s): {_some(missing)}")
    extra = sorted(set(by_qid) - set(gt_qids), key=str)
    if extra:
        problems.append(f"predictions have {len(extra)} qid(s) not in the annotations: "
                        f"{_some(extra)}")
    if not annotations:
        problems.append("there are no annotations to evaluate")
    if problems:
        raise ValueError("; ".join(problems))
    return [by_qid[q] for q in gt_qids]


def pad_rows(arrays: list[np.ndarray], columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack ragged ``(n_i, columns)`` arrays -> ``(Q, max n_i, columns)`` and a valid mask."""
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    width = max(int(lengths.max(initial=0)), 1)
    valid = np.arange(width)[None, :] < lengths[:, None]                       # (Q, width)
    padded = np.zeros((len(arrays), width, columns))
    if lengths.sum():
        padded[valid] = np.concatenate(arrays)
    return padded, valid


def _percent(fraction: float) -> float:
    return float(f"{100 * fraction:.2f}")


def _repeated(items: list) -> list:
    seen, repeated = set(), []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
        seen.add(item)
    return repeated


def _some(items: Sequence, limit: int = 10) -> str:
    shown = ", ".join(repr(item) for item in list(items)[:limit])
    return f"[{shown}{', ...' if len(items) > limit else ''}]"
