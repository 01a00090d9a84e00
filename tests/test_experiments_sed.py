"""`amr experiment sed` on the tiny profile: every detector reported, consistently."""

from __future__ import annotations

import json

import pytest
from conftest import run_tiny_experiment


@pytest.fixture(scope="module")
def result(tmp_path_factory, tiny_experiment_cache):
    out = run_tiny_experiment("sed", tmp_path_factory.mktemp("sed"),
                              tiny_experiment_cache)
    return json.loads((out / "sed.json").read_text()), out


def test_every_detector_is_reported_on_the_tiny_profile(result):
    sed, out = result
    assert set(sed["methods"]) == {"am-detr", "am-detr-absent", "sliding-window", "supervised",
                                   "crnn"}
    crnn = sed["crnn"]           # the conventional reference: stopped on its validation F1
    assert crnn["epochs"] == len(crnn["history"]) >= crnn["best_epoch"] >= 1
    assert set(sed["share_of"]) == {"supervised", "crnn"}
    assert sed["share_of"]["supervised"] == sed["share_of_supervised"]
    assert sed["recordings"] == {"train": 10, "valid": 4, "test": 4}
    assert sed["events"]["test"] >= 3 * 4                    # 3 to 8 events per recording
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["command"].startswith("amr experiment sed --profile quick")


def test_reports_agree_with_their_own_curves(result):
    sed, _ = result
    for method, report in sed["methods"].items():
        curve = report["curve"]
        assert len(curve["threshold"]) == len(curve["f1"]) > 10, method
        assert curve["threshold"] == sorted(set(curve["threshold"]))
        edge = report["tuned_threshold"] in (curve["threshold"][0], curve["threshold"][-1])
        assert report["tuned_at_grid_edge"] == edge
        assert report["tuned_threshold"] in curve["threshold"]
        # the tuned test F1 is the curve's value at the tuned threshold
        at = curve["threshold"].index(report["tuned_threshold"])
        assert report["tuned"]["f1"] == pytest.approx(curve["f1"][at], abs=1e-4)
        for scores in (report["default"], report["tuned"]):
            assert 0 <= scores["precision"] <= 1 and 0 <= scores["recall"] <= 1
        assert 0 <= report["f1_flat_share"] <= 1
    detr = sed["methods"]["am-detr"]
    assert detr["default_threshold"] == 0.5
    # the grid follows AM-DETR's own validation scores (28 quantiles, and 0.5), not a
    # fixed grid: here the tiny model's scores stay low, and so does the grid
    grid = detr["curve"]["threshold"]
    assert 0.5 in grid and 20 <= len(grid) <= 29
    assert grid != [round(0.05 * k, 2) for k in range(1, 20)]
    at_half = detr["curve"]["threshold"].index(0.5)
    assert detr["default"]["f1"] == pytest.approx(detr["curve"]["f1"][at_half], abs=1e-4)


def test_the_share_of_supervised_is_the_ratio_of_tuned_f1(result):
    sed, _ = result
    supervised = sed["methods"]["supervised"]["tuned"]["f1"]
    assert supervised > 0                   # the tiny set is still learnable from labels
    for method, share in sed["share_of_supervised"].items():
        assert share == pytest.approx(sed["methods"][method]["tuned"]["f1"] / supervised)
    crnn = sed["methods"]["crnn"]["tuned"]["f1"]
    for method, share in sed["share_of"]["crnn"].items():
        assert share == pytest.approx(sed["methods"][method]["tuned"]["f1"] / crnn)


def test_the_live_point_repeats_the_committed_default_of_am_detr(result,
                                                                 tiny_experiment_cache):
    from conftest import use_tiny_experiment

    from amr_lib import profiles
    from amr_lib.experiments.sed import zero_shot_point
    from amr_lib.runs.chain import feature_encoder, train_profile

    sed, _ = result
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_experiment(patch, tiny_experiment_cache)
        profile = profiles.load_profile("quick")          # the tiny one, patched in
        model = train_profile(profile, "cpu", progress=False).result.model
        point = zero_shot_point(profile, model, feature_encoder(profile))
    committed = sed["methods"]["am-detr"]["default"]
    assert point == pytest.approx(committed, abs=1e-12)
