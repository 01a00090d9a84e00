"""The offline audio encoder: a small CNN trained contrastively against frozen text embeddings.

No pretrained audio-text model is reachable offline, so the project trains its own joint
space (:mod:`amr_lib.features.contrastive_training`), as the paper's retrieval-trained
encoders were: log-mel ``(B, n_mels, frames)`` -> 4 conv blocks (conv3x3-BN-ReLU, 2x2
average pooling) -> mean over frequency -> mean and max over time -> projection MLP ->
L2-normalised ``(B, embed_dim)``. The text side is a trainable MLP from the frozen
all-MiniLM-L6-v2 sentence embedding ``(384,)`` into the same space; a CLIP-style learnable
``logit_scale`` (log inverse temperature) scales the cosine similarities.

This book's stand-in for the paper's "VR without contrastive learning" is
:func:`untrained_model`: the very same network, randomly initialised from a seed and never
trained. Its audio embeddings still describe the sound (random convolutional features do),
but its audio space is not aligned to the text space, so text-to-audio similarities carry
no meaning. With the same seed it is exactly the starting point of the trained model.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from amr_lib.audio import resample
from amr_lib.features.frontend import LogMel, LogMelConfig
from amr_lib.features.text import TextEncoder
from amr_lib.features.windows import (
    WindowConfig,
    checked_audio,
    extract_windows,
    window_length,
    window_starts,
)
from amr_lib.storage.checkpoints import cpu_state, read_checkpoint, write_checkpoint

INITIAL_TEMPERATURE = 0.07                  # CLIP's initial softmax temperature
MAX_LOGIT_SCALE = math.log(100.0)           # CLIP's clamp: inverse temperature <= 100
POOL = 2                                    # time and frequency pooling of each conv block
DEFAULT_WINDOW_BATCH = 128                  # windows per forward pass in embed_windows
CHECKPOINT_FORMAT = "amr_lib.contrastive_audio_encoder"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class AudioEncoderConfig:
    """The network: front end, CNN widths, joint space and the training crop length."""

    logmel: LogMelConfig = field(default_factory=LogMelConfig)
    channels: tuple[int, ...] = (16, 32, 64, 128)   # one conv block per entry
    hidden_dim: int = 256                           # projection MLPs' hidden width
    embed_dim: int = 256                            # joint audio-text space
    text_dim: int = 384                             # frozen sentence embedding (MiniLM)
    crop_s: float = 1.0                             # training crop = default feature window

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        sizes = (*self.channels, self.hidden_dim, self.embed_dim, self.text_dim)
        if not self.channels or min(sizes) < 1:
            raise ValueError(f"channels and dimensions must be positive integers: {self}")
        if not self.crop_s > 0:
            raise ValueError(f"crop_s must be positive, got {self.crop_s}")

    @property
    def sample_rate(self) -> int:
        return self.logmel.sample_rate

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only (safe for ``torch.load(weights_only=True)``)."""
        values = asdict(self)
        values["channels"] = list(self.channels)
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> AudioEncoderConfig:
        return cls(**{**values, "logmel": LogMelConfig(**values["logmel"]),
                      "channels": tuple(values["channels"])})


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
        nn.AvgPool2d(POOL, ceil_mode=True))     # ceil: windows shorter than 16 frames work


def _projection(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True),
                         nn.Linear(hidden_dim, out_dim))


class AudioEncoder(nn.Module):
    """``(B, N)`` waveforms at ``config.sample_rate`` -> ``(B, embed_dim)`` unit vectors."""

    def __init__(self, config: AudioEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.frontend = LogMel(config.logmel)
        self.input_norm = nn.BatchNorm1d(config.logmel.n_mels)     # per mel bin
        widths = itertools.pairwise((1, *config.channels))
        self.blocks = nn.Sequential(*(_conv_block(i, o) for i, o in widths))
        self.head = _projection(2 * config.channels[-1], config.hidden_dim, config.embed_dim)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.encode_logmel(self.frontend(audio))

    def encode_logmel(self, logmel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, frames)`` log-mels (as :class:`~amr_lib.features.frontend.LogMel`
        makes them) -> ``(B, D)``."""
        x = self.blocks(self.input_norm(logmel.float()).unsqueeze(1))   # (B, C, F', T')
        x = x.mean(dim=2)                                                # (B, C, T')
        pooled = torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1)        # (B, 2C)
        return F.normalize(self.head(pooled), dim=-1)


class ContrastiveModel(nn.Module):
    """Audio encoder + text projection + learnable temperature (a CLIP-style pair)."""

    def __init__(self, config: AudioEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.audio = AudioEncoder(config)
        self.text = _projection(config.text_dim, config.hidden_dim, config.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / INITIAL_TEMPERATURE)))

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    def encode_text(self, sentences: torch.Tensor) -> torch.Tensor:
        """``(Q, text_dim)`` frozen sentence embeddings -> ``(Q, embed_dim)`` unit vectors."""
        return F.normalize(self.text(sentences.float()), dim=-1)

    def forward(self, logmel: torch.Tensor,
                sentences: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Paired ``(B, n_mels, frames)`` and ``(B, text_dim)`` -> two ``(B, D)`` embeddings."""
        return self.audio.encode_logmel(logmel), self.encode_text(sentences)

    def clamp_logit_scale(self) -> None:
        """Keep the inverse temperature at most 100 (call after each optimiser step)."""
        with torch.no_grad():
            self.logit_scale.clamp_(max=MAX_LOGIT_SCALE)


def symmetric_info_nce(audio_emb: torch.Tensor, text_emb: torch.Tensor,
                       logit_scale: torch.Tensor,
                       groups: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of the audio->text and text->audio cross-entropies of a batch.

    ``audio_emb`` and ``text_emb`` are ``(B, D)`` unit vectors, row ``i`` of each a pair;
    ``logit_scale`` is the log inverse temperature (clamped to ``MAX_LOGIT_SCALE``).
    ``groups`` ``(B,)``: rows with the same value come from the same clip; all of them
    count as positives (the target spreads evenly over them) instead of as negatives.
    """
    scale = logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()
    logits = scale * audio_emb @ text_emb.T                               # (B, B)
    if groups is None:
        target = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    same = (groups[:, None] == groups[None, :]).to(logits.dtype)          # (B, B), symmetric
    target = same / same.sum(dim=1, keepdim=True)
    audio_to_text = -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    text_to_audio = -(target * F.log_softmax(logits.T, dim=1)).sum(dim=1).mean()
    return (audio_to_text + text_to_audio) / 2


def untrained_model(config: AudioEncoderConfig, seed: int) -> ContrastiveModel:
    """The "w/o contrastive learning" ablation: random weights from ``seed``, in eval mode."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = ContrastiveModel(config)
    finally:
        torch.random.set_rng_state(generator_state)
    return model.eval()


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd inside; the previous mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)


def embed_windows(model: ContrastiveModel, audio: np.ndarray, sample_rate: int,
                  window: WindowConfig,
                  batch_size: int = DEFAULT_WINDOW_BATCH) -> np.ndarray:
    """``(N,)`` audio at ``sample_rate`` Hz -> ``(T, D)`` float32 unit vectors, one per window.

    ``T = floor(duration_s / hop_s)``; frame ``t`` sees the ``window_s`` seconds centred on
    ``[t * hop_s, (t + 1) * hop_s)`` (:mod:`amr_lib.features.windows`). Raises
    ``ValueError`` for non-finite audio or audio shorter than one window.
    """
    audio = checked_audio(audio)
    if sample_rate != model.config.sample_rate:
        audio = resample(audio, sample_rate, model.config.sample_rate)
    rate = model.config.sample_rate
    starts = window_starts(len(audio), rate, window)
    length = window_length(rate, window)
    chunks = []
    with evaluating(model):
        for first in range(0, len(starts), batch_size):
            windows = extract_windows(audio, starts[first:first + batch_size], length)
            batch = torch.from_numpy(windows).to(model.device)          # (b, length)
            chunks.append(model.audio(batch).float().cpu())
    return torch.cat(chunks).numpy()


def embed_texts(model: ContrastiveModel, text_encoder: TextEncoder,
                queries: list[str]) -> np.ndarray:
    """``Q`` queries -> ``(Q, D)`` float32 unit vectors in the joint audio-text space."""
    sentences = torch.from_numpy(text_encoder.sentence_embeddings(queries))  # (Q, text_dim)
    with evaluating(model):
        return model.encode_text(sentences.to(model.device)).float().cpu().numpy()


def model_fingerprint(model: ContrastiveModel) -> str:
    """SHA-256 of the config and every weight (for cache keys of extracted features)."""
    digest = hashlib.sha256(json.dumps(model.config.to_json(), sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class ContrastiveFeatureEncoder:
    """A trained or untrained :class:`ContrastiveModel` behind the feature-extraction protocol.

    Audio: ``(T, embed_dim)`` window embeddings. Queries: MiniLM token states ``(L_i, 384)``
    (the frozen text encoder's) and joint-space embeddings ``(Q, embed_dim)``.
    """

    def __init__(self, model: ContrastiveModel, text_encoder: TextEncoder,
                 name: str = "contrastive") -> None:
        self.model, self.text_encoder, self.name = model, text_encoder, name

    def fingerprint(self) -> str:
        material = model_fingerprint(self.model) + self.text_encoder.weights_fingerprint()
        return hashlib.sha256(material.encode()).hexdigest()

    def embed_windows(self, audio: np.ndarray, sample_rate: int,
                      window: WindowConfig) -> np.ndarray:
        return embed_windows(self.model, audio, sample_rate, window)

    def query_features(self, queries: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        return (self.text_encoder.token_states(queries),
                embed_texts(self.model, self.text_encoder, queries))


def model_payload(model: ContrastiveModel) -> dict[str, Any]:
    """Config and weights as plain types and tensors (embeddable in other checkpoints)."""
    return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "config": model.config.to_json(), "state_dict": cpu_state(model)}


def model_from_payload(payload: dict[str, Any], where: str,
                       device: str | torch.device = "cpu") -> ContrastiveModel:
    """The model stored by :func:`model_payload`; ``where`` names the source in errors."""
    try:
        model = ContrastiveModel(AudioEncoderConfig.from_json(payload["config"]))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as problem:
        raise ValueError(f"{where}: inconsistent audio encoder ({problem})") from None
    return model.to(device).eval()


def save_model(path: str | Path, model: ContrastiveModel) -> None:
    """Write config, weights and format version to ``path`` atomically."""
    write_checkpoint(path, model_payload(model))


def load_model(path: str | Path, device: str | torch.device = "cpu") -> ContrastiveModel:
    """The model saved by :func:`save_model`, on ``device``, in eval mode.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming ``path`` for
    a damaged file or one that is not such a checkpoint.
    """
    payload = read_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION)
    return model_from_payload(payload, str(path), device)
