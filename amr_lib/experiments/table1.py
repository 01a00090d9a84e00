"""Table I from the reader's own run: the sliding-window baseline against AM-DETR.

For a profile's test split, :func:`run_table1` scores

- the baseline (:mod:`amr_lib.baseline`) with every joint-space encoder, tuned on the
  validation split (deterministic: one run);
- AM-DETR with every encoder (contrastive, untrained, CLAP when its weights are given),
  over ``seeds`` training seeds (data and features fixed; only initialisation and batch
  order change);
- the blind controls of :mod:`amr_lib.experiments.controls`: AM-DETR (contrastive)
  reading queries of other recordings, and the best constant moment of the training
  labels;

and, for the contrastive rows, how often the top moment lands on the queried event of a
recording with several events. Every stage comes from the cache when it exists.

Rows are plain dicts: ``method``, ``features``, ``split``, ``profile``, ``n_seeds``, the
means of :data:`METRICS` (percent) and ``<metric>_std`` (sample standard deviation over
seeds, 0 for one run), and ``per_seed``: each seed's metrics and per-query values, which
a chapter's live check and the evidence rule (:mod:`amr_lib.experiments.evidence`) read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib.baseline import (
    Tuning,
    check_joint_space,
    predict,
    split_similarities,
    tune,
    write_params,
)
from amr_lib.config import resolve_device
from amr_lib.experiments.controls import (
    best_constant_moment,
    discrimination,
    lands_on_queried,
    several_events,
    swap_queries,
)
from amr_lib.experiments.evidence import per_query
from amr_lib.experiments.results import (
    METRICS,
    mean_and_spread,
    point_made,
    read_rows,
    rounded_queries,
    seed_entry,
    stored_point,
    write_json,
)
from amr_lib.features.encoders import encoder_file_reference
from amr_lib.lighthouse_jsonl import MomentPrediction
from amr_lib.metrics import evaluate
from amr_lib.profiles import Profile
from amr_lib.runs.chain import (
    PreparedSplit,
    ProfileRun,
    export_run,
    feature_encoder,
    prepare,
    simulated,
    train_profile,
    window_config,
    with_encoder,
)
from amr_lib.train import predict_split

DISCRIMINATION = ("on_queried_event", "on_other_event")
LANDS = "lands_on_queried"      # per-query value: 100 when the top moment is on the event
TABLE = "table1.json"
POINTS = "points"


@dataclass
class BaselineRun:
    """The baseline with one encoder: its tuning on validation and its test results."""

    features: str
    tuning: Tuning
    test: PreparedSplit
    similarities: list[np.ndarray]          # (T,) per test query
    predictions: list[MomentPrediction]
    metrics: dict[str, float]


def run_baseline(profile: Profile, clap_model: str | None = None,
                 params_dir: str | Path | None = None) -> BaselineRun:
    """Tune the baseline on ``profile``'s validation split and score it on test, with the
    profile's encoder. With ``params_dir``, also write ``baseline_<features>.json`` there
    (and the contrastive audio network beside it), usable by ``amr predict --baseline``."""
    name = profile.retrieval.encoder
    check_joint_space(name)
    encoder = feature_encoder(profile, "cpu", clap_model)
    valid, test = prepare(profile, "valid", encoder), prepare(profile, "test", encoder)
    valid_annotations = valid.simulated.annotations
    tuning = tune(split_similarities(valid.store, valid_annotations), valid_annotations,
                  valid.hop_s)
    annotations = test.simulated.annotations
    similarities = split_similarities(test.store, annotations)
    predictions = predict(similarities, annotations, tuning.params, test.hop_s)
    if params_dir is not None:
        folder = Path(params_dir)
        folder.mkdir(parents=True, exist_ok=True)
        reference = encoder_file_reference(encoder, window_config(profile), folder,
                                           f"baseline_{name}_audio_encoder")
        write_params(folder / f"baseline_{name}.json", tuning.params, reference,
                     {"profile": profile.name, "split": "valid",
                      "queries": len(valid_annotations),
                      "average_map": round(tuning.best_average_map, 2)})
    return BaselineRun(name, tuning, test, similarities, predictions,
                       evaluate(annotations, predictions))


def query_blind_predictions(run: ProfileRun, device: str = "auto") -> list[MomentPrediction]:
    """A trained run's test predictions with every query swapped for one of another
    recording (:func:`amr_lib.experiments.controls.swap_queries`); the run's own predictions are
    ``run.test_predictions``."""
    tensors = swap_queries(run.splits["test"].tensors())
    device_used = resolve_device(device)
    return predict_split(run.result.model.to(device_used), tensors, device=device_used)


def summary_row(method: str, features: str, profile: Profile,
                reports: Sequence[dict[str, float]], split: str = "test",
                per_seed: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """One table row: means and sample standard deviations of ``reports`` (one per seed)
    for every key of :data:`METRICS` (and :data:`DISCRIMINATION` where present), and
    ``per_seed`` entries (:func:`~amr_lib.experiments.results.seed_entry`) when given."""
    row: dict[str, Any] = {"method": method, "features": features, "split": split,
                           "profile": profile.name, "n_seeds": len(reports)}
    for key in METRICS + DISCRIMINATION:
        if key not in reports[0]:
            continue
        row[key], row[f"{key}_std"] = mean_and_spread([report[key] for report in reports])
    if per_seed:
        row["per_seed"] = list(per_seed)
    return row


def _with_discrimination(report: dict[str, float], annotations,
                         predictions: Sequence[MomentPrediction]) -> dict[str, float]:
    shares = discrimination(annotations, predictions)
    return {**report, "on_queried_event": shares.on_queried,
            "on_other_event": shares.on_other}


def encoders_for(clap_model: str | None) -> list[str]:
    """AM-DETR's encoders: both contrastive ones, and CLAP when its weights are given."""
    return ["contrastive", "contrastive-untrained"] + (["clap"] if clap_model else [])


def scored(annotations, predictions: Sequence[MomentPrediction], report: dict[str, float]
           ) -> dict[str, Any]:
    """``{"report": metrics with the discrimination shares, "queries": per-query values
    of every metric and of :data:`LANDS`}`` of one method's test predictions."""
    queries = per_query(annotations, predictions, METRICS)
    queries[LANDS] = lands_on_queried(annotations, predictions)
    return {"report": _with_discrimination(report, annotations, predictions),
            "queries": rounded_queries(queries)}


def seed_point(profile: Profile, seed: int, out: Path | None, clap_model: str | None,
               device: str, epochs: int | None, progress: bool) -> dict[str, Any]:
    """One AM-DETR seed of Table I: ``{"model": scored, "blind": scored (contrastive
    only), "training": record, "numerics", "profile"}``. With ``out`` it is read from
    ``out/points/`` when made under this machine's numerics and the profile as defined now,
    else trained (or taken from the run cache) and written there at once, so a grid of
    several sessions keeps every finished seed even where the run cache is gone."""
    name = profile.retrieval.encoder
    made = point_made(profile, epochs, clap_model)
    path = out / POINTS / f"am-detr_{name}_seed{seed}.json" if out is not None else None
    if path is not None and (stored := stored_point(path, made)) is not None:
        return stored
    annotations = simulated(profile, "test").annotations
    run = train_profile(profile, device, epochs, progress, seed=seed, clap_model=clap_model)
    point = {"model": scored(annotations, run.test_predictions, run.test_metrics),
             "training": run.training, **made}
    if name == "contrastive":
        swapped = query_blind_predictions(run, device)
        point["blind"] = scored(annotations, swapped, evaluate(annotations, swapped))
    if out is not None:
        export_run(run, out / "checkpoints" / f"am-detr_{name}_seed{seed}")
        write_json(path, point)
    return point


def _entry(seed: int | None, result: dict[str, Any]) -> dict[str, Any]:
    entry = seed_entry(seed, result["report"], result["queries"])
    for key in DISCRIMINATION:
        entry[key] = round(result["report"][key], 2)
    return entry


def run_table1(profile: Profile, seeds: int = 3, out_dir: str | Path | None = None,
               clap_model: str | None = None, device: str = "auto",
               epochs: int | None = None, progress: bool = False) -> list[dict[str, Any]]:
    """Every row of Table I for ``profile`` (see the module docstring). With ``out_dir``:
    ``table1.json`` (the rows), ``points/`` (each AM-DETR seed as it finishes: the grid
    resumes there), ``baseline_<features>.json`` per joint-space encoder and
    ``checkpoints/am-detr_<features>_seed<k>/`` (best.ckpt, metrics, test predictions).

    Every row carries ``several_events`` (``(Q,)`` 0/1: the query's recording holds other
    events, :func:`~amr_lib.experiments.controls.several_events`), so the evidence rule
    can judge the metrics and :data:`LANDS` on those queries alone."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    out = Path(out_dir) if out_dir is not None else None
    annotations = simulated(profile, "test").annotations
    several = [int(flag) for flag in several_events(annotations)]
    rows = []

    def add(method: str, features: str, results: Sequence[dict[str, Any]],
            seed_numbers: Sequence[int | None]) -> None:
        entries = [_entry(seed, result) for seed, result in zip(seed_numbers, results,
                                                                strict=True)]
        row = summary_row(method, features, profile, [r["report"] for r in results],
                          per_seed=entries)
        rows.append({**row, "several_events": several})

    for name in encoders_for(clap_model):
        if name in ("contrastive", "clap"):
            baseline = run_baseline(with_encoder(profile, name), clap_model, out)
            add("baseline", name, [scored(annotations, baseline.predictions,
                                          baseline.metrics)], [None])
        numbers = list(range(profile.seed, profile.seed + seeds))
        points = [seed_point(with_encoder(profile, name), seed, out, clap_model, device,
                             epochs, progress) for seed in numbers]
        add("am-detr", name, [point["model"] for point in points], numbers)
        for entry, point in zip(rows[-1]["per_seed"], points, strict=True):
            entry["training"] = point["training"]
        if name == "contrastive":
            add("am-detr, query-blind", name, [point["blind"] for point in points], numbers)
    constant = best_constant_moment(simulated(profile, "train").annotations,
                                    window_config(profile).hop_s)
    constant_predictions = constant.predictions(annotations)
    add("constant moment, audio-blind", "none",
        [scored(annotations, constant_predictions,
                evaluate(annotations, constant_predictions))], [None])
    if out is not None:
        write_json(out / TABLE, rows)
    return rows


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``table1.json``; ``ValueError`` naming ``path`` when they lack a field."""
    return read_rows(path, {"method", "features", "split", "profile", "n_seeds"},
                     "a Table I row")
