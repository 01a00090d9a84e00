"""Feature encoders by name: ``contrastive``, ``contrastive-untrained`` and ``clap``.

Each comes back behind the :class:`~amr_lib.features.extract.FeatureEncoder` protocol. A
contrastive encoder without a checkpoint is trained on the training clips of the given clip
corpus, or taken from the artifact cache when an identical one was trained before (same
corpus content, training config, seed and text-encoder weights).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amr_lib.cache import ArtifactCache
from amr_lib.corpora import CorpusSpec, make_clip_corpus
from amr_lib.features.clap import DEFAULT_MODEL, ClapEncoder
from amr_lib.features.contrastive import (
    ContrastiveFeatureEncoder,
    ContrastiveModel,
    load_model,
    save_model,
    untrained_model,
)
from amr_lib.features.contrastive_training import TrainConfig, train_contrastive
from amr_lib.features.text import TextEncoder
from amr_lib.features.windows import WindowConfig

ENCODER_KINDS = ("contrastive", "contrastive-untrained", "clap")


class ClapFeatureEncoder:
    """LAION-CLAP behind the extraction protocol: windows at CLAP's rate, (L, 768) tokens."""

    name = "clap"

    def __init__(self, clap: ClapEncoder) -> None:
        self.clap = clap

    def fingerprint(self) -> str:
        return self.clap.weights_fingerprint()

    def embed_windows(self, audio: np.ndarray, sample_rate: int,
                      window: WindowConfig) -> np.ndarray:
        if window != self.clap.spec.windows:
            raise ValueError(f"this CLAP encoder was built for {self.clap.spec.windows}, "
                             f"not {window}")
        return self.clap.embed_windows(audio, sample_rate)

    def query_features(self, queries: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        return [self.clap.token_states(q) for q in queries], self.clap.embed_texts(queries)


def trained_contrastive_model(clip_corpus: CorpusSpec, sample_rate: int,
                              text_encoder: TextEncoder, config: TrainConfig | None = None,
                              seed: int = 0, cache: ArtifactCache | None = None
                              ) -> tuple[ContrastiveModel, list[dict]]:
    """Train (or reload from the cache) the contrastive encoder on ``clip_corpus``'s train
    clips. Returns the model and its per-epoch history."""
    config = config or TrainConfig()
    cache = cache or ArtifactCache()
    corpus = make_clip_corpus(clip_corpus, sample_rate)
    material = {"corpus": corpus.fingerprint(), "train": repr(config), "seed": seed,
                "text_weights": text_encoder.weights_fingerprint()}
    history: list[dict] = []

    def build() -> ContrastiveModel:
        model, rows = train_contrastive(corpus, text_encoder, config, seed, cache)
        history.extend(rows)
        return model

    model = cache.get_or_build("contrastive_encoder", material, build,
                               lambda value, path: save_model(path, value), load_model, ".pt")
    # saved with the model the first time; read back whenever the model comes from the cache
    history = cache.get_or_build_json("contrastive_history", material, lambda: history)
    return model.to(config.device), history


def make_feature_encoder(kind: str, window: WindowConfig, *, clip_corpus: CorpusSpec,
                         sample_rate: int, checkpoint: str | Path | None = None,
                         clap_model: str = DEFAULT_MODEL, device: str = "cpu", seed: int = 0,
                         cache: ArtifactCache | None = None):
    """The encoder called ``kind`` (see module docstring)."""
    if kind == "clap":
        return ClapFeatureEncoder(ClapEncoder.from_pretrained(
            clap_model, device=device, window_s=window.window_s, hop_s=window.hop_s))
    if kind not in ENCODER_KINDS:
        raise ValueError(f"unknown encoder {kind!r}; choose one of {ENCODER_KINDS}")
    text_encoder = TextEncoder(device=device)
    if checkpoint is not None:
        model = load_model(checkpoint, device)
    elif kind == "contrastive-untrained":
        model = untrained_model(TrainConfig().model, seed).to(device).eval()
    else:
        model, _ = trained_contrastive_model(clip_corpus, sample_rate, text_encoder,
                                             TrainConfig(device=device), seed, cache)
    return ContrastiveFeatureEncoder(model, text_encoder, name=kind)
