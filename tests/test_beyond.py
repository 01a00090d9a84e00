"""`amr experiment beyond` on the tiny profile: every recipe's point with its per-unit
values, read back on a rerun, and the statistics the evidence rule resamples."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import use_tiny_experiment

from amr_lib.experiments import beyond
from amr_lib.model.recipes import RECIPES


@pytest.fixture(scope="module")
def grid(tmp_path_factory, tiny_experiment_cache):
    from amr_lib.cli import main

    out = tmp_path_factory.mktemp("beyond")
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_experiment(patch, tiny_experiment_cache)
        assert main(["experiment", "beyond", "--profile", "quick", "--seeds", "1",
                     "--recipes", "paper,aware", "--out", str(out), "--device", "cpu"]) == 0
        yield out


def test_each_recipe_has_its_point_with_per_unit_values(grid):
    rows = json.loads((grid / beyond.BEYOND).read_text())
    assert [(r["recipe"], r["absent_share"]) for r in rows] == [("paper", None),
                                                                ("aware", 0.25)]
    for row in rows:
        [point] = row["per_seed"]
        assert point["recipe"]["name"] == row["recipe"]     # the point's switches
        queries = len(point["several_events"])
        assert all(len(point["queries"][m]) == queries for m in beyond.METRICS)
        assert point["report"]["mAP"] == pytest.approx(np.mean(point["queries"]["mAP"]),
                                                       abs=0.01)
        for case in ("any", "hard"):
            presence = point["presence"][case]
            pairs = np.array(presence["pairs"])
            assert pairs.shape == (queries, 2)
            assert beyond.auroc_of_pairs(pairs) == pytest.approx(presence["auroc"],
                                                                 abs=1e-3)
        sed = point["sed"]
        assert beyond.f1_of_counts(np.array(sed["recordings"])) == pytest.approx(
            sed["tuned"]["f1"], abs=1e-6)
    aware = rows[1]["per_seed"][0]
    # the aware recipe is calibrated on its head; the published model on its own signals
    assert aware["calibration"]["signals"] == ["head", "saliency"]
    assert rows[0]["per_seed"][0]["calibration"]["signals"] == ["top", "saliency"]
    provenance = json.loads((grid / "provenance.json").read_text())
    assert provenance["command"].startswith("amr experiment beyond --profile quick")
    # every point made here: one fingerprint, this machine's
    assert provenance["point_numerics"] == [provenance["numerics"]["fingerprint"]]
    # the points' own time, not the last run's (a resumed grid's run only reads them)
    assert provenance["seconds"] == round(sum(p["seconds"] for r in rows
                                              for p in r["per_seed"]))


def test_a_finished_grid_is_read_back_without_training(grid, tiny_experiment_cache,
                                                        monkeypatch):
    use_tiny_experiment(monkeypatch, tiny_experiment_cache)
    monkeypatch.setattr(beyond, "train_profile", lambda *a, **k: pytest.fail("trained"))
    from amr_lib.profiles import load_profile

    monkeypatch.setattr(beyond, "prepare", lambda *a, **k: pytest.fail("extracted"))
    rows = beyond.run_beyond(load_profile("quick"), 1, grid, ["paper", "aware"])
    assert rows == json.loads((grid / beyond.BEYOND).read_text())


def test_points_are_made_seed_by_seed(tmp_path, monkeypatch):
    """Every recipe at the first seed before any at the next (a grid that spans sessions
    has a whole one-seed table first); each row still holds its own seeds in order."""
    from amr_lib.profiles import load_profile

    made = []

    def point(profile, recipe, share, seed, out, device, any_numerics):
        made.append((recipe.name, seed))
        return {"recipe": recipe.name, "share": share, "seed": seed}

    monkeypatch.setattr(beyond, "recipe_point", point)
    monkeypatch.setattr(beyond, "features_presence", lambda *a: made.append("features"))
    profile = load_profile("quick")
    first = profile.seed
    rows = beyond.run_beyond(profile, 2, tmp_path, ["paper", "aware"])
    assert made == ["features", ("paper", first), ("aware", first),
                    ("paper", first + 1), ("aware", first + 1)]
    assert [[(p["recipe"], p["share"], p["seed"]) for p in row["per_seed"]]
            for row in rows] == [[("paper", 0.0, first), ("paper", 0.0, first + 1)],
                                 [("aware", 0.25, first), ("aware", 0.25, first + 1)]]
    assert json.loads((tmp_path / beyond.BEYOND).read_text()) == rows


def test_a_point_of_other_numerics_is_read_back_only_when_asked(grid, tmp_path,
                                                               tiny_experiment_cache,
                                                               monkeypatch):
    """A finished grid of another kind of machine: by default its points are made again
    (they would not repeat here), with any_numerics they are read back, each with the
    fingerprint that made it; an unfinished or mixed one is finished under this machine's
    numerics, never mixed."""
    import shutil

    from amr_lib.profiles import load_profile

    use_tiny_experiment(monkeypatch, tiny_experiment_cache)
    moved = tmp_path / "moved"
    shutil.copytree(grid, moved)
    for path in [*(moved / beyond.POINTS).glob("*.json"), moved / beyond.FEATURES]:
        stored = json.loads(path.read_text())
        path.write_text(json.dumps({**stored, "numerics": "another machine"}))

    class Trained(Exception):
        pass

    class Extracted(Exception):
        pass

    def refuse(error):
        def made_again(*args, **kwargs):
            raise error
        return made_again

    monkeypatch.setattr(beyond, "train_profile", refuse(Trained))
    monkeypatch.setattr(beyond, "prepare", refuse(Extracted))
    profile = load_profile("quick")
    with pytest.raises(Extracted):          # the features' reference
        beyond.features_presence(profile, moved)
    with pytest.raises(Trained):            # a point
        beyond.recipe_point(profile, RECIPES["paper"], 0.0, profile.seed, moved)
    rows = beyond.run_beyond(profile, 1, moved, ["paper", "aware"], any_numerics=True)
    assert [p["numerics"] for row in rows for p in row["per_seed"]] == ["another machine"] * 2
    assert [p["presence"] for row in rows for p in row["per_seed"]] == [
        p["presence"] for row in json.loads((grid / beyond.BEYOND).read_text())
        for p in row["per_seed"]]

    # never mixed: a grid of two numerics, or with a point missing, is finished here
    plan = [(RECIPES["paper"], 0.0, profile.seed), (RECIPES["aware"], 0.25, profile.seed)]
    assert beyond.one_numerics(profile, plan, moved) == "another machine"
    shutil.copy(grid / beyond.FEATURES, moved / beyond.FEATURES)    # this machine's
    assert beyond.one_numerics(profile, plan, moved) is None
    with pytest.raises(Trained):    # the features are read back, the foreign paper remade
        beyond.run_beyond(profile, 1, moved, ["paper", "aware"], any_numerics=True)
    (moved / beyond.POINTS / "aware_s0.25_seed0.json").unlink()
    assert beyond.one_numerics(profile, plan, moved) is None


def test_the_features_reference_scores_the_recipes_pairs_by_the_best_window(
        grid, tiny_experiment_cache, monkeypatch):
    from amr_lib.baseline import frame_similarity, split_similarities
    from amr_lib.profiles import load_profile
    from amr_lib.runs.chain import feature_encoder, prepare

    use_tiny_experiment(monkeypatch, tiny_experiment_cache)
    features = json.loads((grid / beyond.FEATURES).read_text())
    [paper] = json.loads((grid / beyond.BEYOND).read_text())[0]["per_seed"]
    profile = load_profile("quick")
    prepared = prepare(profile, "test", feature_encoder(profile))
    annotations = prepared.tensors().annotations
    # the present column: each query's own similarity curve at its best window
    own = [curve.max() for curve in split_similarities(prepared.store, annotations)]
    for case in ("any", "hard"):
        pairs = np.array(features[case]["pairs"])
        assert pairs.shape == (len(annotations), 2)
        np.testing.assert_allclose(pairs[:, 0], own, atol=1e-4)
        assert beyond.auroc_of_pairs(pairs) == pytest.approx(features[case]["auroc"],
                                                             abs=1e-3)
        # as many pairs as the recipes were scored on
        assert len(pairs) == len(paper["presence"][case]["pairs"])
    # the absent column: each recording against the absent text the recipes were asked
    test = prepared.tensors(classes=True)
    for case, drawn in beyond.scored_pairs(test, profile.seed).items():
        rows, texts = drawn.rows[len(test):].tolist(), drawn.text_rows[len(test):].tolist()
        absent = [frame_similarity(prepared.store.load_audio(annotations[r].vid),
                                   prepared.store.load_sentence(annotations[t].qid)).max()
                  for r, t in zip(rows, texts, strict=True)]
        np.testing.assert_allclose(np.array(features[case]["pairs"])[:, 1], absent,
                                   atol=1e-4)
    # an encoder without a joint audio-text space has no such reference
    from amr_lib.runs.chain import with_encoder

    assert beyond.features_presence(with_encoder(profile, "contrastive-untrained"),
                                    grid / "untrained") is None


def test_the_statistics_of_units_by_hand():
    assert beyond.f1_of_counts(np.array([[2, 1, 0], [1, 0, 2]])) == pytest.approx(6 / 9)
    assert beyond.f1_of_counts(np.zeros((2, 3))) == 0.0
    assert beyond.auroc_of_pairs(np.array([[0.9, 0.1], [0.8, 0.85]])) == pytest.approx(0.75)
    from sklearn.metrics import roc_auc_score

    pairs = np.round(np.random.default_rng(0).uniform(0, 1, (50, 2)), 1)   # with ties
    assert beyond.auroc_of_pairs(pairs) == pytest.approx(roc_auc_score(
        np.repeat([1, 0], 50), np.concatenate([pairs[:, 0], pairs[:, 1]])))
