"""Zero-shot SED scoring: the frame rule by hand, micro P/R/F1 against counts and
scikit-learn, the threshold curve, and the sliding-window detector on a constructed curve."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from amr_lib.sed.scoring import (
    SedEvent,
    SedTask,
    covered_frames,
    f1_curve,
    frame_count,
    frame_scores,
    micro_scores,
)


def test_frame_rule_is_inclusive_at_both_ends():
    assert frame_count(10.0) == 10 and frame_count(10.2) == 11
    assert covered_frames(2.0, 5.0, 10) == (2, 5)       # frame 5 starts at 5.0: covered
    assert covered_frames(2.5, 4.9, 10) == (2, 4)
    assert covered_frames(8.0, 12.0, 10) == (8, 9)      # cut to the recording
    assert covered_frames(3.0, 3.0, 10) == (3, 3)       # a point still covers its frame


def test_frame_scores_keep_the_best_moment_per_frame():
    moments = np.array([[1.0, 3.0, 0.4], [2.5, 4.0, 0.9]])
    np.testing.assert_array_equal(frame_scores(moments, 6),
                                  [-np.inf, 0.4, 0.9, 0.9, 0.9, -np.inf])


@pytest.fixture
def task() -> SedTask:
    # two recordings of 4 s and 3 s, two classes
    return SedTask({"b": 3.0, "a": 4.0}, ("dog", "rain"), (
        SedEvent("a", "dog", 0.0, 1.0),      # frames 0-1 of a
        SedEvent("a", "rain", 2.2, 3.5),     # frames 2-3 of a
        SedEvent("b", "dog", 1.0, 1.5),      # frame 1 of b
    ))


def test_reference_matrix_by_hand(task):
    expected = np.array([  # a: frames 0-3, then b: frames 0-2; columns dog, rain
        [1, 0], [1, 0], [0, 1], [0, 1],
        [0, 0], [1, 0], [0, 0]], dtype=bool)
    np.testing.assert_array_equal(task.reference(), expected)


def test_micro_scores_by_hand_and_like_scikit_learn(task):
    moments = {("a", "dog"): np.array([[0.0, 2.0, 0.8]]),      # frames 0-2: 2 hits, 1 FP
               ("a", "rain"): np.array([[3.0, 3.5, 0.3]]),     # below 0.5: ignored
               ("b", "rain"): np.array([[0.0, 0.5, 0.9]])}     # frame 0: FP
    scores = task.moment_scores(moments)
    decided = scores > 0.5
    result = micro_scores(task.reference(), decided)
    # TP 2, FP 2, FN 3 (a rain x2, b dog)
    assert result["precision"] == pytest.approx(2 / 4)
    assert result["recall"] == pytest.approx(2 / 5)
    assert result["f1"] == pytest.approx(2 * 0.5 * 0.4 / 0.9)
    curve = f1_curve(task.reference(), scores, [0.2, 0.5, 0.95])
    assert curve["f1"][1] == pytest.approx(result["f1"])
    # at 0.2 the rain moment counts too (frame 3 of a: TP)
    assert curve["precision"][0] == pytest.approx(3 / 5)
    assert curve["recall"][0] == pytest.approx(3 / 5)
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
