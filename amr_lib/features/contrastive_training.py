"""Training and evaluating the contrastive audio encoder on a captioned clip corpus.

Data: the train clips' audible spans (:func:`amr_lib.simulation.algorithm.trim_clips`). Each span's
log-mel is computed once and kept in memory as float16, all spans in one
``(total_frames, n_mels)`` array (2 bytes x 64 bins x 100 frames per second: 12.8 kB per
second of audio, about 0.26 GB for the 1,036 synthetic train clips); each epoch draws
``crops_per_clip`` random ``crop_s`` crops per clip from it. Every caption's frozen sentence
embedding is computed once. Both are cached on disk by the corpus fingerprint and configs.

Batches: an epoch is ``crops_per_clip`` passes, each over a fresh permutation of the clips,
so a batch never holds one clip twice (no false negatives from duplicate clips); each crop
is paired with one of its clip's five captions, drawn at random.

Evaluation (text-to-audio retrieval): a clip's embedding is the L2-normalised mean of the
embeddings of the 1 s windows (1 s hop) of its audible span; every caption of every clip of
the split is a query; recall@k is the share of queries whose clip ranks in the top k.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from amr_lib.audio import resample
from amr_lib.corpora.base import ClipCorpus
from amr_lib.features.contrastive import (
    AudioEncoderConfig,
    ContrastiveModel,
    evaluating,
    symmetric_info_nce,
    untrained_model,
)
from amr_lib.features.frontend import LogMel
from amr_lib.features.text import TextEncoder
from amr_lib.features.windows import WindowConfig, extract_windows, window_length, window_starts
from amr_lib.progress import progress_bar
from amr_lib.simulation.algorithm import SimulationConfig, TrimmedClip, trim_clips
from amr_lib.simulation.trimming import CODE_THRESHOLD_DB
from amr_lib.storage.cache import ArtifactCache

PREPARATION_VERSION = 1
EVAL_WINDOW = WindowConfig(window_s=1.0, hop_s=1.0)
DB_TO_LOG_POWER = math.log(10) / 10        # +g dB of gain adds g * this to a log power
MIN_BATCH = 2                              # a contrastive batch needs a negative
EVAL_BATCH = 128                           # windows per forward pass in evaluation
DEFAULT_KS = (1, 5, 10)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: the network, optimisation, crops, augmentation and device."""

    model: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)
    epochs: int = 8
    batch_size: int = 128
    lr: float = 2e-3                    # AdamW peak learning rate
    weight_decay: float = 1e-2
    warmup_fraction: float = 0.05       # of all steps; then cosine decay to zero
    crops_per_clip: int = 3             # per epoch
    gain_jitter_db: float = 6.0         # crops get a random gain in [-x, x] dB
    trim_threshold_db: float = CODE_THRESHOLD_DB
    valid_split: str | None = "valid"   # None: no validation recall in the history
    device: str = "cpu"

    def __post_init__(self) -> None:
        counts = (self.epochs, self.batch_size, self.crops_per_clip)
        if min(counts) < 1 or self.batch_size < MIN_BATCH:
            raise ValueError(f"epochs, crops_per_clip >= 1 and batch_size >= 2 needed: {self}")
        if not (self.lr > 0 and self.weight_decay >= 0 and 0 <= self.warmup_fraction < 1):
            raise ValueError(f"lr > 0, weight_decay >= 0, warmup_fraction in [0, 1): {self}")


@dataclass(frozen=True)
class CropSource:
    """Log-mels of each clip's audible span, to cut training crops from."""

    clip_ids: tuple[str, ...]
    logmels: np.ndarray      # (total_frames, n_mels) float16, all spans one after another
    offsets: np.ndarray      # (C + 1,) int64: clip c is rows offsets[c]:offsets[c + 1]
    captions: np.ndarray     # (C, 5, text_dim) float32 unit sentence embeddings


@dataclass(frozen=True)
class RetrievalSet:
    """Log-mels of every 1 s window of each clip's audible span, and the clips' captions."""

    clip_ids: tuple[str, ...]
    windows: np.ndarray      # (W, n_mels, frames) float16
    window_clip: np.ndarray  # (W,) int64: the clip of each window
    captions: np.ndarray     # (C, 5, text_dim) float32


def _cached(cache: ArtifactCache | None, kind: str, material: dict[str, Any],
            build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Named arrays from an ``.npz`` cache entry (built and saved on a miss)."""
    return (cache or ArtifactCache()).get_or_build_arrays(kind, material, build)


def _span_audio(corpus: ClipCorpus, clip: TrimmedClip, rate: int, min_samples: int) -> np.ndarray:
    """``(n,)`` float32 audible span at ``rate`` Hz, zero-padded to ``min_samples``."""
    audio = corpus.load(clip.clip_id)
    if corpus.sample_rate != rate:
        audio = resample(audio, corpus.sample_rate, rate)
    span = audio[round(clip.start_s * rate):round(clip.end_s * rate)]
    return np.pad(span, (0, max(0, min_samples - len(span))))


def _trimmed(corpus: ClipCorpus, split: str, rate: int, threshold_db: float,
             cache: ArtifactCache | None) -> list[TrimmedClip]:
    config = SimulationConfig(trim_threshold_db=threshold_db, sample_rate=rate)
    return trim_clips(corpus, split, config, cache)


def caption_embeddings(corpus: ClipCorpus, split: str, text_encoder: TextEncoder,
                       cache: ArtifactCache | None = None) -> dict[str, np.ndarray]:
    """Clip id -> ``(5, text_dim)`` float32 sentence embeddings of its captions (cached)."""
    infos = corpus.clips(split)
    material = {"corpus": corpus.fingerprint(), "split": split, "version": PREPARATION_VERSION,
                "text": text_encoder.weights_fingerprint()}

    def build() -> dict[str, np.ndarray]:
        captions = [caption for info in infos for caption in info.captions]
        embeddings = text_encoder.sentence_embeddings(captions).astype(np.float32)
        return {"clip_ids": np.array([info.clip_id for info in infos]),
                "embeddings": embeddings.reshape(len(infos), -1, embeddings.shape[-1])}

    arrays = _cached(cache, "caption_embeddings", material, build)
    return dict(zip(arrays["clip_ids"].tolist(), arrays["embeddings"], strict=True))


def prepare_crops(corpus: ClipCorpus, split: str, text_encoder: TextEncoder,
                  config: TrainConfig, cache: ArtifactCache | None = None) -> CropSource:
    """The :class:`CropSource` of ``split`` (log-mels cached by corpus and configs)."""
    encoder = config.model
    rate = encoder.sample_rate
    clips = _trimmed(corpus, split, rate, config.trim_threshold_db, cache)
    min_samples = round(encoder.crop_s * rate)
    frontend = LogMel(encoder.logmel)
    material = {"corpus": corpus.fingerprint(), "split": split, "version": PREPARATION_VERSION,
                "logmel": asdict(encoder.logmel), "min_samples": min_samples,
                "trim_threshold_db": config.trim_threshold_db}

    def build() -> dict[str, np.ndarray]:
        samples = [max(min_samples, round(c.end_s * rate) - round(c.start_s * rate))
                   for c in clips]
        lengths = [1 + n // encoder.logmel.hop_length for n in samples]   # centred frames
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        logmels = np.empty((offsets[-1], encoder.logmel.n_mels), dtype=np.float16)
        for index, clip in enumerate(progress_bar(clips, desc=f"log-mels {corpus.name} {split}",
                                          leave=False)):
            audio = torch.from_numpy(_span_audio(corpus, clip, rate, min_samples))
            with torch.inference_mode():
                span = frontend(audio[None])[0].T                          # (frames, n_mels)
            logmels[offsets[index]:offsets[index + 1]] = span.numpy()
        return {"logmels": logmels, "offsets": offsets}

    arrays = _cached(cache, "contrastive_logmels", material, build)
    captions = caption_embeddings(corpus, split, text_encoder, cache)
    return CropSource(tuple(c.clip_id for c in clips), arrays["logmels"], arrays["offsets"],
                      np.stack([captions[c.clip_id] for c in clips]))


def prepare_retrieval(corpus: ClipCorpus, split: str, text_encoder: TextEncoder,
                      config: AudioEncoderConfig, trim_threshold_db: float = CODE_THRESHOLD_DB,
                      cache: ArtifactCache | None = None) -> RetrievalSet:
    """The :class:`RetrievalSet` of ``split``: 1 s windows, 1 s hop, of each audible span."""
    rate = config.sample_rate
    clips = _trimmed(corpus, split, rate, trim_threshold_db, cache)
    length = window_length(rate, EVAL_WINDOW)
    frontend = LogMel(config.logmel)
    material = {"corpus": corpus.fingerprint(), "split": split, "version": PREPARATION_VERSION,
                "logmel": asdict(config.logmel), "window": asdict(EVAL_WINDOW),
                "trim_threshold_db": trim_threshold_db}

    def build() -> dict[str, np.ndarray]:
        windows, owners = [], []
        for index, clip in enumerate(progress_bar(clips, desc=f"windows {corpus.name} {split}",
                                          leave=False)):
            span = _span_audio(corpus, clip, rate, length)
            cut = extract_windows(span, window_starts(len(span), rate, EVAL_WINDOW), length)
            with torch.inference_mode():
                windows.append(frontend(torch.from_numpy(cut)).numpy().astype(np.float16))
            owners.append(np.full(len(cut), index, dtype=np.int64))
        return {"windows": np.concatenate(windows), "window_clip": np.concatenate(owners)}

    arrays = _cached(cache, "retrieval_logmels", material, build)
    captions = caption_embeddings(corpus, split, text_encoder, cache)
    return RetrievalSet(tuple(c.clip_id for c in clips), arrays["windows"],
                        arrays["window_clip"], np.stack([captions[c.clip_id] for c in clips]))


def recall_at_k(similarity: np.ndarray, target: np.ndarray,
                ks: Sequence[int] = DEFAULT_KS) -> dict[int, float]:
    """Share of queries whose target ranks in the top ``k``, for each ``k``.

    ``similarity`` ``(Q, C)`` query-to-item scores, ``target`` ``(Q,)`` the right item of
    each query. Ties count against the query: its rank is the number of *other* items
    scoring at least as high as its target.
    """
    similarity, target = np.asarray(similarity), np.asarray(target)
    if similarity.ndim != 2 or target.shape != (len(similarity),):
        raise ValueError(f"need similarity (Q, C) and target (Q,), got {similarity.shape} "
                         f"and {target.shape}")
    if min(ks, default=0) < 1:
        raise ValueError(f"every k must be at least 1, got {list(ks)}")
    target_score = similarity[np.arange(len(target)), target]                   # (Q,)
    rank = (similarity >= target_score[:, None]).sum(axis=1) - 1                 # (Q,)
    return {int(k): float(np.mean(rank < k)) for k in ks}


def recall_on_set(model: ContrastiveModel, data: RetrievalSet,
                  ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """Text-to-audio recall@k (``"R@k"``), chance (``"chance@k"``), and the set's size."""
    with evaluating(model):
        chunks = [model.audio.encode_logmel(torch.from_numpy(data.windows[i:i + EVAL_BATCH])
                                            .to(model.device).float())
                  for i in range(0, len(data.windows), EVAL_BATCH)]
        owners = torch.from_numpy(data.window_clip).to(model.device)
        clips = torch.zeros(len(data.clip_ids), model.config.embed_dim, device=model.device)
        clips = torch.nn.functional.normalize(clips.index_add_(0, owners, torch.cat(chunks)),
                                              dim=-1)                         # (C, D)
        queries = torch.from_numpy(data.captions.reshape(-1, data.captions.shape[-1]))
        texts = model.encode_text(queries.to(model.device))                  # (5C, D)
        similarity = (texts @ clips.T).float().cpu().numpy()                  # (5C, C)
    target = np.repeat(np.arange(len(data.clip_ids)), data.captions.shape[1])
    recalls = recall_at_k(similarity, target, ks)
    num_clips = len(data.clip_ids)
    return {**{f"R@{k}": value for k, value in recalls.items()},
            **{f"chance@{k}": min(1.0, k / num_clips) for k in recalls},
            "clips": num_clips, "queries": len(target)}


def retrieval_recall(model: ContrastiveModel, clips: ClipCorpus, text_encoder: TextEncoder,
                     split: str, ks: Sequence[int] = DEFAULT_KS,
                     cache: ArtifactCache | None = None) -> dict[str, float]:
    """Text-to-audio recall@k over the clips of ``split`` (see the module docstring)."""
    data = prepare_retrieval(clips, split, text_encoder, model.config, cache=cache)
    return recall_on_set(model, data, ks)


def crop_length_frames(config: AudioEncoderConfig) -> int:
    """Log-mel frames of one ``crop_s`` crop (101 for 1 s at a 10 ms hop, centred frames)."""
    return 1 + round(config.crop_s * config.sample_rate) // config.logmel.hop_length


def _epoch_batches(num_clips: int, config: TrainConfig,
                   rng: np.random.Generator) -> list[np.ndarray]:
    """Clip indices of each batch of one epoch; a batch never holds a clip twice."""
    batches = []
    for _ in range(config.crops_per_clip):
        order = rng.permutation(num_clips)
        batches += [order[i:i + config.batch_size]
                    for i in range(0, num_clips, config.batch_size)]
    return [batch for batch in batches if len(batch) >= MIN_BATCH]


def _sample_batch(source: CropSource, clip_index: np.ndarray, crop_frames: int,
                  config: TrainConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(B, n_mels, crop_frames)`` random crops with random gains and ``(B, text_dim)``
    captions of the clips ``clip_index``."""
    choices = source.offsets[clip_index + 1] - source.offsets[clip_index] - crop_frames + 1
    first = source.offsets[clip_index] + rng.integers(0, choices)                  # (B,)
    rows = first[:, None] + np.arange(crop_frames)                                  # (B, F)
    crops = source.logmels[rows].transpose(0, 2, 1).astype(np.float32)              # (B, M, F)
    gains = rng.uniform(-config.gain_jitter_db, config.gain_jitter_db, len(clip_index))
    crops += (gains * DB_TO_LOG_POWER).astype(np.float32)[:, None, None]
    captions = source.captions[clip_index, rng.integers(0, source.captions.shape[1],
                                                        len(clip_index))]
    return crops, captions


def _schedule(optimizer: torch.optim.Optimizer, total_steps: int,
              warmup_fraction: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then cosine decay to zero."""
    warmup = max(1, round(warmup_fraction * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total_steps - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_contrastive(clips: ClipCorpus, text_encoder: TextEncoder, config: TrainConfig,
                      seed: int, cache: ArtifactCache | None = None
                      ) -> tuple[ContrastiveModel, list[dict[str, Any]]]:
    """Train on the ``"train"`` clips; returns the model (eval mode) and per-epoch history.

    History rows: ``epoch``, ``train_loss`` (mean symmetric InfoNCE), ``valid_R@10``
    (``None`` without a validation split), ``temperature`` and ``elapsed_s`` (seconds since
    the start, preparation included). The same seed repeats a CPU run exactly.
    """
    started = time.perf_counter()
    source = prepare_crops(clips, "train", text_encoder, config, cache)
    valid = (prepare_retrieval(clips, config.valid_split, text_encoder, config.model,
                               config.trim_threshold_db, cache) if config.valid_split else None)
    rng = np.random.default_rng(seed)
    model = untrained_model(config.model, seed).to(config.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    crop_frames = crop_length_frames(config.model)
    total_steps = config.epochs * len(_epoch_batches(len(source.clip_ids), config,
                                                     np.random.default_rng(seed)))
    scheduler = _schedule(optimizer, total_steps, config.warmup_fraction)
    history: list[dict[str, Any]] = []
    with progress_bar(total=total_steps, desc="contrastive training", leave=False) as progress:
        for epoch in range(1, config.epochs + 1):
            losses = []
            for clip_index in _epoch_batches(len(source.clip_ids), config, rng):
                crops, captions = _sample_batch(source, clip_index, crop_frames, config, rng)
                audio_emb, text_emb = model(torch.from_numpy(crops).to(config.device),
                                            torch.from_numpy(captions).to(config.device))
                loss = symmetric_info_nce(audio_emb, text_emb, model.logit_scale)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                model.clamp_logit_scale()
                losses.append(loss.item())
                progress.update()
            recall = recall_on_set(model, valid, (10,))["R@10"] if valid else None
            history.append({"epoch": epoch, "train_loss": float(np.mean(losses)),
                            "valid_R@10": recall,
                            "temperature": float(torch.exp(-model.logit_scale).item()),
                            "elapsed_s": time.perf_counter() - started})
            progress.set_postfix(loss=f"{history[-1]['train_loss']:.3f}",
                                 r10="-" if recall is None else f"{recall:.3f}")
    return model.eval(), history
