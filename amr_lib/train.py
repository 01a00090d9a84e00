"""Training and evaluation of AM-DETR: AdamW, gradient clipping, validation every epoch with
the project's metrics, the best checkpoint by validation average mAP, resumable runs.

A run writes to ``out_dir``::

    last.ckpt      model, optimiser, RNG state, epoch, history: resumes the run
    best.ckpt      the model at the epoch of best validation average mAP (no optimiser)
    history.csv    one row per epoch: named training losses and validation metrics
    history.json   the same rows

The whole split lives on the training device (features are small), so a batch is one
index lookup. On CUDA the forward pass runs under bf16 autocast. Started by ``torchrun``,
the same function trains with DistributedDataParallel: each process takes its share of
every global batch, gradients are averaged, and process 0 evaluates and writes.
Checkpoints load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from amr_lib.config import resolve_device
from amr_lib.lighthouse_jsonl import MomentPrediction
from amr_lib.metrics import evaluate
from amr_lib.model.am_detr import AMDETR, AMDETRConfig
from amr_lib.model.criterion import LossConfig, SetCriterion
from amr_lib.model.data import MomentSplit
from amr_lib.model.matcher import MatcherConfig
from amr_lib.model.postprocess import ranked_moments
from amr_lib.progress import progress_bar
from amr_lib.storage.checkpoints import cpu_state, read_checkpoint, write_checkpoint

CHECKPOINT_FORMAT = "amr_lib.am_detr"
CHECKPOINT_VERSION = 1
LAST, BEST = "last.ckpt", "best.ckpt"
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation of AM-DETR: by default the paper's optimiser, learning rate, epochs (100)
    and batch (Section V-A); weight decay and the gradient clip are QD-DETR's."""

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-4
    grad_clip: float = 0.1                # max gradient norm
    seed: int = 0
    device: str = "auto"                  # "auto": CUDA when available, else CPU
    precision: str = "auto"               # "auto": bf16 on CUDA, fp32 elsewhere; or "fp32"
    negative_pairs: bool = True           # saliency against the batch's rolled texts
    absent_share: float = 0.0             # share of each batch paired with an absent text
    eval_batch_size: int = 256
    loss: LossConfig = field(default_factory=LossConfig)
    # stop when validation average mAP has not improved (by more than ``min_delta``) for
    # this many epochs (None: run every epoch); ``epochs`` is then the cap
    patience: int | None = None
    # the learning rate over the epoch cap: "constant", or "cosine" (a half cosine from
    # ``lr`` at the first epoch towards 0 after the cap, set per epoch)
    schedule: str = "constant"
    # a better epoch must beat the best validation average mAP so far by more than this
    # many points, for the kept checkpoint and for the patience: gains within the noise of
    # the validation split do not keep a finished run going
    min_delta: float = 0.0
    # beyond the paper (model.recipes): absent texts drawn by class (never a sound the
    # recording holds; needs a split with classes), a share of them from the nearest class,
    # and absent pairs *added* to each batch (absent_share of the grown batch) instead of
    # replacing a share of its texts; absent texts by class (or the other-events loss) also
    # check the rolled negatives against the classes the recording holds
    absent_by_class: bool = False
    hard_share: float = 0.0
    absent_added: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError(f"epochs and batch sizes must be positive: {self}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision must be auto, bf16 or fp32, got {self.precision!r}")
        if not 0 <= self.absent_share < 1:
            raise ValueError(f"absent_share must be in [0, 1), got {self.absent_share}")
        if self.absent_added and not 0 < self.absent_share <= 0.5:
            raise ValueError(f"added absent pairs need an absent_share in (0, 0.5], got "
                             f"{self.absent_share}")
        if not 0 <= self.hard_share <= 1:
            raise ValueError(f"hard_share must be in [0, 1], got {self.hard_share}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be a positive number of epochs, got "
                             f"{self.patience}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got "
                             f"{self.schedule!r}")
        if self.min_delta < 0:
            raise ValueError(f"min_delta must be at least 0, got {self.min_delta}")

    @property
    def uses_classes(self) -> bool:
        """Do the batches need the split's classes (the beyond-the-paper options)?"""
        return self.absent_by_class or bool(self.loss.other_events)

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["loss"] = self.loss.to_json()
        for name in ("absent_by_class", "hard_share", "absent_added"):
            if not values[name]:      # absent at their defaults: the paper's keys stand
                del values[name]
        if not self.absent_share:    # absent at 0: runs made before the option keep their key
            del values["absent_share"]
        if self.patience is None:    # absent when unused, for the same reason
            del values["patience"]
        if self.schedule == "constant":     # likewise
            del values["schedule"]
        if not self.min_delta:
            del values["min_delta"]
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> TrainingConfig:
        loss = dict(values["loss"])
        loss["matcher"] = MatcherConfig(**loss["matcher"])
        return cls(**{**values, "loss": LossConfig(**loss)})


@dataclass
class TrainResult:
    model: AMDETR                     # the best epoch's weights, in eval mode
    history: list[dict[str, float]]
    best_epoch: int
    best_metrics: dict[str, float]
    out_dir: Path


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float,
                   device: torch.device) -> torch.optim.AdamW:
    """AdamW with PyTorch's fused kernel (one pass over all parameters instead of a Python
    loop over about a hundred tensors; CPU and CUDA)."""
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay,
                             fused=device.type in ("cpu", "cuda"))


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (unless ``fp32`` is asked), nothing elsewhere."""
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if use_bf16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_am_detr(model_config: AMDETRConfig, train: MomentSplit, valid: MomentSplit,
                  config: TrainingConfig, out_dir: str | Path,
                  extra: dict[str, Any] | None = None, stop_after: int | None = None,
                  progress: bool = True, distributed: bool = True) -> TrainResult:
    """Train (or resume, when ``out_dir/last.ckpt`` exists) and return the best model.

    ``model_config``'s input widths are set from the data. ``extra`` is stored in every
    checkpoint (e.g. the feature encoder's reference, so a checkpoint can go from raw audio
    to moments). ``stop_after`` ends the run after that many epochs in total, as an
    interruption would (for tests and time-boxed runs). ``distributed=False`` trains in this
    process alone even under ``torchrun`` (the numerics probe). With ``config.patience`` the run
    ends once validation average mAP has not gained more than ``config.min_delta`` for that
    many epochs, so its kept epoch (:func:`best_row`) lies ``patience`` epochs before its
    last (unless it reached ``config.epochs``).
    """
    out_dir = Path(out_dir)
    rank, world = _distributed() if distributed else (0, 1)
    device = resolve_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    model_config = model_config.with_inputs(train.audio_dim, train.text_dim)
    torch.manual_seed(config.seed)
    model = AMDETR(model_config).to(device)
    optimizer = make_optimizer(model, config.lr, config.weight_decay, device)
    history: list[dict[str, float]] = []
    if (out_dir / LAST).exists():
        history = _resume(out_dir / LAST, model, optimizer, model_config, config)
    trained = (torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model)
    criterion = SetCriterion(config.loss).to(device)
    train_on, valid_on = train.to(device), valid.to(device)
    train_frames = int(train.audio_mask.sum(1).max())   # longest input the model has seen
    last_epoch = config.epochs if stop_after is None else min(stop_after, config.epochs)
    epochs = range(len(history) + 1, last_epoch + 1)
    bar = progress_bar(epochs, enabled=progress and rank == 0, desc="AM-DETR", leave=False)
    for epoch in bar:
        if _patience_ran_out(history, config.patience, world, device, config.min_delta):
            break
        lr = epoch_lr(epoch, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        losses = _train_epoch(trained, criterion, optimizer, train_on, config, epoch, device,
                              rank, world)
        if rank == 0:
            metrics = evaluate_model(model, valid_on, config.eval_batch_size, device,
                                     config.precision)
            history.append({"epoch": epoch, "lr": lr, **losses,
                            **{f"valid_{k}": v for k, v in metrics.items()}})
            best = best_row(history, config.min_delta)
            state = _checkpoint(model, optimizer, model_config, config, history, extra,
                                train_frames)
            write_checkpoint(out_dir / LAST, state)
            if best["epoch"] == epoch:   # for inference: no optimiser state (a third the size)
                write_checkpoint(out_dir / BEST, {k: v for k, v in state.items()
                                                  if k != "optimizer"})
            _write_history(out_dir, history)
            bar.set_postfix(loss=f"{losses['loss_total']:.3f}",
                            mAP=f"{metrics['mAP']:.2f}")
        if world > 1:
            dist.barrier()
    if world > 1:
        dist.barrier()
    best_model = load_am_detr(out_dir / BEST, device)
    best = best_row(history, config.min_delta) if history else {}
    return TrainResult(best_model, history, int(best.get("epoch", 0)),
                       {k.removeprefix("valid_"): v for k, v in best.items()
                        if k.startswith("valid_")}, out_dir)


def epoch_lr(epoch: int, config: TrainingConfig) -> float:
    """The learning rate of ``epoch`` (1-based) under ``config.schedule``; a function of the
    epoch alone, so a resumed run continues on the same rate."""
    if config.schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / config.epochs))


def best_row(history: Sequence[dict[str, float]], min_delta: float = 0.0) -> dict[str, float]:
    """The epoch kept: the last to beat the best validation average mAP before it by more
    than ``min_delta`` points (with 0, the first epoch of the highest score)."""
    best = history[0]
    for row in history[1:]:
        if row["valid_mAP"] > best["valid_mAP"] + min_delta:
            best = row
    return best


def _patience_ran_out(history: list[dict[str, float]], patience: int | None, world: int,
                      device: torch.device, min_delta: float = 0.0) -> bool:
    """Has validation average mAP not improved for ``patience`` epochs? (Rank 0 keeps
    the history and decides for every process.)"""
    if patience is None:
        return False
    out = bool(history) and (history[-1]["epoch"] - best_row(history, min_delta)["epoch"]
                             >= patience)
    if world > 1:
        flag = torch.tensor([int(out)], device=device)
        dist.broadcast(flag, src=0)
        out = bool(flag.item())
    return out


def _train_epoch(model: torch.nn.Module, criterion: SetCriterion,
                 optimizer: torch.optim.Optimizer, split: MomentSplit,
                 config: TrainingConfig, epoch: int, device: torch.device, rank: int,
                 world: int) -> dict[str, float]:
    model.train()
    totals: dict[str, float] = {}
    steps = 0
    for rows, texts in epoch_pairs(split, config, epoch, device):
        batch = split.batch(rows[rank::world], None if texts is None else texts[rank::world],
                            classes=config.uses_classes)
        with autocast(device, config.precision):
            outputs = model(**batch.model_inputs(config.negative_pairs))
        losses = criterion(outputs, batch.targets)
        total = criterion.total(losses)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        for name, value in {**losses, "loss_total": total}.items():
            totals[name] = totals.get(name, 0.0) + value.detach()
        steps += 1
    return {name: float(value) / steps for name, value in totals.items()}


def epoch_pairs(split: MomentSplit, config: TrainingConfig, epoch: int,
                device: torch.device | str = "cpu"
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """The (recording rows, text rows) of each batch of one epoch; text rows ``None`` when
    every pair is present. Absent pairs are drawn from ``(seed, epoch)``, so a resumed run
    sees the ones an uninterrupted one would: ``absent_share`` of each batch's texts
    replaced, or (``absent_added``) ``B s / (1 - s)`` absent pairs added to the batch's B,
    so they are ``s`` of the grown batch and every present pair keeps its place."""
    absent = np.random.default_rng([config.seed, epoch]) if config.absent_share else None
    for rows in epoch_batches(len(split), config.batch_size, config.seed, epoch, device):
        if absent is None:
            yield rows, None
            continue
        draw = {"by_class": config.absent_by_class, "hard_share": config.hard_share}
        if not config.absent_added:
            yield rows, split.absent_texts(rows, config.absent_share, absent, **draw)
            continue
        count = round(len(rows) * config.absent_share / (1 - config.absent_share))
        takers = rows[torch.from_numpy(absent.choice(len(rows), count,
                                                     replace=count > len(rows))).to(
            rows.device)]
        texts = split.absent_texts(takers, 1.0, absent, **draw)
        yield torch.cat((rows, takers)), torch.cat((rows, texts))


def pairs_digest(split: MomentSplit, config: TrainingConfig, batches: int = 8) -> str:
    """16 hex digits of what the first ``batches`` batches of epoch 1 train on: rows,
    texts and the targets the beyond-the-paper switches make (presence, other events,
    checked negatives). Part of a run's key when a recipe switches them on, so a change
    of how pairs are drawn or labelled makes new runs instead of reusing old ones."""
    digest = hashlib.sha256()
    for _, (rows, texts) in zip(range(batches), epoch_pairs(split, config, 1), strict=False):
        batch = split.batch(rows, texts, classes=config.uses_classes)
        targets = batch.targets
        parts = [rows, batch.tokens, targets.saliency, targets.present, targets.other,
                 targets.negative_ok]
        for part in parts:
            if part is not None:
                digest.update(part.detach().cpu().numpy().tobytes())
        for spans in targets.spans_cxw + (targets.other_spans_cxw or []):
            digest.update(spans.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def epoch_batches(size: int, batch_size: int, seed: int, epoch: int,
                  device: torch.device | str = "cpu") -> Iterator[torch.Tensor]:
    """Rows of each batch of one epoch: a permutation seeded by ``(seed, epoch)``, so a
    resumed run sees the batches an uninterrupted one would. The last partial batch is
    kept unless it has a single query (no rolled negative is possible then)."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(size, generator=generator).to(device)
    for start in range(0, size, batch_size):
        rows = order[start:start + batch_size]
        if len(rows) > 1 or size == 1:
            yield rows


@torch.no_grad()
def predict_split(model: AMDETR, split: MomentSplit, batch_size: int = 256,
                  device: torch.device | str = "cpu", precision: str = "auto",
                  top_k: int = 10, clamp_s: float | None = None) -> list[MomentPrediction]:
    """Ranked moments for every query of ``split`` (Lighthouse prediction records);
    ``clamp_s`` as in :func:`amr_lib.model.postprocess.ranked_moments`."""
    device = torch.device(device)
    model.eval()
    split = split.to(device)
    length_s = split.prediction_length_s()
    duration_s = torch.tensor([a.duration for a in split.annotations], dtype=torch.float64)
    predictions = []
    for start in range(0, len(split), batch_size):
        rows = torch.arange(start, min(start + batch_size, len(split)), device=device)
        batch = split.batch(rows)
        with autocast(device, precision):
            outputs = model(**batch.model_inputs(negatives=False))
        moments = ranked_moments(outputs["pred_logits"], outputs["pred_spans"],
                                 length_s[rows], duration_s[rows.cpu()], split.hop_s, top_k,
                                 clamp_s)
        for row, windows in zip(rows.tolist(), moments, strict=True):
            annotation = split.annotations[row]
            predictions.append(MomentPrediction(annotation.qid, annotation.query,
                                                annotation.vid, windows))
    return predictions


def evaluate_model(model: AMDETR, split: MomentSplit, batch_size: int = 256,
                   device: torch.device | str = "cpu", precision: str = "auto"
                   ) -> dict[str, float]:
    """R1@t, mAP@t and average mAP (percent) of ``model`` on ``split``."""
    predictions = predict_split(model, split, batch_size, device, precision)
    return evaluate(list(split.annotations), predictions)


def load_am_detr(path: str | Path, device: torch.device | str = "cpu") -> AMDETR:
    """The model of a checkpoint written by :func:`train_am_detr`, in eval mode."""
    return model_from_checkpoint(read_am_detr_checkpoint(path), str(path), device)


def model_from_checkpoint(checkpoint: dict[str, Any], where: str,
                          device: torch.device | str = "cpu") -> AMDETR:
    """The model of an already read checkpoint (``where`` names it in errors)."""
    model = AMDETR(AMDETRConfig.from_json(checkpoint["model_config"]))
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as problem:
        raise ValueError(f"{where}: weights do not fit the stored config ({problem})") from None
    return model.to(device).eval()


def model_device(model: torch.nn.Module) -> torch.device:
    """Where ``model``'s weights are (under torchrun, the process's own GPU)."""
    return next(model.parameters()).device


def read_am_detr_checkpoint(path: str | Path) -> dict[str, Any]:
    return read_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION)


def _checkpoint(model: AMDETR, optimizer: torch.optim.Optimizer, model_config: AMDETRConfig,
                config: TrainingConfig, history: list[dict[str, float]],
                extra: dict[str, Any] | None, train_frames: int) -> dict[str, Any]:
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "model_config": model_config.to_json(), "training": config.to_json(),
            "model": cpu_state(model), "optimizer": optimizer.state_dict(),
            "epoch": history[-1]["epoch"], "history": history, "rng": rng,
            "train_frames": train_frames, "extra": extra or {}}


def _resume(path: Path, model: AMDETR, optimizer: torch.optim.Optimizer,
            model_config: AMDETRConfig, config: TrainingConfig) -> list[dict[str, float]]:
    checkpoint = read_am_detr_checkpoint(path)
    stored = TrainingConfig.from_json(checkpoint["training"])
    # the number of epochs may grow (unless the schedule spans them) and the device may
    # change; nothing else may
    grows = config.schedule == "constant"
    same = replace(stored, epochs=config.epochs if grows else stored.epochs,
                   device=config.device, eval_batch_size=config.eval_batch_size)
    if AMDETRConfig.from_json(checkpoint["model_config"]) != model_config or same != config:
        raise ValueError(f"{path}: was made by another model or training config; resume "
                         "with the same settings or choose a new output folder")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    if "cuda" in checkpoint["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
    return list(checkpoint["history"])


def _write_history(out_dir: Path, history: list[dict[str, float]]) -> None:
    (out_dir / "history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
    with (out_dir / "history.csv").open("w", newline="", encoding="utf-8") as handle:
        # every row's columns: a run resumed from before a column existed lacks it early on
        columns = list(dict.fromkeys(key for row in history for key in row))
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(history)


def is_main_process() -> bool:
    """True outside ``torchrun`` and in its process 0 (the one that evaluates and writes)."""
    return _distributed()[0] == 0


def _distributed() -> tuple[int, int]:
    """``(rank, world size)``; joins the process group when started by ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1

