"""``amr experiment sed``: a profile's retrieval models as zero-shot sound event detectors.

On SED recordings of the profile's own corpora (:mod:`amr_lib.sed.recordings`; train, valid and
test splits with the profile's segment caps), three detectors are scored with the frame
rule of :mod:`amr_lib.sed.scoring`:

- ``am-detr``: the profile's trained AM-DETR (Chapter 4's run), zero-shot: it never saw an
  SED recording or a class prompt;
- ``am-detr-absent``: the same model trained with absent pairs too
  (:data:`~amr_lib.presence.ABSENT_SHARE` of each batch), so its score also says whether
  the sound is there;
- ``sliding-window``: the prompt's cosine curve with the retrieval baseline's median filter
  (the idea of the paper's SED-CLAP, on the profile's own features), zero-shot too;
- ``supervised``: :class:`~amr_lib.sed.detectors.FrameClassifier`, a linear probe per class
  on the same window features, trained on the SED training split's frame labels;
- ``crnn``: :mod:`amr_lib.sed.crnn`, a conventional supervised SED model (a CRNN on
  log-mels) trained on the same labels with the validation split for its best epoch: the
  kind of reference the paper's "over 77 %" is a share of. The zero-shot F1 is reported as
  a share of both (``share_of``).

Each detector is swept over its own grid (:func:`~amr_lib.sed.detectors.validation_thresholds`:
quantiles of its validation scores, plus its default) on validation and test: its F1 at the
default threshold (0.5 for the probability-like scores; the retrieval baseline's tuned
threshold for the sliding window), at the threshold tuned on validation (and whether that
sits at the grid's edge), the whole F1-against-threshold curve, and how flat that curve is
(:func:`~amr_lib.sed.detectors.f1_spread`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from amr_lib.config import resolve_device
from amr_lib.experiments.table1 import run_baseline
from amr_lib.features.extract import FeatureEncoder, extract_features
from amr_lib.presence import ABSENT_SHARE
from amr_lib.profiles import Profile
from amr_lib.runs.chain import feature_encoder, train_profile, window_config
from amr_lib.sed.crnn import CrnnConfig, split_logmels, train_crnn
from amr_lib.sed.detectors import (
    FrameClassifier,
    best_threshold,
    detr_moments,
    f1_spread,
    prompt_similarities,
    sliding_window_decisions,
    validation_thresholds,
)
from amr_lib.sed.recordings import SedSetConfig, SedSplit, simulate_sed_split
from amr_lib.sed.scoring import (
    DEFAULT_THRESHOLD,
    f1_curve,
    micro_scores,
)
from amr_lib.storage.cache import default_cache_root

SED_JSON = "sed.json"
# a detector is either (N, C) frame scores, active above the threshold, or a function
# threshold -> (N, C) bool decisions (the sliding window: its median filter follows the marks)
Detector = np.ndarray | Callable[[float], np.ndarray]


@dataclass
class SedData:
    """An SED split with its window features and the class prompts' text features."""

    split: SedSplit
    frames: dict[str, np.ndarray]               # vid -> (T, D)
    prompt_tokens: dict[str, np.ndarray]        # class -> (L, H)
    prompt_embeddings: dict[str, np.ndarray]    # class -> (E,)


def sed_split(profile: Profile, split: str, sed: SedSetConfig | None = None) -> SedSplit:
    """``profile``'s SED recordings of ``split`` (its corpora, simulation settings, seed
    and segment cap), simulated but not rendered."""
    return simulate_sed_split(profile.clip_corpus, profile.background_corpus, split,
                              profile.simulation, sed, seed=profile.seed,
                              max_segments=profile.retrieval.segments(split))


def sed_data(profile: Profile, split: str, encoder: FeatureEncoder,
             sed: SedSetConfig | None = None) -> SedData:
    """Simulate ``profile``'s SED recordings of ``split`` and encode them (features are
    cached like any split's)."""
    made = sed_split(profile, split, sed)
    store = extract_features(made.simulated, encoder, window_config(profile),
                             default_cache_root() / "features")
    labels = list(made.task.labels)
    tokens, embeddings = encoder.query_features([made.prompts[c] for c in labels])
    return SedData(made, {vid: store.load_audio(vid) for vid in made.task.vids},
                   dict(zip(labels, tokens, strict=True)),
                   dict(zip(labels, embeddings, strict=True)))


def _decisions(detector: Detector, threshold: float) -> np.ndarray:
    if isinstance(detector, np.ndarray):
        return detector > threshold
    return detector(threshold)


def _curve(reference: np.ndarray, detector: Detector, thresholds: np.ndarray
           ) -> dict[str, np.ndarray]:
    """Precision, recall and F1 at each threshold (:func:`~amr_lib.sed.scoring.f1_curve` in one
    pass for frame scores; one decision matrix per threshold otherwise)."""
    if isinstance(detector, np.ndarray):
        return f1_curve(reference, detector, thresholds)
    rows = [micro_scores(reference, detector(float(t))) for t in thresholds]
    return {"threshold": thresholds,
            **{key: np.array([r[key] for r in rows]) for key in ("precision", "recall", "f1")}}


def _report(reference: np.ndarray, detector: Detector, curve: dict[str, np.ndarray],
            default: float, tuned: float) -> dict[str, Any]:
    return {"default_threshold": round(default, 6), "tuned_threshold": round(tuned, 6),
            "default": micro_scores(reference, _decisions(detector, default)),
            "tuned": micro_scores(reference, _decisions(detector, tuned)),
            "f1_flat_share": f1_spread(curve),
            "curve": {key: [round(float(v), 6) for v in values]
                      for key, values in curve.items()}}


ZERO_SHOT = ("am-detr", "am-detr-absent", "sliding-window")
# the supervised references: the linear probe on window features, and the CRNN on log-mels
# (this book's stand-in for the supervised SED model the paper's "over 77 %" is a share of;
# the paper does not name its architecture)
SUPERVISED = ("supervised", "crnn")


def detr_frame_scores(model, part: SedData, hop_s: float, device) -> np.ndarray:
    """``(N, C)``: AM-DETR's moments for every class prompt on every recording of
    ``part``, through the frame rule (:meth:`~amr_lib.sed.scoring.SedTask.moment_scores`)."""
    task = part.split.task
    return task.moment_scores(detr_moments(model, part.frames, part.prompt_tokens,
                                           task.durations, hop_s, device))


def zero_shot_point(profile: Profile, model, encoder: FeatureEncoder,
                    threshold: float = DEFAULT_THRESHOLD, device: str = "cpu",
                    sed: SedSetConfig | None = None) -> dict[str, float]:
    """One point of :func:`run_sed`, recomputed: ``model``'s micro precision, recall and
    F1 (fractions) on the test SED recordings at ``threshold`` (a chapter's live check of
    the committed ``am-detr`` default)."""
    part = sed_data(profile, "test", encoder, sed)
    scores = detr_frame_scores(model, part, window_config(profile).hop_s,
                               resolve_device(device))
    return micro_scores(part.split.task.reference(), scores > threshold)


def run_sed(profile: Profile, device: str = "auto", seed: int | None = None,
            sed: SedSetConfig | None = None, absent_share: float = ABSENT_SHARE
            ) -> dict[str, Any]:
    """The whole experiment on ``profile`` (see the module docstring): a JSON-able dict
    with each method's report on the test split and the zero-shot F1 as a share of the
    supervised one."""
    encoder = feature_encoder(profile)
    data = {name: sed_data(profile, name, encoder, sed) for name in ("train", "valid", "test")}
    models = {name: train_profile(profile, device, progress=False, seed=seed,
                                  absent_share=share).result.model
              for name, share in (("am-detr", 0.0), ("am-detr-absent", absent_share))}
    hop = window_config(profile).hop_s
    used = resolve_device(device)
    baseline = run_baseline(profile).tuning.params
    classifier = FrameClassifier.fit(data["train"].split.task, data["train"].frames,
                                     seed=profile.seed)
    crnn = train_crnn(data["train"].split, data["valid"].split, CrnnConfig(seed=profile.seed))

    def detectors(part: SedData) -> tuple[dict[str, Detector], np.ndarray]:
        """Each method as a :data:`Detector`, and every similarity value of the
        sliding window (its threshold grid spans them)."""
        task = part.split.task
        curves = prompt_similarities(part.frames, part.prompt_embeddings)
        detected: dict[str, Detector] = {
            name: detr_frame_scores(model, part, hop, used) for name, model in models.items()}
        detected |= {
            "supervised": classifier.scores(task, part.frames),
            "crnn": crnn.scores(part.split, split_logmels(part.split, crnn.config)),
            "sliding-window": lambda t: sliding_window_decisions(
                task, curves, t, baseline.filter_frames, hop),
        }
        return detected, np.concatenate(list(curves.values()))

    (valid, similarities), (test, _) = detectors(data["valid"]), detectors(data["test"])
    references = {name: data[name].split.task.reference() for name in ("valid", "test")}
    defaults = {**dict.fromkeys((*models, *SUPERVISED), DEFAULT_THRESHOLD),
                "sliding-window": float(baseline.threshold)}
    methods = {}
    for method, default in defaults.items():
        scores = valid[method] if method != "sliding-window" else similarities
        grid = validation_thresholds(scores, default)
        tuned = best_threshold(_curve(references["valid"], valid[method], grid))
        methods[method] = _report(references["test"], test[method],
                                  _curve(references["test"], test[method], grid),
                                  default, tuned)
        methods[method]["tuned_at_grid_edge"] = tuned in (grid.min(), grid.max())
    task = data["test"].split.task
    return {
        "profile": profile.name,
        "classes": len(task.labels),
        "recordings": {name: len(part.split.task.vids) for name, part in data.items()},
        "events": {name: len(part.split.task.events) for name, part in data.items()},
        "methods": methods,
        "absent_share": absent_share,
        "crnn": {"best_epoch": crnn.best_epoch, "epochs": len(crnn.history),
                 "config": crnn.config.to_json(),
                 "history": [{k: round(v, 4) for k, v in row.items()}
                             for row in crnn.history]},
        # the zero-shot F1 as a share of each supervised reference's (tuned thresholds)
        "share_of": {reference: _shares(methods, reference) for reference in SUPERVISED},
        "share_of_supervised": _shares(methods, "supervised"),
    }


def _shares(methods: dict[str, Any], reference: str) -> dict[str, float | None]:
    f1 = methods[reference]["tuned"]["f1"]
    return {method: (methods[method]["tuned"]["f1"] / f1 if f1 else None)
            for method in ZERO_SHOT}
