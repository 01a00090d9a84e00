"""The sliding-window baseline: hand-made curves, the vectorised grid against the metrics,
tuning on a constructed case, and its parameter files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from amr_lib.baseline import (
    BaselineParams,
    active_frames,
    check_joint_space,
    detect,
    frame_similarity,
    grid_average_map,
    predict,
    read_params,
    tune,
    write_params,
)
from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.metrics import evaluate

CURVE = np.array([0.1, 0.9, 0.1, 0.1, 0.7, 0.8, 0.2, 0.75, 0.6, 0.1])


def test_runs_become_moments_scored_by_their_mean_similarity():
    moments = detect(CURVE, BaselineParams(0.5, 1), hop_s=1.0)
    # frames 1, 4-5 and 7-8 pass; scores are the mean similarities of their frames
    np.testing.assert_allclose(moments, [[1, 2, 0.9], [4, 6, 0.75], [7, 9, 0.675]])


def test_the_median_filter_removes_blips_and_bridges_gaps():
    # majority of 3: the lone frame 1 goes, the gap at frame 6 between two runs closes
    moments = detect(CURVE, BaselineParams(0.5, 3), hop_s=1.0)
    np.testing.assert_allclose(moments, [[4, 9, np.mean(CURVE[4:9])]])


def test_runs_at_the_ends_are_treated_like_runs_inside():
    # runs of (L + 1) / 2 = 3 frames survive a filter of 5 whole, at both ends
    curve = np.array([0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9])
    np.testing.assert_array_equal(active_frames(curve, 0.5, 5), curve > 0.5)
    blips = np.array([0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9])
    assert not active_frames(blips, 0.5, 5).any()


def test_hop_and_duration_set_the_seconds():
    moments = detect(CURVE, BaselineParams(0.5, 1), hop_s=0.5, duration_s=4.2)
    np.testing.assert_allclose(moments[:, :2], [[0.5, 1.0], [2.0, 3.0], [3.5, 4.2]])


def test_no_surviving_frame_falls_back_to_the_best_frame():
    moments = detect(CURVE, BaselineParams(0.95, 1), hop_s=1.0)
    np.testing.assert_allclose(moments, [[1, 2, 0.9]])


def test_at_most_ten_moments_best_first():
    curve = np.tile([0.9, 0.0], 15) + np.linspace(0, 0.01, 30)
    moments = detect(curve, BaselineParams(0.5, 1), hop_s=1.0)
    assert len(moments) == 10
    assert np.all(np.diff(moments[:, 2]) <= 0)
    assert moments[0, 0] == 28     # the latest blip carries the largest ramp


def test_frame_similarity_is_the_cosine():
    frames = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [0.0, 0.0]])
    np.testing.assert_allclose(frame_similarity(frames, np.array([2.0, 0.0])),
                               [1.0, 0.0, np.sqrt(0.5), 0.0])
    with pytest.raises(ValueError, match="need"):
        frame_similarity(frames, np.ones(3))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="odd"):
        BaselineParams(0.5, 4)
    with pytest.raises(ValueError, match="finite"):
        BaselineParams(float("nan"), 3)


def test_the_untrained_encoder_is_refused_for_having_no_joint_space():
    check_joint_space("contrastive")
    check_joint_space("clap")
    with pytest.raises(ValueError, match="'contrastive-untrained' has none"):
        check_joint_space("contrastive-untrained")


def constructed_split(seed: int = 0, queries: int = 40, frames: int = 30):
    """Curves at 0.2 +- 0.05 with the event at 0.6 +- 0.05 and a one-frame blip of 0.8
    elsewhere: the best settings threshold in [0.25, 0.55] with a filter >= 3."""
    rng = np.random.default_rng(seed)
    curves, annotations = [], []
    for qid in range(queries):
        curve = 0.2 + rng.uniform(-0.05, 0.05, frames)
        start = int(rng.integers(2, frames - 10))
        length = int(rng.integers(4, 9))
        curve[start:start + length] = 0.6 + rng.uniform(-0.05, 0.05, length)
        blip = (start + length + 3) % frames if start > 12 else frames - 2
        curve[blip] = 0.8
        curves.append(curve)
        annotations.append(MomentAnnotation(qid, "q", float(frames), f"v{qid}",
                                            np.array([[start, start + length]], float)))
    return curves, annotations


def test_the_vectorised_grid_equals_the_metrics_setting_by_setting():
    curves, annotations = constructed_split(1, queries=12)
    curves[3] = curves[3][:25]           # a shorter recording: scored in its own group
    annotations[3] = MomentAnnotation(3, "q", 25.0, "v3", annotations[3].relevant_windows
                                      .clip(0, 25))
    thresholds = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    grid = grid_average_map(curves, annotations, thresholds, (1, 3, 5), hop_s=1.0)
    for f, length in enumerate((1, 3, 5)):
        for h, threshold in enumerate(thresholds):
            predictions = predict(curves, annotations, BaselineParams(threshold, length), 1.0)
            assert evaluate(annotations, predictions)["mAP"] == pytest.approx(
                grid[f, h], abs=0.006)


def test_tuning_finds_the_constructed_optimum():
    curves, annotations = constructed_split()
    thresholds = np.round(np.arange(0.05, 0.951, 0.05), 2)
    tuning = tune(curves, annotations, hop_s=1.0, thresholds=thresholds)
    # ties go to the shortest filter, then the lowest threshold
    assert tuning.params == BaselineParams(0.25, 3)
    assert tuning.best_average_map == pytest.approx(100.0)
    best = np.isclose(tuning.average_map, 100.0)
    assert set(thresholds[best.any(axis=0)]) == {0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55}
    # without the filter the blips cost precision: strictly worse
    assert tuning.average_map[0].max() < tuning.best_average_map
    assert tuning.average_map.shape == (len(tuning.filter_lengths), len(thresholds))
    # the default grid sits at quantiles of the similarities and still finds 100
    assert tune(curves, annotations, hop_s=1.0).best_average_map == pytest.approx(100.0)


def test_parameter_files_round_trip_and_refuse_bad_content(tmp_path):
    features = {"name": "contrastive", "window_s": 1.0, "hop_s": 1.0, "fingerprint": "ab"}
    path = write_params(tmp_path / "b.json", BaselineParams(0.4, 5), features, {"split": "v"})
    params, read_features, tuned_on = read_params(path)
    assert params == BaselineParams(0.4, 5)
    assert read_features == features and tuned_on == {"split": "v"}
    payload = json.loads(path.read_text())
    for change, message in ((lambda p: p.update(format="x"), "not a baseline parameter"),
                            (lambda p: p.update(version=99), "version 99"),
                            (lambda p: p.update(filter_frames=2), "odd"),
                            (lambda p: p["features"].update(name="contrastive-untrained"),
                             "has none")):
        broken = json.loads(json.dumps(payload))
        change(broken)
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(broken))
        with pytest.raises(ValueError, match=message) as error:
            read_params(bad)
        assert str(bad) in str(error.value)
    (tmp_path / "text.json").write_text("not json")
    with pytest.raises(ValueError, match="not a JSON file"):
        read_params(tmp_path / "text.json")
    with pytest.raises(FileNotFoundError, match="no such baseline parameter file"):
        read_params(tmp_path / "missing.json")
