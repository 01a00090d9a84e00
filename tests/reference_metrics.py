"""A slow, literal, one-query-at-a-time statement of Lighthouse's metric semantics.

It is the oracle that the vectorised ``amr_lib.metrics`` is checked against (tests) and the
per-query-loop baseline that ``benchmarks/metrics_speed.py`` measures the speed-up over.
Plain Python on lists, no numpy tricks, written to be read next to the rules in
``amr_lib/metrics.py``'s docstring.
"""

from __future__ import annotations

THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]


def iou(a, b):
    """Lighthouse's all-pairs IoU for one pair: union = len_a + len_b - intersection."""
    intersection = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = ((a[1] - a[0]) + (b[1] - b[0])) - intersection
    return intersection / union if union > 0 else 0.0


def hull_iou(a, b):
    """Lighthouse's paired IoU used by R1: the hull of the two windows as the union."""
    intersection = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    hull = max(a[1], b[1]) - min(a[0], b[0])
    return intersection / hull if hull != 0 else 0.0


def recall_at_1(gt_windows, pred_windows, threshold):
    if not pred_windows:
        return False
    top = pred_windows[0][:2]
    ious = [iou(top, g) for g in gt_windows]
    best = gt_windows[ious.index(max(ious))]
    return hull_iou(top, best) >= threshold


def average_precision(gt_windows, pred_windows, threshold, max_predictions=10):
    ranked = sorted(pred_windows[:max_predictions], key=lambda w: -w[2])
    claimed = [False] * len(gt_windows)
    hits = []
    for window in ranked:
        ious = [iou(window, g) for g in gt_windows]
        # visit GT windows by descending IoU, later index first among ties
        order = sorted(range(len(gt_windows)), key=lambda j: (ious[j], j), reverse=True)
        hit = False
        for j in order:
            if ious[j] < threshold:
                break
            if claimed[j]:
                continue
            claimed[j] = hit = True
            break
        hits.append(hit)
    # VOC interpolated AP: recall steps times the best precision at or after each step
    precisions = [sum(hits[: i + 1]) / (i + 1) for i in range(len(hits))]
    ap = 0.0
    for i, hit in enumerate(hits):
        if hit:
            ap += max(precisions[i:]) / len(gt_windows)
    return ap


def evaluate(gt_by_qid, pred_by_qid, thresholds=THRESHOLDS):
    """``{qid: [[s, e], ...]}``, ``{qid: [[s, e, score], ...]}`` -> Lighthouse's report."""
    qids = list(gt_by_qid)
    report = {}
    for t in thresholds:
        hits = [recall_at_1(gt_by_qid[q], pred_by_qid[q], t) for q in qids]
        report[f"R1@{t:g}"] = sum(hits) / len(qids)
    aps = []
    for t in thresholds:
        values = [average_precision(gt_by_qid[q], pred_by_qid[q], t) for q in qids]
        report[f"mAP@{t:g}"] = sum(values) / len(qids)
        aps.append(report[f"mAP@{t:g}"])
    report["mAP"] = sum(aps) / len(aps)
    return {key: float(f"{100 * value:.2f}") for key, value in report.items()}
