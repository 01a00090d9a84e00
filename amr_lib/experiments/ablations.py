"""The paper's ablations (Fig. 3 and its feature study) as a resumable grid.

Three studies on a profile's test split, each a list of points (one method, one setting):

- ``window``: feature windows of 1, 4 and 7 s (hop 1 s, so the same frames see more
  context), for AM-DETR and for the sliding-window baseline, retuned on validation for each
  window;
- ``data``: AM-DETR trained on a share (1/8, 1/4, 1/2) of the simulated training split's
  recordings, on all of it, and on 2x and 4x as much (further simulations of the same split,
  see :class:`~amr_lib.profiles.RetrievalSetup`); validation and test stay the profile's;
- ``features``: AM-DETR with the contrastive encoder against the same network untrained
  (and CLAP when its weights are given);
- ``fidelity`` (asked for by name, not in the default grid): AM-DETR as it follows QD-DETR
  against the book's model before it did
  (:meth:`~amr_lib.model.am_detr.AMDETRConfig.before_fidelity`), both with the profile's
  recipe.

AM-DETR points run over ``seeds`` training seeds; the baseline is deterministic (one run).
Every seed's report is written to ``OUT/points/`` as soon as it exists, so an interrupted
grid continues where it stopped, and the runs behind it come from the cache (a point that
equals a Table I run, e.g. the 1 s window, is that run). Each row keeps its seeds' metrics
and per-query values (``per_seed``) for live checks and the evidence rule.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from amr_lib.experiments.evidence import per_query
from amr_lib.experiments.results import (
    METRICS,
    point_made,
    read_rows,
    rounded_queries,
    seed_entry,
    stored_point,
    write_json,
)
from amr_lib.experiments.table1 import encoders_for, run_baseline, summary_row
from amr_lib.profiles import ARCHITECTURES, Profile
from amr_lib.runs.chain import (
    simulated,
    train_profile,
    with_encoder,
    with_train_scale,
    with_window,
)

STUDIES = ("window", "data", "features")          # the default grid
OPT_IN = ("fidelity",)                             # run when named
WINDOWS_S = (1.0, 4.0, 7.0)
DATA_SCALES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0)
ABLATIONS = "ablations.json"
POINTS = "points"


@dataclass(frozen=True)
class AblationGrid:
    """Which settings each study visits."""

    windows_s: tuple[float, ...] = WINDOWS_S
    data_scales: tuple[float, ...] = DATA_SCALES
    encoders: tuple[str, ...] = ("contrastive", "contrastive-untrained")


@dataclass(frozen=True)
class Point:
    """One method at one setting of one study."""

    study: str
    value: float | str           # window seconds, data scale, encoder or architecture
    method: str                  # am-detr | baseline
    features: str

    @property
    def name(self) -> str:
        value = f"{self.value:g}" if isinstance(self.value, float) else self.value
        return f"{self.study}_{value}_{self.method}_{self.features}"

    def profile(self, base: Profile) -> Profile:
        """``base`` changed the way this point asks."""
        variant = with_encoder(base, self.features)
        if self.study == "window":
            return with_window(variant, float(self.value))
        if self.study == "data":
            return with_train_scale(variant, float(self.value))
        if self.study == "fidelity":
            return replace(variant, retrieval=replace(variant.retrieval,
                                                      architecture=str(self.value)))
        return variant


def points(study: str, grid: AblationGrid, base: Profile) -> list[Point]:
    """The points of ``study``, in the order the chapter plots them."""
    encoder = base.retrieval.encoder
    if study == "window":
        return [Point("window", float(w), method, encoder) for method in ("am-detr", "baseline")
                for w in grid.windows_s]
    if study == "data":
        return [Point("data", float(s), "am-detr", encoder) for s in grid.data_scales]
    if study == "features":
        return [Point("features", name, "am-detr", name) for name in grid.encoders]
    if study == "fidelity":
        return [Point("fidelity", name, "am-detr", encoder) for name in ARCHITECTURES]
    raise ValueError(f"unknown study {study!r}; choose from "
                     f"{', '.join(STUDIES + OPT_IN)}")


def table1_point(point: Point, seed: int, made: dict[str, Any],
                 folders: Sequence[Path]) -> dict[str, Any] | None:
    """An AM-DETR point that is a Table I seed already made
    (:func:`amr_lib.experiments.table1.seed_point` in one of ``folders``, under the same
    numerics and profile definition), in this grid's form; ``None`` when there is none."""
    if point.method != "am-detr":
        return None
    for folder in folders:
        stored = stored_point(Path(folder) / f"am-detr_{point.features}_seed{seed}.json",
                              made, required=("model", "training"))
        if stored is not None:
            model = stored["model"]
            return {"report": {k: v for k, v in model["report"].items() if k in METRICS},
                    "queries": {k: v for k, v in model["queries"].items() if k in METRICS},
                    "seconds": 0.0, "training": stored["training"], "from": "table1", **made}
    return None


def point_report(point: Point, base: Profile, seed: int, out_dir: Path,
                 clap_model: str | None = None, device: str = "auto",
                 epochs: int | None = None, progress: bool = False,
                 reuse: Sequence[Path] = ()) -> dict[str, Any]:
    """``{"report": metrics, "queries": per-query values, "seconds": s, "numerics":
    fingerprint, "profile": definition}`` of ``point`` for training seed ``seed``, read
    from ``out_dir/points/`` when it was made under this machine's numerics and the
    point's profile as defined now, else taken from a Table I points folder of ``reuse``
    that holds the same run (:func:`table1_point`), else computed; written there."""
    path = out_dir / POINTS / f"{point.name}_seed{seed}.json"
    profile = point.profile(base)
    # what the point is: the numbers this machine computes and the profile's definition
    # (its simulation, encoder and recipe); a point made otherwise is made again
    made = point_made(profile, epochs, clap_model)
    stored = stored_point(path, made)
    if stored is not None:
        return stored
    same_run = table1_point(point, seed, made, reuse)
    if same_run is not None:
        write_json(path, same_run)
        return same_run
    started = time.perf_counter()
    training = None
    if point.method == "baseline":
        baseline = run_baseline(profile, clap_model)
        report, predictions = baseline.metrics, baseline.predictions
    else:
        run = train_profile(profile, device, epochs, progress, seed=seed,
                            clap_model=clap_model)
        report, predictions, training = run.test_metrics, run.test_predictions, run.training
    queries = per_query(simulated(profile, "test").annotations, predictions, METRICS)
    result = {"report": report,
              "queries": rounded_queries(queries),
              "seconds": round(time.perf_counter() - started, 1), **made}
    if training is not None:
        result["training"] = training
    write_json(path, result)
    return result


def run_ablations(profile: Profile, seeds: int = 3, out_dir: str | Path = "ablations",
                  studies: Sequence[str] = STUDIES, grid: AblationGrid | None = None,
                  clap_model: str | None = None, device: str = "auto",
                  epochs: int | None = None, progress: bool = False,
                  reuse: Sequence[Path] = ()) -> tuple[list[dict[str, Any]], float]:
    """Every point of ``studies`` (rows as :func:`amr_lib.experiments.table1.summary_row` plus
    ``study``, ``value`` and ``seconds``, the compute time summed over seeds), written to
    ``out_dir/ablations.json``; also returns the compute seconds of the whole grid.
    ``reuse``: Table I points folders whose runs the grid takes instead of training them
    again (the 1 s window and QD-DETR's arm are the profile's own runs)."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    grid = grid or AblationGrid(encoders=tuple(encoders_for(clap_model)))
    out = Path(out_dir)
    rows = []
    for study in studies:
        for point in points(study, grid, profile):
            runs = 1 if point.method == "baseline" else seeds
            results = [point_report(point, profile, seed, out, clap_model, device, epochs,
                                    progress, reuse)
                       for seed in range(profile.seed, profile.seed + runs)]
            entries = [seed_entry(None if point.method == "baseline" else seed,
                                  result["report"], result.get("queries"))
                       for seed, result in zip(range(profile.seed, profile.seed + runs),
                                               results, strict=True)]
            for entry, result in zip(entries, results, strict=True):
                if "training" in result:          # AM-DETR points: how training went
                    entry["training"] = result["training"]
            row = summary_row(point.method, point.features, profile,
                              [result["report"] for result in results], per_seed=entries)
            rows.append({"study": study, "value": point.value, **row,
                         "seconds": round(sum(result["seconds"] for result in results))})
    write_json(out / ABLATIONS, rows)
    return rows, float(sum(row["seconds"] for row in rows))


def read_ablations(path: str | Path) -> list[dict[str, Any]]:
    """Rows of an ``ablations.json``; ``ValueError`` naming ``path`` when one lacks a field."""
    return read_rows(path, {"study", "value", "method", "features", "n_seeds"},
                     "an ablation point")


def study_rows(rows: Sequence[dict[str, Any]], study: str, method: str | None = None
               ) -> list[dict[str, Any]]:
    """The rows of ``study`` (and ``method``), in file order."""
    return [row for row in rows
            if row["study"] == study and (method is None or row["method"] == method)]
