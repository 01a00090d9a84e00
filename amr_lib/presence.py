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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from amr_lib.model.am_detr import AMDETR
from amr_lib.model.data import MomentSplit
from amr_lib.model.matcher import FOREGROUND
from amr_lib.storage.checkpoints import write_checkpoint
from amr_lib.train import read_am_detr_checkpoint

CHECKPOINT_KEY = "presence"      # in a checkpoint's ``extra``: PresenceThreshold as a dict
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


def presence_pairs(split: MomentSplit, seed: int = 0) -> PresencePairs:
    """Each query with its own text, then with an absent one (``seed`` draws them)."""
    rows = torch.arange(len(split))
    absent = split.absent_texts(rows, 1.0, np.random.default_rng(seed))
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
