"""A conventional supervised SED model: a small CRNN on log-mel frames.

The paper compares zero-shot AM-DETR with "the conventional SED model based on supervised
learning" (Section V-C) without naming it; the usual recipe (the DCASE SED baselines) is a
CRNN, and this is a small one:

- input: the recording's log-mel (:class:`~amr_lib.features.frontend.LogMel`, 64 bands,
  10 ms hop) averaged over ``pool`` frames, so a frame is 100 ms;
- three convolution blocks (3x3 convolution, batch norm, ReLU, max-pooling over frequency
  only, so time keeps its resolution), the remaining frequency axis averaged away;
- a bidirectional GRU over time, and one linear layer to a logit per class per frame;
- trained with binary cross-entropy on the frame labels of the SED training recordings
  (frame ``j``, centred at ``(j + 1/2) * frame_s``, is active for a class whose event
  holds that instant), the best epoch chosen by micro F1 at 0.5 on the validation
  recordings, scored by the frame rule of :mod:`amr_lib.sed.scoring`.

Its score for second ``t`` of a recording is the probability of the 100 ms frame that
starts at ``t`` (trained on the label at that frame's centre, 50 ms later): the instants
the authors' frame rule scores, to within half a frame.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from amr_lib.audio import resample
from amr_lib.features.frontend import LogMel, LogMelConfig
from amr_lib.features.numerics import feature_numerics
from amr_lib.sed.recordings import SedSplit
from amr_lib.sed.scoring import DEFAULT_THRESHOLD, micro_scores
from amr_lib.storage.cache import ArtifactCache, content_key


@dataclass(frozen=True)
class CrnnConfig:
    """The network and its training (CPU-sized: minutes on the quick profile)."""

    pool: int = 10                         # log-mel frames (10 ms) per model frame
    channels: tuple[int, ...] = (16, 32, 64)
    freq_pool: int = 4                     # frequency pooling of each block
    rnn: int = 64                          # GRU units per direction
    dropout: float = 0.2
    epochs: int = 120                      # a cap; patience normally ends training
    patience: int = 8                      # epochs without a better validation F1
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["channels"] = list(self.channels)
        return values


class Crnn(nn.Module):
    """``(B, n_mels, T)`` log-mels -> ``(B, T, C)`` logits."""

    def __init__(self, n_mels: int, classes: int, config: CrnnConfig) -> None:
        super().__init__()
        blocks, width, bands = [], 1, n_mels
        for channels in config.channels:
            blocks += [nn.Conv2d(width, channels, 3, padding=1), nn.BatchNorm2d(channels),
                       nn.ReLU(), nn.MaxPool2d((config.freq_pool, 1)),
                       nn.Dropout(config.dropout)]
            width, bands = channels, max(1, bands // config.freq_pool)
        self.norm = nn.BatchNorm1d(n_mels)
        self.blocks = nn.Sequential(*blocks)
        self.rnn = nn.GRU(width, config.rnn, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * config.rnn, classes)

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.norm(logmel).unsqueeze(1))       # (B, C, F', T)
        x, _ = self.rnn(x.mean(dim=2).transpose(1, 2))        # (B, T, 2 * rnn)
        return self.head(x)


def split_logmels(split: SedSplit, config: CrnnConfig, cache: ArtifactCache | None = None
                  ) -> dict[str, np.ndarray]:
    """``vid -> (n_mels, T)`` float32 pooled log-mels of every recording of ``split``
    (rendered, resampled to the front end's rate; cached by the recipes and numerics)."""
    simulated = split.simulated
    front = LogMelConfig()
    material = {"recipes": content_key([r.to_json() for r in simulated.recipes]),
                "simulation": simulated.config.to_json(), "logmel": asdict(front),
                "pool": config.pool, "numerics": feature_numerics()}

    def build() -> dict[str, np.ndarray]:
        renderer, logmel = simulated.renderer(), LogMel(front)
        arrays = {}
        for recipe in simulated.recipes:
            audio = resample(renderer.render(recipe), renderer.sample_rate,
                             front.sample_rate)
            with torch.no_grad():
                frames = logmel(torch.from_numpy(audio)[None])[0]       # (n_mels, T)
            usable = frames.shape[1] // config.pool * config.pool
            pooled = frames[:, :usable].reshape(frames.shape[0], -1, config.pool).mean(2)
            arrays[recipe.vid] = pooled.numpy().astype(np.float32)
        return arrays

    return (cache or ArtifactCache()).get_or_build_arrays("sed_logmels", material, build)


def frame_s(config: CrnnConfig) -> float:
    return config.pool * LogMelConfig().hop_length / LogMelConfig().sample_rate


def frame_labels(split: SedSplit, vid: str, frames: int, config: CrnnConfig) -> np.ndarray:
    """``(frames, C)`` float32: 1 where a class's event holds the frame's centre."""
    centres = (np.arange(frames) + 0.5) * frame_s(config)
    labels = np.zeros((frames, len(split.task.labels)), dtype=np.float32)
    column = {label: c for c, label in enumerate(split.task.labels)}
    for event in split.task.events:
        if event.vid == vid:
            inside = (centres >= event.start_s) & (centres <= event.end_s)
            labels[inside, column[event.label]] = 1.0
    return labels


def _stack(split: SedSplit, logmels: dict[str, np.ndarray], config: CrnnConfig
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs ``(V, n_mels, T)``, labels ``(V, T, C)`` and mask ``(V, T)`` in vid order."""
    vids = split.task.vids
    longest = max(logmels[v].shape[1] for v in vids)
    inputs = np.zeros((len(vids), logmels[vids[0]].shape[0], longest), np.float32)
    labels = np.zeros((len(vids), longest, len(split.task.labels)), np.float32)
    mask = np.zeros((len(vids), longest), bool)
    for row, vid in enumerate(vids):
        frames = logmels[vid].shape[1]
        inputs[row, :, :frames] = logmels[vid]
        labels[row, :frames] = frame_labels(split, vid, frames, config)
        mask[row, :frames] = True
    return torch.from_numpy(inputs), torch.from_numpy(labels), torch.from_numpy(mask)


@dataclass
class TrainedCrnn:
    """A trained CRNN, the classes of its outputs and its per-epoch history."""

    model: Crnn
    config: CrnnConfig
    labels: tuple[str, ...]
    history: list[dict[str, float]]

    @property
    def best_epoch(self) -> int:
        return max(self.history, key=lambda row: row["valid_f1"])["epoch"]

    def scores(self, split: SedSplit, logmels: dict[str, np.ndarray]) -> np.ndarray:
        """``(N, C)`` probabilities at the instants ``t = 0, 1, ...`` s of every recording,
        in ``split.task``'s frame and class order."""
        if tuple(split.task.labels) != self.labels:
            raise ValueError("the SED split's classes differ from those the CRNN learned")
        inputs, _, _ = _stack(split, logmels, self.config)
        self.model.eval()
        with torch.no_grad():
            probabilities = torch.sigmoid(self.model(inputs)).numpy()      # (V, T, C)
        step = round(1.0 / frame_s(self.config))            # model frames per second
        rows = []
        for row, vid in enumerate(split.task.vids):
            frames = logmels[vid].shape[1]
            index = np.minimum(np.arange(split.task.frames(vid)) * step, frames - 1)
            rows.append(probabilities[row, index])
        return np.concatenate(rows)


def train_crnn(train: SedSplit, valid: SedSplit, config: CrnnConfig | None = None,
               cache: ArtifactCache | None = None) -> TrainedCrnn:
    """Train on ``train``'s frame labels; keep the epoch of best validation micro F1 at
    the default threshold (authors' frame rule); stop after ``config.patience`` epochs
    without a better one. The same seed repeats a CPU run exactly."""
    config = config or CrnnConfig()
    train_logmels = split_logmels(train, config, cache)
    valid_logmels = split_logmels(valid, config, cache)
    inputs, labels, mask = _stack(train, train_logmels, config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = Crnn(inputs.shape[1], len(train.task.labels), config)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        loss_fn = nn.BCEWithLogitsLoss(reduction="none")
        trained = TrainedCrnn(model, config, tuple(train.task.labels), [])
        reference = valid.task.reference()
        best_state, best_f1 = copy.deepcopy(model.state_dict()), -1.0
        order = torch.Generator().manual_seed(config.seed)
        for epoch in range(1, config.epochs + 1):
            model.train()
            total, batches = 0.0, 0
            for rows in torch.randperm(len(inputs), generator=order).split(config.batch_size):
                logits = model(inputs[rows])
                losses = loss_fn(logits, labels[rows]).mean(dim=2)
                loss = (losses * mask[rows]).sum() / mask[rows].sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total, batches = total + float(loss.detach()), batches + 1
            decided = trained.scores(valid, valid_logmels) > DEFAULT_THRESHOLD
            f1 = micro_scores(reference, decided)["f1"]
            trained.history.append({"epoch": epoch, "train_loss": total / batches,
                                    "valid_f1": f1})
            if f1 > best_f1:
                best_state, best_f1 = copy.deepcopy(model.state_dict()), f1
            if epoch - trained.best_epoch >= config.patience:
                break
        model.load_state_dict(best_state)
    return trained
