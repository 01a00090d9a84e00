import json
import random
import subprocess
import sys

import numpy as np
import pytest
import reference_metrics

from amr_lib.lighthouse_jsonl import (
    MomentAnnotation,
    MomentPrediction,
    read_annotations,
)
from amr_lib.metrics import IOU_THRESHOLDS, evaluate, score_queries

# DESIGN.md section 4: the hand-checkable case.
HAND_GT = {"q1": [[41.1, 48.1]], "q2": [[10, 30]], "q3": [[5.0, 10.6], [31.9, 39.1]]}
HAND_PRED = {
    "q1": [[41, 48, 0.9], [0, 10, 0.5]],
    "q2": [[15, 30, 0.8], [10, 30, 0.7]],
    "q3": [[32, 39, 0.9], [5, 11, 0.6], [0, 60, 0.1]],
}


def make(gt_by_qid, pred_by_qid, duration=60.0):
    annotations = [MomentAnnotation(q, f"query {q}", duration, f"v{q}", w)
                   for q, w in gt_by_qid.items()]
    predictions = [MomentPrediction(q, f"query {q}", f"v{q}", w) for q, w in pred_by_qid.items()]
    return annotations, predictions


def test_hand_checkable_case():
    report = evaluate(*make(HAND_GT, HAND_PRED))
    assert report["R1@0.5"] == report["R1@0.7"] == 100.0
    for t in ("0.5", "0.55", "0.6", "0.65", "0.7", "0.75"):
        assert report[f"mAP@{t}"] == 100.0
    assert report["mAP@0.8"] == report["mAP@0.85"] == report["mAP@0.9"] == 83.33
    assert report["mAP@0.95"] == 66.67
    assert report["mAP"] == 91.67
    # q1 IoU 6.9/7.1 = 0.972 and q2's top [15, 30] vs [10, 30] = 0.75: R1 drops above 0.75
    assert report["R1@0.8"] == 66.67
    assert list(report) == ([f"R1@{t:g}" for t in IOU_THRESHOLDS]
                            + [f"mAP@{t:g}" for t in IOU_THRESHOLDS] + ["mAP"])


def test_perfect_predictions_score_100():
    gt = {"a": [[1.5, 9.0]], "b": [[0.0, 60.0]], "c": [[5.0, 10.6], [31.9, 39.1], [50, 51]]}
    pred = {q: [[*w, 1.0 - 0.1 * i] for i, w in enumerate(ws)] for q, ws in gt.items()}
    assert set(evaluate(*make(gt, pred)).values()) == {100.0}


def test_query_order_does_not_matter():
    annotations, predictions = make(HAND_GT, HAND_PRED)
    base = evaluate(annotations, predictions)
    shuffled = random.Random(3)
    for _ in range(5):
        a, p = annotations[:], predictions[:]
        shuffled.shuffle(a)
        shuffled.shuffle(p)
        assert evaluate(a, p) == base


def test_wrong_top1_lowers_r1_but_not_map_when_a_later_prediction_is_right():
    gt = {"a": [[10.0, 20.0]]}
    right = evaluate(*make(gt, {"a": [[10.0, 20.0, 0.9], [40.0, 50.0, 0.5]]}))
    # the wrong window is listed first but scored lower: mAP re-sorts by score, R1 does not
    wrong_first = evaluate(*make(gt, {"a": [[40.0, 50.0, 0.5], [10.0, 20.0, 0.9]]}))
    assert right["R1@0.5"] == 100.0 and wrong_first["R1@0.5"] == 0.0
    assert right["mAP"] == wrong_first["mAP"] == 100.0
    # when the wrong window really is ranked first, AP halves: precision 1/2 at recall 1
    ranked_wrong = evaluate(*make(gt, {"a": [[40.0, 50.0, 0.9], [10.0, 20.0, 0.5]]}))
    assert ranked_wrong["R1@0.5"] == 0.0 and ranked_wrong["mAP"] == 50.0


def test_multi_window_ground_truth():
    gt = {"a": [[0.0, 10.0], [20.0, 30.0], [40.0, 50.0]]}
    # finds two of three windows, with a false positive in between
    pred = {"a": [[20.0, 30.0, 0.9], [55.0, 58.0, 0.8], [0.0, 10.0, 0.7]]}
    scores = score_queries(*make(gt, pred))
    # precision 1, 1/2, 2/3 at ranks 1..3; envelope 1 and 2/3 at the two hits; recall step 1/3
    np.testing.assert_allclose(scores.average_precision[0], (1 + 2 / 3) / 3)
    assert scores.recall_at_1.all()
    # one prediction cannot claim two windows: duplicates of a hit are false positives
    dup = score_queries(*make(gt, {"a": [[20.0, 30.0, 0.9], [20.0, 30.0, 0.8]]}))
    np.testing.assert_allclose(dup.average_precision[0], 1 / 3)


def test_top1_is_compared_with_its_best_overlapping_window():
    gt = {"a": [[0.0, 10.0], [20.0, 30.0]]}
    report = evaluate(*make(gt, {"a": [[21.0, 30.0, 0.9]]}))
    assert report["R1@0.9"] == 100.0 and report["R1@0.95"] == 0.0


def test_zero_predictions_count_as_miss_and_zero_ap():
    gt = {"a": [[0.0, 10.0]], "b": [[5.0, 15.0]]}
    report = evaluate(*make(gt, {"a": [[0.0, 10.0, 1.0]], "b": []}))
    assert report["R1@0.5"] == 50.0 and report["mAP"] == 50.0


def test_only_the_first_ten_predictions_count():
    gt = {"a": [[30.0, 40.0]]}
    misses = [[float(i), float(i) + 1, 0.9] for i in range(10)]
    eleventh_right = evaluate(*make(gt, {"a": [*misses, [30.0, 40.0, 0.99]]}))
    assert eleventh_right["mAP"] == 0.0  # dropped before re-sorting, as in Lighthouse
    tenth_right = evaluate(*make(gt, {"a": [*misses[:9], [30.0, 40.0, 0.99]]}))
    assert tenth_right["mAP"] == 100.0


def test_mismatched_qids_are_refused_with_their_names():
    annotations, predictions = make(HAND_GT, HAND_PRED)
    with pytest.raises(ValueError, match=r"missing 1 annotated qid\(s\): \['q2'\]"):
        evaluate(annotations, [p for p in predictions if p.qid != "q2"])
    extra = MomentPrediction("q9", "x", "v", [[0, 1, 1]])
    with pytest.raises(ValueError, match=r"not in the annotations: \['q9'\]"):
        evaluate(annotations, [*predictions, extra])
    with pytest.raises(ValueError, match="predictions repeat qids"):
        evaluate(annotations, [*predictions, predictions[0]])
    with pytest.raises(ValueError, match="no annotations"):
        evaluate([], [])


def random_case(rng: random.Random, num_queries: int):
    """Random queries with ties in scores and IoUs and rounded times, as real files have."""
    gt, pred = {}, {}
    for q in range(num_queries):
        windows = []
        for _ in range(rng.choice([1, 1, 2, 3, 5])):
            start = round(rng.uniform(0, 55), 1)
            windows.append([start, round(min(60.0, start + rng.uniform(0.5, 20)), 1)])
        gt[q] = windows
        preds = []
        for _ in range(rng.randint(0, 13)):
            if windows and rng.random() < 0.5:  # near a true window
                s, e = rng.choice(windows)
                start = max(0.0, s + rng.choice([-1, 0, 0, 1]) * rng.choice([0, 1, 2]))
                end = max(start, e + rng.choice([-1, 0, 1]) * rng.choice([0, 1, 2]))
            else:
                start = float(rng.randint(0, 58))
                end = start + rng.randint(0, 10)
            preds.append([start, end, rng.choice([0.9, 0.5, 0.5, 0.3, rng.random()])])
        pred[q] = preds
    return gt, pred


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_equals_the_per_query_reference(seed):
    gt, pred = random_case(random.Random(seed), 300)
    annotations, predictions = make(gt, pred)
    scores = score_queries(annotations, predictions)
    for i, q in enumerate(gt):
        for j, t in enumerate(IOU_THRESHOLDS):
            assert scores.recall_at_1[i, j] == reference_metrics.recall_at_1(gt[q], pred[q], t)
            assert scores.average_precision[i, j] == pytest.approx(
                reference_metrics.average_precision(gt[q], pred[q], t), abs=1e-12)
    assert scores.summary() == reference_metrics.evaluate(gt, pred)


def perfect_predictions(annotations):
    return [MomentPrediction(a.qid, a.query, a.vid,
                             [[s, e, 1.0] for s, e in a.relevant_windows.tolist()])
            for a in annotations]


def test_released_annotations_as_perfect_predictions(released_annotations):
    """Real released files (string and int qids, multi-window TUT 2017) score 100."""
    for name in ("clotho_moment_val_release.jsonl", "tut2017_test_release.jsonl"):
        annotations = read_annotations(released_annotations / name)
        assert set(evaluate(annotations, perfect_predictions(annotations)).values()) == {100.0}


def test_ten_window_cap_on_released_castella(released_annotations):
    """CASTELLA has queries with up to 25 windows: listing them all still loses recall,
    because only the first 10 predictions of a query count."""
    annotations = read_annotations(released_annotations / "castella_val_release.jsonl")
    predictions = perfect_predictions(annotations)
    report = evaluate(annotations, predictions)
    assert report["R1@0.95"] == 100.0 and report["mAP"] < 100.0
    gt = {a.qid: a.relevant_windows.tolist() for a in annotations}
    pred = {p.qid: p.pred_relevant_windows.tolist() for p in predictions}
    assert report == reference_metrics.evaluate(gt, pred)
    many = sum(len(w) > 10 for w in gt.values())
    expected = sum(min(1.0, 10 / len(w)) for w in gt.values()) / len(gt)
    assert many > 0 and report["mAP"] == float(f"{100 * expected:.2f}")


def test_released_clotho_moment_with_shifted_predictions_matches_reference(released_annotations):
    path = released_annotations / "clotho_moment_test_release.jsonl"
    annotations = read_annotations(path)[:800]
    rng = random.Random(7)
    gt = {a.qid: a.relevant_windows.tolist() for a in annotations}
    pred = {}
    for q, [[s, e]] in gt.items():
        shift = rng.choice([-3.0, -1.0, 0.0, 0.5, 2.0])
        pred[q] = [[max(0.0, s + shift), e + shift, 0.8], [0.0, 60.0, 0.2]]
    predictions = [MomentPrediction(q, "", "", w) for q, w in pred.items()]
    report = evaluate(annotations, predictions)
    assert report == reference_metrics.evaluate(gt, pred)
    assert 0 < report["mAP"] < 100
    assert json.loads(json.dumps(report)) == report


def test_metrics_do_not_import_torch():
    """`amr evaluate` stays fast: scoring JSONL needs numpy only, not torch's 1 s import."""
    code = "import sys, amr_lib.cli, amr_lib.metrics; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
