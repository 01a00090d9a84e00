"""AM-DETR trained and scored on released pre-extracted features (no simulation, no audio).

The shortest road to the paper's real-benchmark rows on a GPU machine: download the
authors' features in Lighthouse's layout (:mod:`amr_lib.features.released`) and the
annotation JSONL files, then::

    amr train --features DIR --annotations TRAIN.jsonl --valid VALID.jsonl \\
        [--test TEST.jsonl] --out RUN
    amr predict --checkpoint RUN/best.ckpt --features DIR --annotations TEST.jsonl \\
        --out PRED.jsonl

Training uses the paper's recipe (the ``paper`` model preset, batch 32, AdamW at 1e-4,
100 epochs; Section V-A) and keeps the epoch of best validation average mAP (this book's
choice: the paper does not say which epoch it keeps) and resumes from ``RUN/last.ckpt``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr_lib.config import resolve_device
from amr_lib.features.released import CHECKPOINT_KEY as RELEASED
from amr_lib.features.released import ReleasedFeatures
from amr_lib.lighthouse_jsonl import (
    MomentAnnotation,
    MomentPrediction,
    read_annotations,
    write_predictions,
)
from amr_lib.metrics import evaluate
from amr_lib.model.am_detr import AMDETR, AMDETRConfig
from amr_lib.model.data import MomentSplit
from amr_lib.presence import store_threshold
from amr_lib.profiles import RetrievalSetup
from amr_lib.train import (
    BEST,
    TrainingConfig,
    TrainResult,
    is_main_process,
    load_am_detr,
    model_device,
    predict_split,
    read_am_detr_checkpoint,
    train_am_detr,
)

PRESETS = {"paper": AMDETRConfig.paper, "quick": AMDETRConfig.quick}


@dataclass
class ReleasedRun:
    result: TrainResult
    summary: dict[str, Any]       # what metrics.json holds
    test_predictions: list[MomentPrediction] | None


def train_released(features: ReleasedFeatures, train_path: str | Path,
                   valid_path: str | Path, out_dir: str | Path,
                   test_path: str | Path | None = None, model: str = "paper",
                   epochs: int | None = None, seed: int = 0, device: str = "auto",
                   absent_share: float = 0.0, progress: bool = True) -> ReleasedRun:
    """Train AM-DETR on ``features`` for the queries of ``train_path``, keep the epoch
    best on ``valid_path``, and score it on ``test_path`` when given. Writes
    ``out_dir/{best,last}.ckpt``, ``history.csv`` and ``metrics.json`` (plus
    ``test_predictions.jsonl`` with a test file)."""
    if model not in PRESETS:
        raise ValueError(f"unknown model preset {model!r}; choose from {sorted(PRESETS)}")
    splits = {name: released_split(features, read_annotations(path), str(path))
              for name, path in (("train", train_path), ("valid", valid_path))}
    recipe = RetrievalSetup()                     # the paper's optimisation values
    config = TrainingConfig(epochs=epochs or recipe.epochs, batch_size=recipe.batch_size,
                            lr=recipe.lr, seed=seed, device=device,
                            absent_share=absent_share)
    detr = PRESETS[model]().with_inputs(splits["train"].audio_dim, splits["train"].text_dim)
    result = train_am_detr(detr, splits["train"], splits["valid"], config, out_dir,
                           extra={RELEASED: features.reference()}, progress=progress)
    if absent_share and is_main_process():      # the threshold `amr retrieve` applies
        store_threshold(Path(out_dir) / BEST, result.model, splits["valid"], seed,
                        config.eval_batch_size, model_device(result.model))
    summary: dict[str, Any] = {
        "best_epoch": result.best_epoch, "epochs": len(result.history),
        "valid": result.best_metrics, "model": detr.to_json(),
        "queries": {name: len(split) for name, split in splits.items()}}
    predictions = None
    if test_path is not None:
        test = read_annotations(test_path)
        predictions = _predict(result.model, released_split(features, test, str(test_path)),
                               features, f"{out_dir}/best.ckpt", device)
        summary["test"] = evaluate(test, predictions)
        summary["queries"]["test"] = len(predictions)
        write_predictions(Path(out_dir) / "test_predictions.jsonl", predictions)
    (Path(out_dir) / "metrics.json").write_text(json.dumps(summary, indent=2),
                                                encoding="utf-8")
    return ReleasedRun(result, summary, predictions)


def predict_released(checkpoint: str | Path, features: ReleasedFeatures,
                     annotations_path: str | Path, device: str = "auto"
                     ) -> list[MomentPrediction]:
    """The top-10 moments of every query of ``annotations_path``, from ``features`` by
    a checkpoint that :func:`train_released` wrote."""
    stored = read_am_detr_checkpoint(checkpoint)["extra"]
    if RELEASED not in stored:
        raise ValueError(f"{checkpoint}: this model was trained on features of its own "
                         "encoder, not on released features; predict from audio with "
                         "`amr predict --audio-dir`")
    split = released_split(features, read_annotations(annotations_path),
                           str(annotations_path))
    return _predict(load_am_detr(checkpoint), split, features, str(checkpoint), device)


def released_split(features: ReleasedFeatures, annotations: Sequence[MomentAnnotation],
                   where: str = "annotations") -> MomentSplit:
    """The queries of ``annotations`` as tensors, from the released files
    (:meth:`~amr_lib.features.released.ReleasedFeatures.read` checks them). Predicted
    spans are scaled by each annotation's duration, as Lighthouse's inference scales
    them (its targets, like ours, are shares of the frames' length)."""
    arrays = features.read(annotations, where)
    return MomentSplit.from_arrays(arrays.frames, arrays.vids, arrays.tokens, annotations,
                                   arrays.hop_s, spans_over="duration")


def _predict(model: AMDETR, split: MomentSplit, features: ReleasedFeatures, model_name: str,
             device: str) -> list[MomentPrediction]:
    """``model``'s ranked moments for ``split``, refused when the widths differ."""
    expected = (model.config.audio_dim, model.config.text_dim)
    if (split.audio_dim, split.text_dim) != expected:
        raise ValueError(f"{features.root}: features are {split.audio_dim}/{split.text_dim} "
                         f"wide (audio/text), but {model_name} expects {expected[0]}/"
                         f"{expected[1]}")
    target = resolve_device(device)
    return predict_split(model.to(target), split, device=target)
