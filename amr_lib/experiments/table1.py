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
from amr_lib.experiments.controls import best_constant_moment, discrimination, swap_queries
from amr_lib.experiments.evidence import per_query
from amr_lib.experiments.results import (
    METRICS,
    mean_and_spread,
    read_rows,
    seed_entry,
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
TABLE = "table1.json"


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


def run_table1(profile: Profile, seeds: int = 3, out_dir: str | Path | None = None,
               clap_model: str | None = None, device: str = "auto",
               epochs: int | None = None, progress: bool = False) -> list[dict[str, Any]]:
    """Every row of Table I for ``profile`` (see the module docstring). With ``out_dir``:
    ``table1.json`` (the rows), ``baseline_<features>.json`` per joint-space encoder and
    ``checkpoints/am-detr_<features>_seed<k>/`` (best.ckpt, metrics, test predictions)."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    out = Path(out_dir) if out_dir is not None else None
    annotations = simulated(profile, "test").annotations
    rows = []
    for name in encoders_for(clap_model):
        if name in ("contrastive", "clap"):
            baseline = run_baseline(with_encoder(profile, name), clap_model, out)
            report = _with_discrimination(baseline.metrics, annotations,
                                          baseline.predictions)
            rows.append(summary_row("baseline", name, profile, [report], per_seed=[
                seed_entry(None, report, per_query(annotations, baseline.predictions,
                                                   METRICS))]))
        reports, blind, entries, blind_entries = [], [], [], []
        for seed in range(profile.seed, profile.seed + seeds):
            run = train_profile(with_encoder(profile, name), device, epochs, progress,
                                seed=seed, clap_model=clap_model)
            reports.append(_with_discrimination(run.test_metrics, annotations,
                                                run.test_predictions))
            entries.append(seed_entry(seed, reports[-1], per_query(
                annotations, run.test_predictions, METRICS)))
            if name == "contrastive":
                swapped = query_blind_predictions(run, device)
                blind.append(evaluate(annotations, swapped))
                blind_entries.append(seed_entry(seed, blind[-1], per_query(
                    annotations, swapped, METRICS)))
            if out is not None:
                export_run(run, out / "checkpoints" / f"am-detr_{name}_seed{seed}")
        rows.append(summary_row("am-detr", name, profile, reports, per_seed=entries))
        if name == "contrastive":
            rows.append(summary_row("am-detr, query-blind", name, profile, blind,
                                    per_seed=blind_entries))
    constant = best_constant_moment(simulated(profile, "train").annotations,
                                    window_config(profile).hop_s)
    constant_predictions = constant.predictions(annotations)
    constant_report = evaluate(annotations, constant_predictions)
    rows.append(summary_row("constant moment, audio-blind", "none", profile,
                            [constant_report], per_seed=[seed_entry(
                                None, constant_report,
                                per_query(annotations, constant_predictions, METRICS))]))
    if out is not None:
        write_json(out / TABLE, rows)
    return rows


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``table1.json``; ``ValueError`` naming ``path`` when they lack a field."""
    return read_rows(path, {"method", "features", "split", "profile", "n_seeds"},
                     "a Table I row")
