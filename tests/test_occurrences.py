"""Queries with zero, one or several moments (amr_lib.experiments.occurrences): counting by
hand, and `amr experiment occurrences` on the tiny profile."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TINY_EXPERIMENT, run_tiny_experiment

from amr_lib.experiments.occurrences import (
    by_moment_count,
    count_report,
    count_threshold,
    distinct_moments,
    found_windows,
    several_moments,
)
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction, read_predictions
from amr_lib.runs.chain import simulated


def annotation(qid, windows):
    return MomentAnnotation(qid, f"query {qid}", 40.0, "v", np.array(windows, dtype=float))


def prediction(qid, rows):
    return MomentPrediction(qid, f"query {qid}", "v", np.array(rows, dtype=float))


def test_distinct_moments_drop_low_scores_and_repeats_of_a_kept_moment():
    windows = np.array([[0, 10, 0.9], [1, 10, 0.8], [20, 25, 0.6], [30, 31, 0.3]])
    # [1, 10] repeats [0, 10] (IoU 0.9); [30, 31] is below the threshold
    np.testing.assert_array_equal(distinct_moments(windows, 0.5),
                                  [[0, 10, 0.9], [20, 25, 0.6]])
    # IoU exactly 0.5 is not a repeat ([0, 10] vs [0, 5])
    assert len(distinct_moments(np.array([[0, 10, 0.9], [0, 5, 0.8]]), 0.1)) == 2
    assert distinct_moments(windows, 0.95).shape == (0, 3)


def test_found_windows_match_one_moment_per_window():
    truth = np.array([[0, 10], [20, 25]])
    assert found_windows(truth, np.array([[0, 9, 0.9], [21, 25, 0.8]])) == 2
    # one long moment over both windows matches at most one, here neither (IoU < 0.5)
    assert found_windows(truth, np.array([[0, 25, 0.9]])) == 0
    assert found_windows(truth, np.array([[0, 10, 0.9], [1, 10, 0.8]])) == 1
    assert found_windows(truth, np.zeros((0, 3))) == 0


def test_count_report_by_hand():
    annotations = [annotation("1", [[0, 10], [20, 25]]), annotation("2", [[5, 8]])]
    predictions = [prediction("1", [[0, 10, 0.9], [20, 24, 0.7], [30, 35, 0.2]]),
                   prediction("2", [[5, 8, 0.6], [12, 20, 0.4]])]
    at_half = count_report(annotations, predictions, 0.5)
    assert at_half == {"threshold": 0.5, "queries": 2, "true_mean": 1.5, "asserted_mean": 1.5,
                       "exact_share": 1.0, "abs_error": 0.0, "all_found_share": 1.0}
    at_low = count_report(annotations, predictions, 0.1)   # every row asserted
    assert at_low["asserted_mean"] == 2.5 and at_low["exact_share"] == 0.0
    assert at_low["abs_error"] == 1.0 and at_low["all_found_share"] == 1.0
    assert count_threshold(annotations, predictions, [0.1, 0.5, 0.8]) == 0.5


def test_scores_by_moment_count_split_the_queries():
    annotations = [annotation("1", [[0, 10], [20, 25]]), annotation("2", [[5, 8]])]
    predictions = [prediction("1", [[0, 10, 0.9], [20, 25, 0.8]]),
                   prediction("2", [[30, 38, 0.6]])]
    report = by_moment_count(annotations, predictions)
    assert report["single"]["queries"] == 1 and report["single"]["R1@0.5"] == 0
    assert report["multi"]["queries"] == 1 and report["multi"]["mAP"] == 100
    assert report["all"]["queries"] == 2 and report["all"]["mAP"] == 50


def test_the_mixed_simulation_holds_single_and_multi_moment_queries():
    mixed = several_moments(TINY_EXPERIMENT)
    assert mixed.name != TINY_EXPERIMENT.name
    test = simulated(mixed, "test").annotations
    counts = [len(a.relevant_windows) for a in test]
    assert min(counts) == 1 and 2 <= max(counts) <= 5
    for a in test:
        windows = a.relevant_windows[np.argsort(a.relevant_windows[:, 0])]
        assert (windows[:, 0] >= 0).all() and (windows[:, 1] <= a.duration).all()
        assert (windows[1:, 0] >= windows[:-1, 1]).all()        # no two overlap


@pytest.fixture(scope="module")
def result(tmp_path_factory, tiny_experiment_cache):
    out = run_tiny_experiment("occurrences", tmp_path_factory.mktemp("occurrences"),
                              tiny_experiment_cache)
    return json.loads((out / "occurrences.json").read_text()), out


def test_the_study_reports_presence_and_several_moments_for_each_model(result):
    found, out = result
    assert set(found["presence"]) == {"paper", "absent"}
    assert 0 <= found["presence"]["paper"]["test_auroc"] <= 1
    # only the model trained with absent pairs has a stored threshold
    assert "threshold" in found["presence"]["absent"]
    assert "threshold" not in found["presence"]["paper"]
    test = simulated(several_moments(TINY_EXPERIMENT), "test").annotations
    for name in ("paper", "mixed"):
        scores = found["several"][name]["scores"]
        assert scores["single"]["queries"] + scores["multi"]["queries"] == len(test)
        counting = found["several"][name]["counting"]
        assert counting["single"]["true_mean"] == 1
        assert counting["multi"]["true_mean"] >= 2
        predicted = read_predictions(out / "predictions" / f"{name}_on_mixed_test.jsonl")
        assert [p.qid for p in predicted] == [a.qid for a in test]
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["command"].startswith("amr experiment occurrences --profile quick")
