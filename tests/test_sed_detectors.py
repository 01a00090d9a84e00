"""Zero-shot SED detectors and the supervised reference (amr_lib.sed.detectors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from amr_lib.baseline import frame_similarity
from amr_lib.model.am_detr import AMDETR, AMDETRConfig
from amr_lib.model.postprocess import ranked_moments
from amr_lib.sed.detectors import (
    QUANTILE_LEVELS,
    FrameClassifier,
    best_threshold,
    detr_moments,
    f1_spread,
    frame_matrix,
    prompt_similarities,
    sliding_window_decisions,
    sliding_window_moments,
    validation_thresholds,
)
from amr_lib.sed.scoring import SedEvent, SedTask, f1_curve, micro_scores

AUDIO_DIM, TEXT_DIM = 12, 10


def tiny_model() -> AMDETR:
    torch.manual_seed(0)
    return AMDETR(AMDETRConfig(audio_dim=AUDIO_DIM, text_dim=TEXT_DIM, hidden_dim=32, heads=4,
                               ffn_dim=48, num_queries=5)).eval()


def test_every_pair_is_answered_and_batching_changes_nothing():
    rng = np.random.default_rng(0)
    frames = {"a": rng.normal(size=(9, AUDIO_DIM)), "b": rng.normal(size=(14, AUDIO_DIM))}
    prompts = {"dog": rng.normal(size=(3, TEXT_DIM)), "siren": rng.normal(size=(6, TEXT_DIM)),
               "rain": rng.normal(size=(2, TEXT_DIM))}
    durations = {"a": 9.0, "b": 13.5}
    model = tiny_model()
    batched = detr_moments(model, frames, prompts, durations, hop_s=1.0, batch_size=4,
                           top_k=5)
    assert set(batched) == {(v, c) for v in frames for c in prompts}
    for (vid, label), rows in batched.items():
        assert rows.shape == (5, 3)
        assert (np.diff(rows[:, 2]) <= 0).all()                  # best first
        # inside the recording, up to the rounding to whole hops (Lighthouse's rule)
        assert (rows[:, :2] >= 0).all() and (rows[:, :2] <= durations[vid] + 0.5).all()
        # the same pair alone, unpadded, gives the same moments
        with torch.no_grad():
            audio = torch.tensor(frames[vid], dtype=torch.float32)[None]
            tokens = torch.tensor(prompts[label], dtype=torch.float32)[None]
            out = model(audio, torch.ones(audio.shape[:2], dtype=torch.bool), tokens,
                        torch.ones(tokens.shape[:2], dtype=torch.bool))
        alone = ranked_moments(out["pred_logits"], out["pred_spans"],
                               torch.tensor([len(frames[vid]) * 1.0]),
                               torch.tensor([durations[vid]]), 1.0, 5)[0]
        np.testing.assert_allclose(rows, alone, atol=1e-5)


def test_prompt_similarities_are_the_cosine_curves():
    rng = np.random.default_rng(1)
    frames = {"a": rng.normal(size=(5, 4)), "b": rng.normal(size=(3, 4))}
    prompts = {"x": rng.normal(size=4), "y": rng.normal(size=4)}
    curves = prompt_similarities(frames, prompts)
    assert set(curves) == {("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")}
    np.testing.assert_allclose(curves["b", "y"], frame_similarity(frames["b"], prompts["y"]))


def two_class_task() -> tuple[SedTask, dict[str, np.ndarray]]:
    """Two 10 s recordings; 'dog' frames carry feature e0, 'siren' frames e1, others e2."""
    events = (SedEvent("r1", "dog", 0.0, 2.9), SedEvent("r1", "siren", 5.0, 7.9),
              SedEvent("r2", "siren", 1.0, 3.9), SedEvent("r2", "dog", 6.0, 8.9))
    task = SedTask({"r1": 10.0, "r2": 10.0}, ("dog", "siren", "rain"), events)
    rng = np.random.default_rng(2)
    reference = task.reference()
    frames = {}
    for r, vid in enumerate(task.vids):
        block = reference[10 * r:10 * (r + 1)]
        base = np.where(block[:, :1], [[1, 0, 0]], np.where(block[:, 1:2], [[0, 1, 0]],
                                                              [[0, 0, 1]]))
        frames[vid] = base + 0.05 * rng.normal(size=base.shape)
    return task, frames


def test_frame_matrix_follows_the_task_order_and_length():
    task, frames = two_class_task()
    frames = {"r1": frames["r1"][:8], "r2": np.vstack([frames["r2"], frames["r2"][:3]])}
    matrix = frame_matrix(task, frames)
    assert matrix.shape == (20, 3)
    np.testing.assert_allclose(matrix[:8], frames["r1"], rtol=1e-6)     # float32
    np.testing.assert_array_equal(matrix[8:10], 0)               # padded
    np.testing.assert_allclose(matrix[10:], frames["r2"][:10], rtol=1e-6)  # cut


def test_the_supervised_classifier_learns_separable_frames():
    task, frames = two_class_task()
    classifier = FrameClassifier.fit(task, frames)
    assert classifier.models["rain"] is None                    # never active
    scores = classifier.scores(task, frames)
    assert scores.shape == (20, 3)
    np.testing.assert_array_equal(scores[:, 2], 0)
    assert micro_scores(task.reference(), scores > 0.5)["f1"] == 1.0


def test_threshold_choice_and_flatness_by_hand():
    curve = {"threshold": np.array([0.1, 0.3, 0.5, 0.7]),
             "f1": np.array([0.50, 0.80, 0.80, 0.70])}
    assert best_threshold(curve) == 0.3                         # the lowest of ties
    assert f1_spread(curve) == 0.5                              # 0.8, 0.8 >= 0.72
    assert f1_spread(curve, share=0.85) == 0.75                 # 0.8, 0.8, 0.7 >= 0.68
    assert f1_spread({"threshold": curve["threshold"], "f1": np.zeros(4)}) == 0.0
    grid = validation_thresholds(np.arange(101.0), 0.5)
    # the quantiles of the scores (2nd to 98th percentile, then the upper tail) and the default
    np.testing.assert_allclose(grid, np.unique(np.r_[QUANTILE_LEVELS * 100, 0.5]))
    assert grid[0] == 0.5 and grid[-1] == pytest.approx(99.9)
    # -inf (no moment covers the frame) is ignored; scores near 1 get a grid near 1
    near_one = validation_thresholds(np.r_[1 - np.geomspace(1e-4, 0.2, 500), -np.inf], 0.5)
    assert np.isfinite(near_one).all() and (np.diff(near_one) > 0).all()
    assert near_one[-1] > 0.999 and (near_one > 0.95).sum() > 10


def test_f1_of_ranked_moments_through_the_frame_rule():
    task, _ = two_class_task()
    # perfect moments for the present pairs, one low-scored false alarm for rain
    moments = {(e.vid, e.label): np.array([[e.start_s, e.end_s, 0.9]]) for e in task.events}
    moments["r1", "rain"] = np.array([[0.0, 9.9, 0.2]])
    scores = task.moment_scores(moments)
    curve = f1_curve(task.reference(), scores, [0.1, 0.5])
    assert curve["f1"][1] == pytest.approx(1.0)
    assert curve["f1"][0] < 1.0                                 # rain's 10 frames count


def test_sliding_window_detector_on_a_constructed_curve():
    # a 3-frame bump (kept by a 3-frame filter) and a 1-frame blip (removed)
    curve = np.array([0.1, 0.1, 0.7, 0.8, 0.6, 0.1, 0.1, 0.1, 0.9, 0.1])
    moments = sliding_window_moments(curve, 0.5, 3, hop_s=1.0, duration_s=10.0)
    np.testing.assert_allclose(moments, [[2.0, 5.0, 0.7]])
    assert sliding_window_moments(curve, 0.95, 1, 1.0, 10.0).shape == (0, 3)
    task = SedTask({"r": 10.0}, ("bell",), (SedEvent("r", "bell", 2.0, 4.0),))
    decided = sliding_window_decisions(task, {("r", "bell"): curve}, 0.5, 3, 1.0)
    # the run 2-5 s covers frames 2..5 by the inclusive rule: one frame too many
    np.testing.assert_array_equal(np.flatnonzero(decided[:, 0]), [2, 3, 4, 5])
    assert micro_scores(task.reference(), decided) == pytest.approx(
        {"precision": 3 / 4, "recall": 1.0, "f1": 6 / 7})
