"""Zero-shot SED scoring: the frame rule by hand, micro P/R/F1 against counts and
scikit-learn, the threshold curve, and the sliding-window detector on a constructed curve."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.sed.scoring import (
    SedEvent,
    SedTask,
    covered_frames,
    evaluate_sed,
    f1_curve,
    frame_count,
    frame_scores,
    micro_scores,
)


def frames_of(start, end, frames):
    return np.flatnonzero(covered_frames(start, end, frames)).tolist()


def test_frame_rule_marks_the_instants_inside_the_window():
    assert frame_count(10.0) == 10 and frame_count(10.2) == 11
    assert frames_of(2.0, 5.0, 10) == [2, 3, 4, 5]     # both ends included
    assert frames_of(2.5, 4.9, 10) == [3, 4]           # instants 3 and 4 only
    assert frames_of(12.3, 17.0, 30) == [13, 14, 15, 16, 17]
    assert frames_of(8.0, 12.0, 10) == [8, 9]          # cut to the recording
    assert frames_of(3.0, 3.0, 10) == [3]              # a point on an instant covers it
    assert frames_of(3.2, 3.8, 10) == []               # a moment between instants: none


def test_frame_scores_keep_the_best_moment_per_frame():
    moments = np.array([[1.0, 3.0, 0.4], [2.5, 4.0, 0.9]])
    np.testing.assert_array_equal(frame_scores(moments, 6),
                                  [-np.inf, 0.4, 0.4, 0.9, 0.9, -np.inf])


@pytest.fixture
def task() -> SedTask:
    # two recordings of 4 s and 3 s, two classes
    return SedTask({"b": 3.0, "a": 4.0}, ("dog", "rain"), (
        SedEvent("a", "dog", 0.0, 1.0),      # instants 0, 1 of a
        SedEvent("a", "rain", 2.2, 3.5),     # instant 3 of a
        SedEvent("b", "dog", 1.0, 1.5),      # instant 1 of b
    ))


def test_reference_matrix_by_hand(task):
    expected = np.array([  # a: frames 0-3, then b: frames 0-2; columns dog, rain
        [1, 0], [1, 0], [0, 0], [0, 1],
        [0, 0], [1, 0], [0, 0]], dtype=bool)
    np.testing.assert_array_equal(task.reference(), expected)


def test_micro_scores_by_hand_and_like_scikit_learn(task):
    moments = {("a", "dog"): np.array([[0.0, 2.0, 0.8]]),      # frames 0-2: 2 hits, 1 FP
               ("a", "rain"): np.array([[3.0, 3.5, 0.3]]),     # below 0.5: ignored
               ("b", "rain"): np.array([[0.0, 0.5, 0.9]])}     # frame 0: FP
    scores = task.moment_scores(moments)
    decided = scores > 0.5
    result = micro_scores(task.reference(), decided)
    # TP 2, FP 2, FN 2 (a rain at 3, b dog at 1)
    assert result["precision"] == pytest.approx(2 / 4)
    assert result["recall"] == pytest.approx(2 / 4)
    assert result["f1"] == pytest.approx(0.5)
    curve = f1_curve(task.reference(), scores, [0.2, 0.5, 0.95])
    assert curve["f1"][1] == pytest.approx(result["f1"])
    # at 0.2 the rain moment counts too (frame 3 of a: TP)
    assert curve["precision"][0] == pytest.approx(3 / 5)
    assert curve["recall"][0] == pytest.approx(3 / 4)
    assert curve["f1"][2] == 0.0 and curve["precision"][2] == 0.0


def test_curve_equals_scikit_learn_on_random_matrices():
    rng = np.random.default_rng(0)
    reference = rng.random((200, 5)) < 0.2
    scores = rng.random((200, 5))
    thresholds = np.linspace(0.05, 0.95, 7)
    curve = f1_curve(reference, scores, thresholds)
    for h, threshold in enumerate(thresholds):
        decided = scores > threshold
        expected = micro_scores(reference, decided)
        # scikit-learn's own micro average over the multilabel matrix
        micro = precision_recall_fscore_support(reference.astype(int), decided.astype(int),
                                                average="micro", zero_division=0)
        for k, key in enumerate(("precision", "recall", "f1")):
            assert curve[key][h] == pytest.approx(expected[key])
            assert expected[key] == pytest.approx(micro[k])

def test_bad_tasks_are_refused():
    with pytest.raises(ValueError, match="unknown classes"):
        SedTask({"r": 5.0}, ("dog",), (SedEvent("r", "cat", 0, 1),))
    with pytest.raises(ValueError, match="start <= end"):
        SedEvent("r", "dog", 3.0, 1.0)
    with pytest.raises(ValueError, match="matrices differ"):
        micro_scores(np.zeros((3, 2), bool), np.zeros((2, 3), bool))


def annotation(qid, query, vid, duration, windows):
    return MomentAnnotation(qid, query, duration, vid, np.array(windows, dtype=float))


def prediction(qid, query, vid, windows):
    return MomentPrediction(qid, query, vid, np.array(windows, dtype=float).reshape(-1, 3))


def test_evaluate_sed_by_hand_with_fractional_times_and_windows_past_the_end():
    # one recording of 5.5 s: 6 frames at instants 0..5; two labels
    reference = [annotation(0, "dog", "r", 5.5, [[0.5, 2.0]]),     # instants 1, 2
                 annotation(1, "rain", "r", 5.5, [[3.9, 9.0]])]    # instants 4, 5 (cut)
    predictions = [prediction(0, "dog", "r", [[0.0, 1.2, 0.9],     # instants 0, 1
                                              [1.5, 2.5, 0.4]]),   # under 0.5: ignored
                   prediction(1, "rain", "r", [[4.0, 30.0, 0.6]])]  # instants 4, 5
    result = evaluate_sed(reference, predictions)
    # TP: dog@1, rain@4, rain@5 = 3; FP: dog@0 = 1; FN: dog@2 = 1
    assert result["precision"] == pytest.approx(75.0)
    assert result["recall"] == pytest.approx(75.0)
    assert result["f1"] == pytest.approx(75.0)
    # at 0.3 the second dog window counts: instant 2 becomes a hit
    lower = evaluate_sed(reference, predictions, threshold=0.3)
    assert lower["precision"] == pytest.approx(80.0) and lower["recall"] == 100.0
    # a score equal to the threshold does not count
    assert evaluate_sed(reference, predictions, threshold=0.9)["precision"] == 0.0


def authors_rule(reference, predictions, threshold):
    """The released script's computation written out independently, as a loop over
    (label, instant) cells: the oracle for random inputs."""
    labels = list(dict.fromkeys(a.query for a in reference))
    cells_true, cells_pred = set(), set()
    frames = {a.vid: int(np.ceil(a.duration)) for a in reference}
    for a in reference:
        for ts, te in a.relevant_windows:
            cells_true |= {(a.vid, a.query, t) for t in range(frames[a.vid]) if ts <= t <= te}
    for p in predictions:
        for ts, te, score in p.pred_relevant_windows:
            if score > threshold:
                cells_pred |= {(p.vid, p.query, t) for t in range(frames[p.vid])
                               if ts <= t <= te}
    assert labels
    hits = len(cells_true & cells_pred)
    precision = hits / len(cells_pred) if cells_pred else 0.0
    recall = hits / len(cells_true) if cells_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision * 100, recall * 100, f1 * 100


def test_evaluate_sed_equals_the_authors_rule_on_random_files():
    rng = np.random.default_rng(3)
    for trial in range(20):
        labels = [f"class {k}" for k in range(int(rng.integers(1, 5)))]
        reference, predictions, qid = [], [], 0
        for r in range(int(rng.integers(1, 4))):
            duration = float(rng.choice([10.0, 12.5, 30.25]))
            for label in labels:
                starts = np.round(rng.uniform(0, duration, 2), int(rng.integers(0, 3)))
                windows = [[s, min(s + rng.uniform(0.2, 8), duration + 2)] for s in starts]
                reference.append(annotation(qid, label, f"v{r}", duration, windows))
                guesses = rng.uniform(0, duration + 3, (5, 2))
                rows = np.column_stack([guesses.min(1), guesses.max(1), rng.random(5)])
                predictions.append(prediction(qid, label, f"v{r}", rows))
                qid += 1
        threshold = float(rng.choice([0.3, 0.5, 0.7]))
        ours = evaluate_sed(reference, predictions, threshold)
        expected = authors_rule(reference, predictions, threshold)
        assert [ours[k] for k in ("precision", "recall", "f1")] == pytest.approx(expected), trial


def test_evaluate_sed_names_what_does_not_fit():
    reference = [annotation(0, "dog", "r", 6.0, [[1.0, 2.0]])]
    with pytest.raises(ValueError, match="'x' is not in the reference"):
        evaluate_sed(reference, [prediction(0, "dog", "x", [])])
    with pytest.raises(ValueError, match="label 'cat' is not a query"):
        evaluate_sed(reference, [prediction(0, "cat", "r", [])])
    with pytest.raises(ValueError, match="no prediction line"):
        evaluate_sed([*reference, annotation(1, "dog", "s", 6.0, [[0, 1]])],
                     [prediction(0, "dog", "r", [])])
    with pytest.raises(ValueError, match=r"has duration 7\.0"):
        evaluate_sed([*reference, annotation(1, "cat", "r", 7.0, [[0, 1]])],
                     [prediction(0, "dog", "r", [])])


def test_the_evaluate_sed_command_prints_the_scores(tmp_path, capsys):
    from amr_lib.cli import main
    from amr_lib.lighthouse_jsonl import write_annotations, write_predictions

    write_annotations(tmp_path / "ref.jsonl", [
        annotation(0, "dog", "r", 5.5, [[0.5, 2.0]]),
        annotation(1, "rain", "r", 5.5, [[3.9, 9.0]])])
    write_predictions(tmp_path / "pred.jsonl", [
        prediction(0, "dog", "r", [[0.0, 1.2, 0.9], [1.5, 2.5, 0.4]]),
        prediction(1, "rain", "r", [[4.0, 30.0, 0.6]])])
    arguments = ["evaluate-sed", str(tmp_path / "ref.jsonl"), str(tmp_path / "pred.jsonl")]
    assert main([*arguments, "--json", "--threshold", "0.3"]) == 0
    assert json.loads(capsys.readouterr().out) == pytest.approx(
        {"precision": 80.0, "recall": 100.0, "f1": 800 / 9})
    assert main(arguments) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["75.00", "75.00", "75.00"]
    (tmp_path / "other.jsonl").write_text(
        '{"qid": 9, "query": "cat", "vid": "r", "pred_relevant_windows": []}\n')
    assert main(["evaluate-sed", str(tmp_path / "ref.jsonl"),
                 str(tmp_path / "other.jsonl")]) == 2
    assert "label 'cat' is not a query" in capsys.readouterr().err
