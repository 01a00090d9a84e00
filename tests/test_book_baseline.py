"""Chapter 5's examples chosen by rule, its tables and figures, on hand-made inputs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from amr_lib.baseline import BaselineParams
from amr_lib.book import baseline as book
from amr_lib.experiments.controls import Discrimination, top_ious
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction


def annotation(qid, vid, start, end, duration=30.0):
    return MomentAnnotation(qid, f"query {qid}", duration, vid, np.array([[start, end]]))


def prediction(qid, *windows):
    return MomentPrediction(qid, f"query {qid}", "v", np.array(windows, dtype=float))


ANNOTATIONS = [annotation(1, "a", 0, 10), annotation(2, "a", 20, 30),
               annotation(3, "b", 5, 15)]


def test_top_ious_and_where_the_top_moment_lands():
    predictions = [prediction(1, [0, 10, 0.9]), prediction(2, [0, 10, 0.8]),
                   prediction(3, [25, 30, 0.7])]
    np.testing.assert_allclose(top_ious(ANNOTATIONS, predictions), [1.0, 0.0, 0.0])
    assert book.where_top_lands(predictions, ANNOTATIONS, 0) == "on the queried event"
    assert book.where_top_lands(predictions, ANNOTATIONS, 1) == "on another event"
    assert book.where_top_lands(predictions, ANNOTATIONS, 2) == "on no event"


def test_filter_example_prefers_a_changed_filter_then_the_best_iou():
    params = BaselineParams(0.5, 3)
    blip = np.array([0.1, 0.9, 0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1])   # a blip is removed
    run = np.array([0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])    # nothing changes
    assert book.filter_changes(blip, params) == 1 and book.filter_changes(run, params) == 0
    predictions = [prediction(1, [0, 10, 0.9]), prediction(2, [20, 30, 0.8]),
                   prediction(3, [6, 15, 0.7])]
    # queries 1 and 2 hit exactly; only query 3's curve changes under the filter
    index, iou = book.filter_example([run, run, blip], predictions, ANNOTATIONS, params)
    assert index == 2 and iou == pytest.approx(0.9)
    index, _ = book.filter_example([run, run, run], predictions, ANNOTATIONS, params)
    assert index == 1                                          # ties: the last best
    assert book.fallback_share([run, np.zeros(10)], params) == 50.0


def test_head_to_head_shows_the_baseline_only_when_it_wins():
    assert book.head_to_head(np.array([0.9, 0.2]), np.array([0.1, 0.2])) == {
        "AM-DETR wins": 0}
    assert book.head_to_head(np.array([0.9, 0.2]), np.array([0.1, 0.7])) == {
        "AM-DETR wins": 0, "baseline wins": 1}


def test_seed_table_shows_a_spread_only_for_several_seeds():
    rows = [{"method": "baseline", "features": "contrastive", "n_seeds": 1, "mAP": 27.0,
             "mAP_std": 0.0},
            {"method": "am-detr", "features": "contrastive", "n_seeds": 3, "mAP": 30.0,
             "mAP_std": 2.5}]
    table = book.seed_table(rows, ["mAP"])
    assert table.loc[("baseline", "contrastive", 1), "mAP"] == "27.00"
    assert table.loc[("am-detr", "contrastive", 3), "mAP"] == "30.00 ± 2.50"


def test_quartile_rates_and_trend():
    frame = pd.DataFrame({"length (s)": np.arange(8.0), "AM-DETR": [0, 0, 0, 1, 1, 1, 1, 1],
                          "baseline": [1, 1, 0, 0, 0, 0, 0, 0]})
    centres, rates = book.quartile_rates(frame, "length (s)", ["AM-DETR", "baseline"])
    np.testing.assert_allclose(centres, [0.5, 2.5, 4.5, 6.5])
    np.testing.assert_allclose(rates["AM-DETR"], [0, 50, 100, 100])
    assert book.quartile_trend(frame, "length (s)", "baseline") == -100
    fig = book.plot_quartile_rates(frame, ["length (s)"])
    [ax] = fig.axes
    assert ax.get_ylabel() == "R1@0.7 (%)" and len(ax.lines) == 2
    plt.close(fig)


def test_discrimination_bars_label_only_wide_segments():
    shares = {"baseline": Discrimination(70.0, 25.0, 5.0, 40),
              "AM-DETR": Discrimination(90.0, 10.0, 0.0, 40)}
    ax = book.plot_discrimination(shares)
    assert [t.get_text() for t in ax.texts] == ["70 %", "25 %", "90 %", "10 %"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["baseline", "AM-DETR"]
    plt.close(ax.figure)


def test_head_to_head_figure_has_a_spectrogram_and_bars_per_pick():
    audio = np.random.default_rng(0).normal(0, 0.1, 16_000 * 30).astype(np.float32)
    detr = [prediction(1, [0, 10, 0.9]), prediction(2, [0, 10, 0.8]),
            prediction(3, [6, 15, 0.7])]
    base = [prediction(1, [20, 30, 0.9]), prediction(2, [20, 30, 0.8]),
            prediction(3, [6, 15, 0.7])]
    picks = {"AM-DETR wins": 0, "baseline wins": 1}
    fig = book.plot_head_to_head(picks, ANNOTATIONS, dict.fromkeys(picks, audio), 16_000,
                                 detr, base)
    assert len(fig.axes) >= 4
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "AM-DETR wins: 'query 1'" in titles and "baseline wins: 'query 2'" in titles
    plt.close(fig)
