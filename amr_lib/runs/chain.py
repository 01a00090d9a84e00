"""A profile's whole chain, each stage computed once and then read from the cache:

    corpora -> simulated splits -> feature encoder -> features -> AM-DETR -> test metrics

Simulation and features are content-addressed (see :mod:`amr_lib.storage.cache` and
:mod:`amr_lib.features.store`). A training run lives in a folder of the cache named by
everything that decides its weights (the feature stores, model and training configs); an
interrupted run resumes there and a finished one is simply loaded.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

from amr_lib.corpora import make_clip_corpus
from amr_lib.features.clap import DEFAULT_MODEL
from amr_lib.features.encoders import encoder_reference, make_feature_encoder
from amr_lib.features.extract import extract_features
from amr_lib.features.store import FeatureStore
from amr_lib.features.windows import WindowConfig
from amr_lib.lighthouse_jsonl import MomentPrediction, write_predictions
from amr_lib.metrics import evaluate
from amr_lib.model import recipes
from amr_lib.model.am_detr import AMDETRConfig
from amr_lib.model.data import MomentSplit
from amr_lib.model.recipes import Recipe
from amr_lib.numerics import fingerprint
from amr_lib.presence import (
    calibrate_probability,
    expected_calibration_error,
    presence_auroc,
    presence_pairs,
    presence_signals,
    store_calibration,
    store_threshold,
    stored_calibration,
    stored_threshold,
    top_scores,
)
from amr_lib.profiles import Profile
from amr_lib.simulation.classes import class_captions, entangled_pairs, query_classes
from amr_lib.simulation.clotho_moment import SimulatedSplit, simulate_split
from amr_lib.storage.cache import content_key, default_cache_root
from amr_lib.train import (
    BEST,
    TrainingConfig,
    TrainResult,
    is_main_process,
    model_device,
    pairs_digest,
    predict_split,
    train_am_detr,
)


@dataclass
class PreparedSplit:
    """A simulated split and its features."""

    simulated: SimulatedSplit
    store: FeatureStore
    hop_s: float

    def tensors(self, classes: bool = False) -> MomentSplit:
        """The split's queries as tensors; with ``classes``, their sound classes and the
        corpus's entangled pairs (:mod:`amr_lib.simulation.classes`) too."""
        split = MomentSplit.from_store(self.store, self.simulated.annotations, self.hop_s)
        if not classes:
            return split
        return split.with_classes(query_classes(self.simulated),
                                  entangled_pairs(class_captions(self.simulated)))


def window_config(profile: Profile) -> WindowConfig:
    return WindowConfig(profile.retrieval.window_s, profile.retrieval.hop_s)


def simulated(profile: Profile, split: str) -> SimulatedSplit:
    """The profile's ``split``, with its segment cap."""
    return simulate_split(profile.clip_corpus, profile.background_corpus, split,
                          profile.simulation, seed=profile.seed,
                          max_segments=profile.retrieval.segments(split))


def feature_encoder(profile: Profile, device: str = "cpu", clap_model: str | None = None):
    """The profile's feature encoder (a contrastive one is trained or read from the cache;
    ``clap_model`` is CLAP's hub id or local folder, default LAION's)."""
    return make_feature_encoder(profile.retrieval.encoder, window_config(profile),
                                clip_corpus=profile.clip_corpus,
                                sample_rate=profile.simulation.sample_rate, device=device,
                                seed=profile.seed, clap_model=clap_model or DEFAULT_MODEL)


def with_encoder(profile: Profile, encoder: str) -> Profile:
    """``profile`` with its features made by ``encoder`` instead."""
    return replace(profile, retrieval=replace(profile.retrieval, encoder=encoder))


def with_window(profile: Profile, window_s: float) -> Profile:
    """``profile`` with feature windows of ``window_s`` seconds (same hop, same frames)."""
    return replace(profile, retrieval=replace(profile.retrieval, window_s=window_s))


def with_train_scale(profile: Profile, scale: float) -> Profile:
    """``profile`` with ``scale`` times its simulated training data (see
    :class:`~amr_lib.profiles.RetrievalSetup`)."""
    return replace(profile, retrieval=replace(profile.retrieval, train_scale=scale))


def prepare(profile: Profile, split: str, encoder, root: str | Path | None = None
            ) -> PreparedSplit:
    """Simulate ``split`` and extract (or find) its features under ``root``."""
    root = Path(root) if root is not None else default_cache_root() / "features"
    window = window_config(profile)
    result = simulated(profile, split)
    return PreparedSplit(result, extract_features(result, encoder, window, root),
                         window.hop_s)


def training_tensors(profile: Profile, encoder, train: PreparedSplit,
                     classes: bool = False) -> MomentSplit:
    """The training queries AM-DETR sees: ``train`` (the profile's prepared training
    split), cut to a share of its recordings or joined by further simulations of it with
    seeds ``seed + 1, seed + 2, ...`` as ``train_scale`` asks (``classes``: with their
    sound classes)."""
    scale = profile.retrieval.train_scale
    tensors = train.tensors(classes)
    if scale < 1:
        return tensors.recording_subset(scale, profile.seed)
    extra = [replace(profile, seed=profile.seed + k) for k in range(1, int(scale))]
    return MomentSplit.concatenate(
        [tensors] + [prepare(more, "train", encoder).tensors(classes) for more in extra])


def model_config(profile: Profile) -> AMDETRConfig:
    presets = {"quick": AMDETRConfig.quick, "paper": AMDETRConfig.paper}
    config = presets[profile.retrieval.model]()
    if profile.retrieval.architecture == "before-fidelity":
        config = config.before_fidelity()
    return config


def training_config(profile: Profile, device: str = "auto", epochs: int | None = None,
                    seed: int | None = None, absent_share: float = 0.0) -> TrainingConfig:
    """``seed`` (default: the profile's) seeds AM-DETR's initialisation and batches only;
    data and features stay the profile's. ``absent_share`` of each batch is paired with
    absent texts (:meth:`~amr_lib.model.data.MomentSplit.absent_texts`).

    ``epochs`` (default: the profile's cap) and the patience count epochs of the profile's
    own training split. With ``train_scale`` s, an epoch takes s times as many steps, so
    both are divided by s (rounded up): every amount of data may train for as many steps,
    and waits as many steps for a better validation score (the data study compares data,
    not optimisation)."""
    setup = profile.retrieval

    def scaled(split_epochs: int | None) -> int | None:
        return None if split_epochs is None else own_epochs(split_epochs, setup.train_scale)

    return TrainingConfig(epochs=own_epochs(epochs or setup.epochs, setup.train_scale),
                          batch_size=setup.batch_size, lr=setup.lr,
                          seed=profile.seed if seed is None else seed, device=device,
                          absent_share=absent_share, patience=scaled(setup.patience),
                          schedule=setup.schedule, min_delta=setup.min_delta)


def steps_per_epoch(queries: int, batch_size: int) -> int:
    """Optimisation steps of one epoch over ``queries`` (a lone last query is dropped, as
    :func:`amr_lib.train.epoch_batches` drops it)."""
    full, rest = divmod(queries, batch_size)
    return full + (rest > 1 or (queries == 1))


def own_epochs(split_epochs: int, train_scale: float) -> int:
    """Epochs of ``train_scale`` times the training split that take as many steps as
    ``split_epochs`` epochs of the split itself (at least one)."""
    return max(1, math.ceil(split_epochs / train_scale))


@dataclass
class ProfileRun:
    """A trained (or loaded) run of a profile. Test predictions and their metrics are
    computed the first time something reads them, so a caller that only wants the model
    pays for no test pass."""

    result: TrainResult
    splits: dict[str, PreparedSplit]         # the profile's own, as simulated and encoded
    tensors: dict[str, MomentSplit]          # what training read ("train"), valid, test
    run_dir: Path
    name: str                                # the profile, "+"-joined with mixed ones
    config: TrainingConfig
    seed: int                                # the profile's data seed (draws absent pairs)

    @cached_property
    def test_predictions(self) -> list[MomentPrediction]:
        """The best model's ranked moments for every test query, where its weights are."""
        return predict_split(self.result.model, self.tensors["test"],
                             self.config.eval_batch_size, model_device(self.result.model),
                             self.config.precision)

    @cached_property
    def test_metrics(self) -> dict[str, float]:
        return evaluate(list(self.tensors["test"].annotations), self.test_predictions)

    @property
    def queries(self) -> dict[str, int]:
        """Queries per split: what training read ("train"), valid and test."""
        return {name: len(t) for name, t in self.tensors.items()}

    @property
    def training(self) -> dict[str, Any]:
        """How training went, small enough to commit: the validation and loss curve with
        each epoch's learning rate, the kept epoch, the cap and patience the run had, and
        what an epoch is (training queries, batch size and optimisation steps)."""
        queries, batch = self.queries["train"], self.config.batch_size
        return {"curve": [{"epoch": int(row["epoch"]), "lr": row.get("lr", self.config.lr),
                           "loss_total": round(row["loss_total"], 4),
                           "valid_mAP": row["valid_mAP"]} for row in self.result.history],
                "best_epoch": self.result.best_epoch, "epoch_cap": self.config.epochs,
                "patience": self.config.patience, "training_queries": queries,
                "batch_size": batch, "steps_per_epoch": steps_per_epoch(queries, batch)}

    @property
    def summary(self) -> dict[str, Any]:
        """What ``metrics.json`` holds: best epoch, validation and test metrics, queries."""
        return {"profile": self.name, "best_epoch": self.result.best_epoch,
                "epochs": len(self.result.history), "valid": self.result.best_metrics,
                "test": self.test_metrics, "queries": self.queries,
                "model": self.result.model.config.to_json()}

    @cached_property
    def presence(self) -> dict[str, Any]:
        """How well the best model's top score tells present from absent test queries:
        the AUROC, and with the threshold stored in the checkpoint (if it has one) the
        share of present pairs kept and of absent pairs refused."""
        test = self.tensors["test"]
        pairs = presence_pairs(test, self.seed)
        scores = top_scores(self.result.model, test, pairs, device=model_device(self.result.model))
        present = pairs.present
        summary: dict[str, Any] = {"test_auroc": presence_auroc(scores, present),
                                   "absent_texts": "by text"}
        stored = stored_threshold(self.run_dir / BEST)
        if stored is not None:
            above = scores >= stored.threshold
            summary.update(threshold=stored.threshold, valid_auroc=stored.valid_auroc,
                           test_present_kept=float(above[present].mean()),
                           test_absent_refused=float((~above[~present]).mean()))
        calibration = stored_calibration(self.run_dir / BEST)
        if calibration is not None:     # beyond the paper: absent texts by class if known
            pairs = presence_pairs(test, self.seed, by_class=bool(test.classes))
            probability = calibration.probability(presence_signals(
                self.result.model, test, pairs, device=model_device(self.result.model)))
            present = pairs.present
            found = probability >= calibration.threshold
            summary["calibrated"] = {
                "absent_texts": "by class" if test.classes else "by text",
                "signals": list(calibration.signals), "threshold": calibration.threshold,
                "valid_auroc": calibration.valid_auroc,
                "test_auroc": presence_auroc(probability, present),
                "test_ece": expected_calibration_error(probability, present),
                "test_present_kept": float(found[present].mean()),
                "test_absent_refused": float((~found[~present]).mean())}
        return summary


def train_profile(profile: Profile, device: str = "auto", epochs: int | None = None,
                  progress: bool = True, runs_root: str | Path | None = None,
                  seed: int | None = None, clap_model: str | None = None,
                  absent_share: float = 0.0, mix: Sequence[Profile] = (),
                  recipe: Recipe | str = "paper") -> ProfileRun:
    """Run (or load) the whole chain of ``profile`` up to the best model.

    ``recipe`` (:mod:`amr_lib.model.recipes`) sets the beyond-the-paper switches of the
    model and of training; a recipe with absent pairs takes ``absent_share`` (default
    :data:`~amr_lib.model.recipes.ABSENT_SHARE`) for them, and one that reads sound
    classes gets every split with its classes (a corpus of captions without classes is
    refused before anything is simulated).

    ``seed`` overrides the training seed (not the data's); ``absent_share`` as in
    :func:`training_config` (its run also gets a presence threshold chosen on validation,
    :func:`amr_lib.presence.calibrate`, stored in ``best.ckpt``); ``clap_model`` as in
    :func:`feature_encoder`. ``splits`` of the result are the profile's own; training
    reads :func:`training_tensors` of its training split. ``mix`` adds the training
    splits of further profiles (other corpora, other event lengths), encoded by
    ``profile``'s encoder; the best epoch is still chosen on ``profile``'s validation
    split (the target domain; query ids also repeat between profiles) and scored on its
    test split. The run folder is ``runs_root/<key>`` (default: the cache's
    ``am_detr_runs``)."""
    recipe = recipes.recipe(recipe) if isinstance(recipe, str) else recipe
    classes = recipe.needs_classes
    if classes:
        check_classes(profile)
    encoder = feature_encoder(profile, "cpu", clap_model)
    splits = {name: prepare(profile, name, encoder) for name in ("train", "valid", "test")}
    tensors = {name: prepared.tensors(classes) for name, prepared in splits.items()
               if name != "train"}
    tensors["train"] = training_tensors(profile, encoder, splits["train"], classes)
    mixed = [prepare(other, "train", encoder) for other in mix]
    if mixed:
        tensors["train"] = MomentSplit.concatenate(
            [tensors["train"]] + [more.tensors(classes) for more in mixed])
    window = window_config(profile)
    config = training_config(profile, device, epochs, seed, absent_share)
    if recipe.name != "paper":
        config = replace(config, loss=recipe.loss(config.loss),
                         **recipe.training(absent_share or recipes.ABSENT_SHARE))
    detr = recipe.model(model_config(profile)).with_inputs(tensors["train"].audio_dim,
                                                           tensors["train"].text_dim)
    # the numbers this machine computes, not a version constant: see amr_lib.numerics
    material = {"numerics": fingerprint(), "model": detr.to_json(),
                "training": {**config.to_json(), "device": None},   # any device, same run
                "features": {name: prepared.store.name for name, prepared in splits.items()}}
    if recipe.name != "paper":     # what its switches make of the batches, not a version
        material["pairs"] = pairs_digest(tensors["train"], config)
    if profile.retrieval.train_scale != 1:       # absent at 1: earlier runs keep their key
        material["train_scale"] = profile.retrieval.train_scale
    if mix:                                      # absent when empty, for the same reason
        material["mix"] = [more.store.name for more in mixed]
    runs_root = Path(runs_root) if runs_root else default_cache_root() / "am_detr_runs"
    run_dir = runs_root / content_key(material)[:32]
    run_name = "+".join([profile.name, *(other.name for other in mix)])
    extra = {"features": encoder_reference(encoder, window), "profile": run_name,
             "recipe": recipe.name}
    single = int(os.environ.get("WORLD_SIZE", "1")) == 1
    run_dir.mkdir(parents=True, exist_ok=True)
    # torchrun processes share one run folder: only a lone process locks it
    lock = FileLock(str(run_dir) + ".lock") if single else contextlib.nullcontext()
    with lock:
        result = train_am_detr(detr, tensors["train"], tensors["valid"], config, run_dir,
                               extra=extra, progress=progress)
        if absent_share and recipe.name == "paper" and is_main_process():
            store_threshold(run_dir / BEST, result.model, tensors["valid"], config.seed,
                            config.eval_batch_size, model_device(result.model))
        if recipe.name != "paper" and is_main_process() and (
                stored_calibration(run_dir / BEST) is None):
            # a presence probability on validation pairs, absent texts by class where known
            store_calibration(run_dir / BEST, calibrate_probability(
                result.model, tensors["valid"], config.seed, by_class=classes,
                batch_size=config.eval_batch_size, device=model_device(result.model)))
    if not single:                      # every process returns with the threshold stored
        torch.distributed.barrier()
    return ProfileRun(result, splits, tensors, run_dir, run_name, config, profile.seed)


def check_classes(profile: Profile) -> None:
    """``CorpusError`` naming the corpus when ``profile``'s clips have no sound classes
    (a recipe that reads them cannot run on Clotho's captions)."""
    corpus = make_clip_corpus(profile.clip_corpus, profile.simulation.sample_rate)
    corpus.category(next(iter(corpus)).clip_id)


def export_run(run: ProfileRun, out_dir: str | Path, presence: bool = False) -> Path:
    """Write a run's best checkpoint, history, test predictions and ``metrics.json`` (its
    :attr:`~ProfileRun.summary`, with :attr:`~ProfileRun.presence` when asked) to
    ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (BEST, "history.csv", "history.json"):
        shutil.copy2(run.run_dir / name, out_dir / name)
    write_predictions(out_dir / "test_predictions.jsonl", run.test_predictions)
    summary = {**run.summary, **({"presence": run.presence} if presence else {})}
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return out_dir
