"""Choosing a profile's training recipe on validation: model preset and learning rate, then
how much simulated training data.

The search starts from ``base``, a profile whose schedule, epoch cap and patience it keeps
(the book starts it from the real-sounds corpora with the quick recipe):

1. every (preset, learning rate) of :class:`SearchGrid`, trained on the training split once;
   the highest validation average mAP wins (ties: the earlier candidate, the cheaper one);
2. the winner on ``k`` times the simulated training data (``k - 1`` further simulations of
   the same split, :class:`~amr_lib.profiles.RetrievalSetup`, at equal optimisation steps as
   in the data study), for ``k`` = 2, 4, ... while each doubling gains at least
   ``SearchGrid.min_gain`` points of validation average mAP; the last size that gained
   is kept.

The test split is never scored: the choice is made on validation alone, and the chosen
recipe is the profile's (``RetrievalSetup.real_sounds()``; a test pins it to the committed
search). Every run is written to ``OUT/points/`` as it finishes (its validation metrics and
training record), so the search resumes there or from the run cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from amr_lib.experiments.results import point_made, stored_point, write_json
from amr_lib.profiles import Profile
from amr_lib.runs.chain import train_profile

SEARCH = "recipe_search.json"
POINTS = "points"


@dataclass(frozen=True)
class SearchGrid:
    """The candidates: presets x learning rates at 1x data, then the winner's data scales."""

    presets: tuple[str, ...] = ("quick", "paper")
    learning_rates: tuple[float, ...] = (3e-4, 6e-4)
    scales: tuple[int, ...] = (2, 4, 8)
    min_gain: float = 1.0                 # valid mAP points a doubling of data must add


def candidate(base: Profile, preset: str, lr: float, scale: float = 1.0) -> Profile:
    """``base`` trained with the ``preset`` model at ``lr`` on ``scale`` times its split."""
    return replace(base, retrieval=replace(base.retrieval, model=preset, lr=lr,
                                           train_scale=scale))


def search_point(profile: Profile, out: Path, device: str = "auto",
                 epochs: int | None = None, progress: bool = False) -> dict[str, Any]:
    """One candidate's run: ``{"preset", "lr", "train_scale", "valid": metrics of the kept
    epoch, "training": record (:attr:`~amr_lib.runs.chain.ProfileRun.training`),
    "numerics", "profile"}``, read from ``out/points/`` when made under this machine's
    numerics and the candidate's definition, else trained (or loaded from the run cache)
    and written there."""
    setup = profile.retrieval
    name = f"{setup.model}_lr{setup.lr:g}_x{setup.train_scale:g}.json"
    made = point_made(profile, epochs)
    path = out / POINTS / name
    if (stored := stored_point(path, made)) is not None:
        return stored
    run = train_profile(profile, device, epochs, progress, seed=profile.seed)
    point = {"preset": setup.model, "lr": setup.lr, "train_scale": setup.train_scale,
             "valid": run.result.best_metrics, "training": run.training, **made}
    write_json(path, point)
    return point


def best_point(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The highest validation average mAP; the first of equals (candidates come cheapest
    first)."""
    return max(points, key=lambda point: point["valid"]["mAP"])


def run_search(base: Profile, out_dir: str | Path, grid: SearchGrid | None = None,
               device: str = "auto", epochs: int | None = None, progress: bool = False
               ) -> dict[str, Any]:
    """The search of the module docstring, written to ``out_dir/recipe_search.json``:
    ``{"points": [...] in the order run, "chosen": {"preset", "lr", "train_scale"},
    "min_gain", "profile": base.name}``."""
    grid = grid or SearchGrid()
    out = Path(out_dir)
    points = [search_point(candidate(base, preset, lr), out, device, epochs, progress)
              for preset in grid.presets for lr in grid.learning_rates]
    chosen = best_point(points)
    for scale in grid.scales:
        larger = search_point(candidate(base, chosen["preset"], chosen["lr"], scale), out,
                              device, epochs, progress)
        points.append(larger)
        if larger["valid"]["mAP"] - chosen["valid"]["mAP"] < grid.min_gain:
            break
        chosen = larger
    result = {"profile": base.name, "min_gain": grid.min_gain, "points": points,
              "chosen": {key: chosen[key] for key in ("preset", "lr", "train_scale")}}
    write_json(out / SEARCH, result)
    return result


def chosen_recipe(search: dict[str, Any], base: Profile) -> Profile:
    """``base`` with the recipe a committed search chose."""
    chosen = search["chosen"]
    return candidate(base, chosen["preset"], chosen["lr"], chosen["train_scale"])
