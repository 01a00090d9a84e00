"""Is the queried sound in the recording at all? The top moment's score as the answer.

AM-DETR trained only on queries whose sound is present learns *where* a sound is, not
*whether*: on silence it still returns a moment scored near 1. Training with absent pairs
(``TrainingConfig.absent_share``: a recording paired with the text of a query about another
recording, every prediction labelled background) teaches the foreground score to mean
"this sound is here". This module measures that and turns it into a decision:

- :func:`presence_pairs`: every query of a split twice, with its own text (present) and
  with an absent text drawn by a seed, so a measurement is repeatable;
- :func:`top_scores`: the highest foreground probability of the K predictions per pair;
- :func:`presence_auroc`: the area under the ROC curve of that score between present and
  absent pairs (0.5: the score says nothing about presence; 1: it separates them);
- :func:`choose_threshold`: the score that best separates the two on validation (highest
  balanced accuracy, i.e. Youden's J); :func:`store_threshold` keeps it in the checkpoint
  so :mod:`amr_lib.retrieve` can answer "no match above the threshold".

Training (:mod:`amr_lib.train`) knows nothing of this: the run that asks for absent pairs
(:func:`amr_lib.runs.chain.train_profile`) calibrates its best model afterwards.

Beyond the paper, a presence *probability* (:class:`Calibration`): Platt scaling, a logistic
regression fitted on validation pairs, of the model's own signals (:func:`presence_signals`:
the top moment's foreground logit, the highest frame saliency, and the presence head's
logit where the model has one), with the threshold of the highest balanced accuracy, its
expected calibration error and reliability bins. Pairs can be drawn by class
(``presence_pairs(..., by_class=True)``), so an absent text is never a sound the recording
holds. The calibration is fitted at even odds (as many absent pairs as present ones): where
absent queries are the rule, as in sound event detection, the same probability means less.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from amr_lib.model.am_detr import AMDETR
from amr_lib.model.data import MomentSplit
from amr_lib.model.matcher import FOREGROUND
from amr_lib.model.postprocess import ranked_moments
from amr_lib.storage.checkpoints import write_checkpoint
from amr_lib.train import read_am_detr_checkpoint

CHECKPOINT_KEY = "presence"      # in a checkpoint's ``extra``: PresenceThreshold as a dict
CALIBRATION_KEY = "presence_calibration"    # ... and a Calibration as a dict
ABSENT_SHARE = 0.25              # of each batch: the experiments' (and the README's) choice


@dataclass(frozen=True)
class PresencePairs:
    """``rows (2Q,)`` recordings (by query row) and ``text_rows (2Q,)`` texts: the first
    Q pairs present, the last Q absent."""

    rows: torch.Tensor
    text_rows: torch.Tensor

    @property
    def present(self) -> np.ndarray:
        return (self.rows == self.text_rows).cpu().numpy()


@dataclass(frozen=True)
class PresenceThreshold:
    """A top-score threshold chosen on validation pairs, and how well it separated them."""

    threshold: float
    valid_auroc: float
    valid_balanced_accuracy: float

    def to_json(self) -> dict[str, float]:
        return {"threshold": self.threshold, "valid_auroc": self.valid_auroc,
                "valid_balanced_accuracy": self.valid_balanced_accuracy}

    @classmethod
    def from_json(cls, values: dict[str, float]) -> PresenceThreshold:
        return cls(float(values["threshold"]), float(values["valid_auroc"]),
                   float(values["valid_balanced_accuracy"]))


def presence_pairs(split: MomentSplit, seed: int = 0, by_class: bool = False,
                   hard_share: float = 0.0) -> PresencePairs:
    """Each query with its own text, then with an absent one (``seed`` draws them; by
    class and with a share from the nearest class as in
    :meth:`~amr_lib.model.data.MomentSplit.absent_texts`)."""
    rows = torch.arange(len(split))
    absent = split.absent_texts(rows, 1.0, np.random.default_rng(seed), by_class=by_class,
                                hard_share=hard_share)
    return PresencePairs(torch.cat([rows, rows]), torch.cat([rows, absent]))


@torch.no_grad()
def top_scores(model: AMDETR, split: MomentSplit, pairs: PresencePairs,
               batch_size: int = 256, device: torch.device | str = "cpu") -> np.ndarray:
    """``(2Q,)`` highest foreground probability of the model's K predictions per pair."""
    model.eval()
    split = split.to(device)
    scores = []
    for start in range(0, len(pairs.rows), batch_size):
        batch = split.batch(pairs.rows[start:start + batch_size],
                            pairs.text_rows[start:start + batch_size])
        logits = model(**batch.model_inputs(negatives=False))["pred_logits"]
        scores.append(logits.float().softmax(-1)[..., FOREGROUND].amax(-1).cpu())
    return torch.cat(scores).double().numpy()


@torch.no_grad()
def pair_moments(model: AMDETR, split: MomentSplit, pairs: PresencePairs,
                 indices: Sequence[int], device: torch.device | str = "cpu",
                 top_k: int = 10) -> list[np.ndarray]:
    """``(top_k, 3)`` ranked ``[start_s, end_s, score]`` moments of the pairs at
    ``indices`` (a recording asked another query's text where the pair is absent), as
    :func:`~amr_lib.train.predict_split` ranks a query's own moments."""
    model.eval()
    split = split.to(device)
    chosen = torch.as_tensor(list(indices), dtype=torch.long)
    rows, text_rows = pairs.rows[chosen], pairs.text_rows[chosen]
    batch = split.batch(rows, text_rows)
    outputs = model(**batch.model_inputs(negatives=False))
    duration_s = torch.tensor([split.annotations[int(r)].duration for r in rows],
                              dtype=torch.float64)
    moments = ranked_moments(outputs["pred_logits"], outputs["pred_spans"],
                             split.prediction_length_s()[rows.to(split.recording.device)],
                             duration_s, split.hop_s, top_k)
    return list(moments)


def presence_auroc(scores: np.ndarray, present: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for telling present from absent pairs."""
    from sklearn.metrics import roc_auc_score  # here: `amr retrieve` never pays its import

    return float(roc_auc_score(present.astype(int), scores))


def choose_threshold(scores: np.ndarray, present: np.ndarray) -> PresenceThreshold:
    """The threshold with the highest balanced accuracy (a pair counts as present when its
    score is at least the threshold); ties go to the higher threshold."""
    from sklearn.metrics import roc_curve

    false_positive, true_positive, thresholds = roc_curve(
        present.astype(int), scores, drop_intermediate=False)
    balanced = (true_positive + 1 - false_positive) / 2
    # thresholds fall, so the first of the (float-)equal best is the highest
    best = int(np.flatnonzero(balanced >= balanced.max() - 1e-12)[0])
    threshold = float(min(thresholds[best], 1.0))                # sklearn's first is +inf
    return PresenceThreshold(threshold, presence_auroc(scores, present),
                             float(balanced[best]))


def calibrate(model: AMDETR, valid: MomentSplit, seed: int = 0, batch_size: int = 256,
              device: torch.device | str = "cpu") -> PresenceThreshold:
    """:func:`choose_threshold` on ``valid``'s present and absent pairs."""
    pairs = presence_pairs(valid, seed)
    return choose_threshold(top_scores(model, valid, pairs, batch_size, device),
                            pairs.present)


def stored_threshold(path: str | Path) -> PresenceThreshold | None:
    """The threshold kept in the AM-DETR checkpoint at ``path`` (``None``: it has none)."""
    stored = read_am_detr_checkpoint(path)["extra"].get(CHECKPOINT_KEY)
    return None if stored is None else PresenceThreshold.from_json(stored)


def store_threshold(path: str | Path, model: AMDETR, valid: MomentSplit, seed: int = 0,
                    batch_size: int = 256, device: torch.device | str = "cpu"
                    ) -> PresenceThreshold:
    """:func:`calibrate` ``model`` (the checkpoint's own) on ``valid`` and keep the
    threshold in the checkpoint at ``path``; a threshold already there is kept as it is."""
    checkpoint = read_am_detr_checkpoint(path)
    if CHECKPOINT_KEY in checkpoint["extra"]:
        return PresenceThreshold.from_json(checkpoint["extra"][CHECKPOINT_KEY])
    threshold = calibrate(model, valid, seed, batch_size, device)
    checkpoint["extra"][CHECKPOINT_KEY] = threshold.to_json()
    write_checkpoint(path, checkpoint)
    return threshold


SIGNALS = ("top", "saliency", "head")      # what presence_signals measures per pair


@torch.no_grad()
def presence_signals(model: AMDETR, split: MomentSplit, pairs: PresencePairs,
                     batch_size: int = 256, device: torch.device | str = "cpu"
                     ) -> dict[str, np.ndarray]:
    """``{signal: (2Q,)}`` per pair: ``top``, the logit of the highest foreground
    probability of the K predictions; ``saliency``, the highest frame saliency over the
    recording's real frames; ``head``, the presence head's logit (models with one)."""
    model.eval()
    split = split.to(device)
    found: dict[str, list[torch.Tensor]] = {}
    for start in range(0, len(pairs.rows), batch_size):
        batch = split.batch(pairs.rows[start:start + batch_size],
                            pairs.text_rows[start:start + batch_size])
        out = model(**batch.model_inputs(negatives=False))
        for name, value in output_signals(out, batch.audio_mask).items():
            found.setdefault(name, []).append(value.cpu())
    return {name: torch.cat(parts).double().numpy() for name, parts in found.items()}


def output_signals(outputs: dict[str, Any], audio_mask: torch.Tensor
                   ) -> dict[str, torch.Tensor]:
    """:func:`presence_signals` of one forward pass: ``{signal: (B,)}``."""
    top = outputs["pred_logits"].float().softmax(-1)[..., FOREGROUND].amax(-1)
    saliency = outputs["saliency_scores"].float().masked_fill(~audio_mask.bool(), -1e9)
    values = {"top": torch.logit(top.clamp(1e-6, 1 - 1e-6)), "saliency": saliency.amax(-1)}
    if "presence_logits" in outputs:
        values["head"] = outputs["presence_logits"].float()
    return values


def own_signals(signals: dict[str, np.ndarray]) -> tuple[str, ...]:
    """The signals a model's calibration reads: its presence head's logit and the
    saliency where it has a head, else its top moment's logit and the saliency."""
    return ("head", "saliency") if "head" in signals else ("top", "saliency")


@dataclass(frozen=True)
class Calibration:
    """Platt scaling: ``P(present) = sigmoid(weights . signals + bias)``, a threshold on
    that probability, and how it did on the validation pairs it was fitted on."""

    signals: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    valid_auroc: float
    valid_ece: float

    def probability(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        """``(N,)`` presence probabilities from :func:`presence_signals`'s output."""
        features = np.stack([signals[name] for name in self.signals], axis=1)
        return 1 / (1 + np.exp(-(features @ np.asarray(self.weights) + self.bias)))

    def to_json(self) -> dict[str, Any]:
        return {"kind": "platt", "signals": list(self.signals),
                "weights": list(self.weights), "bias": self.bias,
                "threshold": self.threshold, "valid_auroc": self.valid_auroc,
                "valid_ece": self.valid_ece}

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Calibration:
        if values.get("kind") != "platt":
            raise ValueError(f"not a Platt calibration: {values.get('kind')!r}")
        return cls(tuple(values["signals"]), tuple(float(w) for w in values["weights"]),
                   float(values["bias"]), float(values["threshold"]),
                   float(values["valid_auroc"]), float(values["valid_ece"]))


def fit_calibration(signals: dict[str, np.ndarray], present: np.ndarray,
                    names: Sequence[str] | None = None) -> Calibration:
    """Platt scaling of ``names`` (default :func:`own_signals`) on validation pairs, and
    the probability threshold of the highest balanced accuracy (:func:`choose_threshold`)."""
    from sklearn.linear_model import LogisticRegression

    names = tuple(names or own_signals(signals))
    features = np.stack([signals[name] for name in names], axis=1)
    fitted = LogisticRegression(C=1e4, max_iter=1000).fit(features, present.astype(int))
    calibration = Calibration(names, tuple(float(w) for w in fitted.coef_[0]),
                              float(fitted.intercept_[0]), 0.5, 0.0, 0.0)
    probability = calibration.probability(signals)
    chosen = choose_threshold(probability, present)
    return Calibration(names, calibration.weights, calibration.bias, chosen.threshold,
                       chosen.valid_auroc, expected_calibration_error(probability, present))


def reliability_bins(probability: np.ndarray, present: np.ndarray, bins: int = 10
                     ) -> list[dict[str, float]]:
    """Per probability bin of equal width holding pairs: their mean probability, the share
    that is present, and how many there are."""
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    return [{"probability": float(probability[index == b].mean()),
             "present": float(present[index == b].mean()), "pairs": int((index == b).sum())}
            for b in range(bins) if (index == b).any()]


def expected_calibration_error(probability: np.ndarray, present: np.ndarray,
                               bins: int = 10) -> float:
    """The pair-weighted mean gap between the probability and the present share over
    :func:`reliability_bins`."""
    rows = reliability_bins(probability, present, bins)
    return float(sum(r["pairs"] * abs(r["probability"] - r["present"]) for r in rows)
                 / len(probability))


def calibrate_probability(model: AMDETR, valid: MomentSplit, seed: int = 0,
                          by_class: bool = False, batch_size: int = 256,
                          device: torch.device | str = "cpu") -> Calibration:
    """:func:`fit_calibration` of ``model``'s own signals on ``valid``'s present and absent
    pairs (absent texts by class where the split knows its classes and ``by_class``)."""
    pairs = presence_pairs(valid, seed, by_class=by_class)
    return fit_calibration(presence_signals(model, valid, pairs, batch_size, device),
                           pairs.present)


def stored_calibration(path: str | Path) -> Calibration | None:
    """The calibration kept in the AM-DETR checkpoint at ``path`` (``None``: none)."""
    stored = read_am_detr_checkpoint(path)["extra"].get(CALIBRATION_KEY)
    return None if stored is None else Calibration.from_json(stored)


def store_calibration(path: str | Path, calibration: Calibration) -> None:
    """Keep ``calibration`` in the checkpoint at ``path`` (replacing one already there)."""
    checkpoint = read_am_detr_checkpoint(path)
    checkpoint["extra"][CALIBRATION_KEY] = calibration.to_json()
    write_checkpoint(path, checkpoint)
