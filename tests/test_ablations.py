"""`amr experiment ablations` on a tiny profile: the rows, the data scales, resuming."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from conftest import TINY_EXPERIMENT, use_tiny_experiment

from amr_lib import profiles
from amr_lib.cli import main
from amr_lib.experiments import ablations
from amr_lib.experiments.ablations import (
    AblationGrid,
    read_ablations,
    run_ablations,
    study_rows,
)
from amr_lib.experiments.results import METRICS, find_row
from amr_lib.experiments.table1 import read_table
from amr_lib.runs.chain import (
    feature_encoder,
    prepare,
    training_config,
    training_tensors,
    with_encoder,
    with_train_scale,
)

TINY = TINY_EXPERIMENT
GRID = AblationGrid(windows_s=(1.0, 2.0), data_scales=(0.5, 1.0, 2.0))


@pytest.fixture(scope="module")
def grid(tmp_path_factory, tiny_experiment_cache):
    """A small grid for two seeds, through the command line (with Table I's tests, the
    runs they share come from the cache)."""
    root = tmp_path_factory.mktemp("ablations")
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_experiment(patch, tiny_experiment_cache)
        assert main(["experiment", "ablations", "--profile", "quick", "--seeds", "2",
                     "--windows", "1,2", "--data-scales", "0.5,1,2",
                     "--out", str(root / "out"), "--device", "cpu"]) == 0
        yield root


def test_every_study_has_its_points_with_spreads(grid):
    root = grid
    rows = read_ablations(root / "out" / "ablations.json")
    assert [(r["value"], r["method"]) for r in study_rows(rows, "window")] == (
        [(w, "am-detr") for w in GRID.windows_s] + [(w, "baseline") for w in GRID.windows_s])
    assert [r["value"] for r in study_rows(rows, "data")] == list(GRID.data_scales)
    assert [r["features"] for r in study_rows(rows, "features")] == [
        "contrastive", "contrastive-untrained"]
    for row in rows:
        assert row["n_seeds"] == (1 if row["method"] == "baseline" else 2)
        assert all(0 <= row[m] <= 100 and row[f"{m}_std"] >= 0 for m in METRICS)
        for entry in row["per_seed"]:      # AM-DETR points keep how training went
            training = entry.get("training")
            assert (training is None) == (row["method"] == "baseline")
            if training is not None:
                curve = training["curve"]
                assert [c["epoch"] for c in curve] == list(range(1, len(curve) + 1))
                assert 1 <= training["best_epoch"] <= len(curve) <= training["epoch_cap"]
                assert training["steps_per_epoch"] >= 1
    provenance = json.loads((root / "out" / "provenance.json").read_text())
    assert provenance["command"].startswith("amr experiment ablations --profile quick "
                                            "--seeds 2")


def test_points_that_are_the_same_run_agree(grid):
    """The 1 s window, the whole training split and the contrastive encoder are one run."""
    root = grid
    rows = read_ablations(root / "out" / "ablations.json")
    same = [study_rows(rows, "window", "am-detr")[GRID.windows_s.index(1.0)],
            study_rows(rows, "data")[GRID.data_scales.index(1.0)],
            study_rows(rows, "features")[0]]
    for metric in METRICS:
        assert len({row[metric] for row in same}) == 1, metric


def test_a_finished_grid_is_read_back_without_training(grid, monkeypatch):
    root = grid
    before = (root / "out" / "ablations.json").read_text()

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished point was computed again")

    monkeypatch.setattr(ablations, "train_profile", must_not_run)
    monkeypatch.setattr(ablations, "run_baseline", must_not_run)
    run_ablations(TINY, seeds=2, out_dir=root / "out", grid=GRID)
    after = json.loads((root / "out" / "ablations.json").read_text())
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in after] == [
        {k: v for k, v in row.items() if k != "seconds"} for row in json.loads(before)]


def test_an_interrupted_grid_continues_where_it_stopped(grid, tmp_path, monkeypatch):
    real_train = ablations.train_profile
    calls = []

    def interrupted_after_three(*args, **kwargs):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(kwargs["seed"])
        return real_train(*args, **kwargs)

    small = AblationGrid(windows_s=(1.0,), data_scales=(0.5, 1.0), encoders=("contrastive",))
    monkeypatch.setattr(ablations, "train_profile", interrupted_after_three)
    with pytest.raises(KeyboardInterrupt):
        run_ablations(TINY, seeds=2, out_dir=tmp_path, studies=["data"], grid=small)
    assert len(list((tmp_path / "points").glob("*.json"))) == 3
    assert not (tmp_path / "ablations.json").exists()

    resumed = []
    monkeypatch.setattr(ablations, "train_profile",
                        lambda *a, **k: resumed.append(k["seed"]) or real_train(*a, **k))
    rows, _ = run_ablations(TINY, seeds=2, out_dir=tmp_path, studies=["data"], grid=small)
    assert len(resumed) == 1                     # 2 scales x 2 seeds, 3 already done
    assert [row["value"] for row in rows] == [0.5, 1.0]
    # a point made under another definition of its profile (a recipe changed since) is
    # made again, not read back
    point = tmp_path / "points" / "data_0.5_am-detr_contrastive_seed0.json"
    stored = json.loads(point.read_text())
    point.write_text(json.dumps({**stored, "profile": "0" * 16}))
    resumed.clear()
    run_ablations(TINY, seeds=2, out_dir=tmp_path, studies=["data"], grid=small)
    assert resumed == [0]


def test_data_scales_cut_or_add_simulations(tiny_experiment_cache, monkeypatch):
    use_tiny_experiment(monkeypatch, tiny_experiment_cache)
    profile = with_encoder(TINY, "contrastive-untrained")
    encoder = feature_encoder(profile)
    train = prepare(profile, "train", encoder)
    whole = train.tensors()
    sizes = {scale: training_tensors(with_train_scale(profile, scale), encoder, train)
             for scale in (0.5, 1.0, 2.0)}
    recordings = whole.audio.shape[0]
    assert sizes[0.5].audio.shape[0] == -(-recordings // 2)
    assert len(sizes[1.0]) == len(whole)
    # 2x: the split, then the same split simulated with the next seed (other placements)
    again = prepare(replace(profile, seed=profile.seed + 1), "train", encoder).tensors()
    doubled = sizes[2.0]
    assert doubled.audio.shape[0] == recordings + again.audio.shape[0]
    assert [(a.vid, a.qid) for a in doubled.annotations] == [
        (a.vid, a.qid) for a in whole.annotations + again.annotations]
    assert [a.query for a in again.annotations] != [a.query for a in whole.annotations]


def test_every_data_scale_may_train_and_wait_as_many_steps():
    quick = replace(TINY, retrieval=profiles.RetrievalSetup.quick())
    setup = quick.retrieval                    # the 1x split: the cap and patience as set
    assert (setup.epochs, setup.patience) == (80, 10)
    budget = {scale: training_config(with_train_scale(quick, scale))
              for scale in (0.125, 0.25, 1.0, 2.0, 4.0)}
    assert {s: (c.epochs, c.patience) for s, c in budget.items()} == {
        0.125: (640, 80), 0.25: (320, 40), 1.0: (80, 10), 2.0: (40, 5), 4.0: (20, 3)}
    # an explicit cap counts epochs of the split too; a third of an epoch rounds up to one
    assert training_config(with_train_scale(quick, 4.0), epochs=1).epochs == 1
    assert training_config(with_train_scale(quick, 0.5), epochs=3).epochs == 6


def test_steps_per_epoch_drops_a_lone_last_query_as_training_does():
    from amr_lib.runs.chain import steps_per_epoch
    from amr_lib.train import epoch_batches

    for queries in (1, 2, 31, 32, 33, 34, 64, 65, 100):
        batches = list(epoch_batches(queries, 32, seed=0, epoch=1))
        assert steps_per_epoch(queries, 32) == len(batches), queries


def test_train_scale_must_be_a_share_or_a_whole_number():
    for scale in (0.0, -1.0, 1.5):
        with pytest.raises(ValueError, match="train_scale"):
            profiles.RetrievalSetup(train_scale=scale)
    assert profiles.RetrievalSetup(train_scale=4.0).train_scale == 4.0


def test_unknown_studies_are_refused(capsys):
    with pytest.raises(SystemExit):
        main(["experiment", "ablations", "--out", "x", "--studies", "window,colour"])
    assert "unknown studies ['colour']" in capsys.readouterr().err


def test_features_study_matches_table1_on_the_same_runs(grid, tmp_path):
    """Table I's AM-DETR rows and the features study are the same cached runs."""
    root = grid
    assert main(["experiment", "table1", "--profile", "quick", "--seeds", "2",
                 "--out", str(tmp_path), "--device", "cpu"]) == 0
    table = read_table(tmp_path / "table1.json")
    for row in study_rows(read_ablations(root / "out" / "ablations.json"), "features"):
        same = find_row(table, "am-detr", row["features"])
        assert all(same[m] == row[m] for m in METRICS)


def test_the_fidelity_study_sets_the_earlier_model_and_leaves_todays_run_alone():
    from amr_lib.runs.chain import model_config

    today, before = ablations.points("fidelity", ablations.AblationGrid(), TINY_EXPERIMENT)
    assert (today.value, before.value) == ("qd-detr", "before-fidelity")
    # today's point is the profile's own run (the same key: Table I's seed is reused)
    assert profiles.profile_key(today.profile(TINY_EXPERIMENT)) == profiles.profile_key(
        TINY_EXPERIMENT)
    earlier = before.profile(TINY_EXPERIMENT)
    assert model_config(earlier) == model_config(TINY_EXPERIMENT).before_fidelity()
    assert profiles.profile_key(earlier) != profiles.profile_key(TINY_EXPERIMENT)
    # not in the default grid; the command accepts it by name
    assert "fidelity" not in ablations.STUDIES
    with pytest.raises(ValueError, match="unknown study"):
        ablations.points("loss", ablations.AblationGrid(), TINY_EXPERIMENT)
    with pytest.raises(ValueError, match="architecture must be one of"):
        replace(TINY_EXPERIMENT.retrieval, architecture="dab-detr")


def test_a_point_that_is_a_table1_seed_is_taken_from_its_points(tmp_path, monkeypatch):
    from amr_lib.numerics import fingerprint

    today, before = ablations.points("fidelity", AblationGrid(), TINY_EXPERIMENT)
    made = {"numerics": fingerprint(), "profile": profiles.profile_key(TINY_EXPERIMENT)}
    queries = {m: [50.0, 100.0] for m in METRICS} | {"lands_on_queried": [100.0, 0.0]}
    report = {m: 75.0 for m in METRICS} | {"on_queried_event": 50.0, "on_other_event": 0.0}
    table1 = tmp_path / "table1" / "points"
    table1.mkdir(parents=True)
    (table1 / "am-detr_contrastive_seed3.json").write_text(json.dumps(
        {"model": {"report": report, "queries": queries}, "training": {"best_epoch": 2},
         **made}))
    monkeypatch.setattr(ablations, "train_profile", lambda *a, **k: pytest.fail("trained"))
    out = tmp_path / "grid"
    taken = ablations.point_report(today, TINY_EXPERIMENT, 3, out, reuse=[table1])
    # the grid's metrics only, written into the grid's own points
    assert taken["report"] == {m: 75.0 for m in METRICS} and set(taken["queries"]) == set(
        METRICS)
    assert taken["training"] == {"best_epoch": 2} and taken["from"] == "table1"
    assert json.loads((out / "points" / f"{today.name}_seed3.json").read_text()) == taken
    # another seed, another definition (the earlier model) or stale numerics: not taken
    for point, seed in ((today, 4), (before, 3)):
        with pytest.raises(pytest.fail.Exception):
            ablations.point_report(point, TINY_EXPERIMENT, seed, tmp_path / "other",
                                   reuse=[table1])
