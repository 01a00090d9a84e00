"""The recipe search: its choice rule (on fake validation scores), a real run on the tiny
profile (points written, read back, the test split never scored), and the real-sounds
profile pinned to the committed search's choice."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import TINY_EXPERIMENT, use_tiny_experiment

import amr_lib.experiments.recipe_search as search
from amr_lib.profiles import Profile, RetrievalSetup, profile_key


def fake_points(scores: dict[tuple[str, float, float], float], monkeypatch) -> list:
    """``search_point`` answering each candidate's validation mAP from ``scores``."""
    asked = []

    def point(profile, out, device="auto", epochs=None, progress=False):
        setup = profile.retrieval
        key = (setup.model, setup.lr, setup.train_scale)
        asked.append(key)
        return {"preset": key[0], "lr": key[1], "train_scale": key[2],
                "valid": {"mAP": scores[key]}, "training": {}}

    monkeypatch.setattr(search, "search_point", point)
    return asked


def test_the_best_candidate_takes_more_data_while_each_doubling_gains_a_point(
        monkeypatch, tmp_path):
    scores = {("quick", 3e-4, 1.0): 36.4, ("quick", 6e-4, 1.0): 36.0,
              ("paper", 3e-4, 1.0): 43.9, ("paper", 6e-4, 1.0): 40.1,
              ("paper", 3e-4, 2): 45.5, ("paper", 3e-4, 4): 46.0, ("paper", 3e-4, 8): 99}
    asked = fake_points(scores, monkeypatch)
    result = search.run_search(TINY_EXPERIMENT, tmp_path)
    # 2x gains 1.6 (kept), 4x gains 0.5 (< 1: the search stops and 8x is never run)
    assert asked == list(scores)[:6]
    assert result["chosen"] == {"preset": "paper", "lr": 3e-4, "train_scale": 2}
    assert json.loads((tmp_path / search.SEARCH).read_text()) == result


def test_a_first_doubling_below_the_bar_keeps_the_split_once(monkeypatch, tmp_path):
    scores = {("quick", 3e-4, 1.0): 40.0, ("quick", 6e-4, 1.0): 40.0,   # a tie: the first
              ("quick", 3e-4, 2): 40.9}
    asked = fake_points(scores, monkeypatch)
    grid = search.SearchGrid(presets=("quick",))
    result = search.run_search(TINY_EXPERIMENT, tmp_path, grid)
    assert asked == list(scores)
    assert result["chosen"] == {"preset": "quick", "lr": 3e-4, "train_scale": 1.0}


def test_a_real_search_writes_its_points_resumes_from_them_and_never_scores_test(
        tmp_path, tiny_experiment_cache, monkeypatch):
    use_tiny_experiment(monkeypatch, tiny_experiment_cache)
    from amr_lib.runs.chain import ProfileRun

    def never(self):
        raise AssertionError("the recipe search scored the test split")

    monkeypatch.setattr(ProfileRun, "test_predictions", property(never))
    grid = search.SearchGrid(presets=("quick",), learning_rates=(3e-4, 6e-4), scales=(2,),
                             min_gain=-100.0)          # always take the doubling
    result = search.run_search(TINY_EXPERIMENT, tmp_path, grid, device="cpu")
    assert [(p["preset"], p["lr"], p["train_scale"]) for p in result["points"]] == [
        ("quick", 3e-4, 1.0), ("quick", 6e-4, 1.0), (result["chosen"]["preset"],
                                                     result["chosen"]["lr"], 2)]
    for point in result["points"]:
        training = point["training"]
        assert point["valid"]["mAP"] == max(row["valid_mAP"] for row in training["curve"]
                                            if row["epoch"] <= training["best_epoch"])
        assert point["numerics"] and point["profile"]
    # the 2x run trains as many steps as the split once (half the epochs, rounded up)
    assert len(result["points"][2]["training"]["curve"]) == 1
    # a second search reads every point back (none is trained) ...
    import amr_lib.runs.chain as chain

    monkeypatch.setattr(search, "train_profile", lambda *a, **k: pytest.fail("retrained"))
    assert search.run_search(TINY_EXPERIMENT, tmp_path, grid, device="cpu") == result
    # ... unless the candidate's definition changed since
    changed = replace(TINY_EXPERIMENT, retrieval=replace(TINY_EXPERIMENT.retrieval,
                                                         batch_size=8))
    monkeypatch.setattr(search, "train_profile", chain.train_profile)
    again = search.search_point(search.candidate(changed, "quick", 3e-4), tmp_path,
                                device="cpu")
    assert again["profile"] == profile_key(search.candidate(changed, "quick", 3e-4))

DATA = Path(__file__).resolve().parents[1] / "book" / "data"


def test_the_real_sounds_recipe_is_the_one_its_committed_search_chose():
    committed = json.loads((DATA / "recipe_search_real-sounds.json").read_text())
    base = replace(Profile.real_sounds(), retrieval=RetrievalSetup.quick())
    assert search.chosen_recipe(committed, base) == Profile.real_sounds()
    # the search changed nothing but the recipe: each run is the base profile (today's
    # real-sounds corpora and simulation, quick's schedule) with its candidate's recipe
    for point in committed["points"]:
        candidate = search.candidate(base, point["preset"], point["lr"],
                                     point["train_scale"])
        assert point["profile"] == profile_key(candidate)
    chosen = next(point for point in committed["points"]
                  if all(point[k] == v for k, v in committed["chosen"].items()))
    training = chosen["training"]
    assert training["best_epoch"] < len(training["curve"])     # stopped on its patience
    assert len(training["curve"]) < training["epoch_cap"]
