"""Feature encoders by name: ``contrastive``, ``contrastive-untrained`` and ``clap``.

Each comes back behind the :class:`~amr_lib.features.extract.FeatureEncoder` protocol. A
contrastive encoder without a checkpoint is trained on the training clips of the given clip
corpus, or taken from the artifact cache when an identical one was trained before (same
corpus content, training config, seed and text-encoder weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from amr_lib.corpora import CorpusSpec, make_clip_corpus
from amr_lib.features.clap import DEFAULT_MODEL, ClapEncoder
from amr_lib.features.contrastive import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    ContrastiveFeatureEncoder,
    ContrastiveModel,
    load_model,
    model_from_payload,
    model_payload,
    save_model,
    untrained_model,
)
from amr_lib.features.contrastive_training import TrainConfig, train_contrastive
from amr_lib.features.numerics import feature_numerics
from amr_lib.features.text import TextEncoder
from amr_lib.features.windows import WindowConfig
from amr_lib.storage.cache import ArtifactCache
from amr_lib.storage.checkpoints import read_checkpoint, write_checkpoint

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
                "text_weights": text_encoder.weights_fingerprint(),
                "numerics": feature_numerics()}
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


def encoder_reference(encoder, window: WindowConfig) -> dict[str, Any]:
    """What a checkpoint stores to rebuild ``encoder``: its name, window, weights
    fingerprint, and for the contrastive encoders the (small) audio network itself; CLAP
    and the text encoder are referenced by source and checked by hash when rebuilt."""
    reference = {"name": encoder.name, "window_s": window.window_s, "hop_s": window.hop_s,
                 "fingerprint": encoder.fingerprint()}
    if isinstance(encoder, ContrastiveFeatureEncoder):
        reference["audio_encoder"] = model_payload(encoder.model)
    elif isinstance(encoder, ClapFeatureEncoder):
        reference["clap_model"] = encoder.clap.spec.model
    else:
        raise TypeError(f"cannot reference a {type(encoder).__name__} in a checkpoint")
    return reference


def encoder_from_reference(reference: dict[str, Any], where: str, device: str = "cpu",
                           clap_model: str | None = None):
    """Rebuild the encoder of :func:`encoder_reference` and its window config.

    ``clap_model`` overrides where CLAP's weights are read (e.g. a local copy). Raises
    ``ValueError`` naming ``where`` when the rebuilt encoder's weights differ from the ones
    the checkpoint was trained on.
    """
    window = WindowConfig(reference["window_s"], reference["hop_s"])
    if "audio_encoder" in reference:
        model = model_from_payload(reference["audio_encoder"], where, device)
        encoder = ContrastiveFeatureEncoder(model, TextEncoder(device=device),
                                            name=reference["name"])
    else:
        encoder = ClapFeatureEncoder(ClapEncoder.from_pretrained(
            clap_model or reference["clap_model"], device=device, window_s=window.window_s,
            hop_s=window.hop_s))
    if encoder.fingerprint() != reference["fingerprint"]:
        raise ValueError(f"{where}: the feature encoder's weights here differ from the ones "
                         "this checkpoint was trained on (fingerprint mismatch)")
    return encoder, window


def encoder_file_reference(encoder, window: WindowConfig, folder: str | Path,
                           stem: str) -> dict[str, Any]:
    """:func:`encoder_reference` as plain JSON: a contrastive audio network is written to
    ``folder/{stem}.pt`` and named by that file (relative to ``folder``)."""
    reference = encoder_reference(encoder, window)
    payload = reference.pop("audio_encoder", None)
    if payload is not None:
        write_checkpoint(Path(folder) / f"{stem}.pt", payload)
        reference["audio_encoder_file"] = f"{stem}.pt"
    return reference


def encoder_from_file_reference(reference: dict[str, Any], json_path: str | Path,
                                device: str = "cpu", clap_model: str | None = None):
    """Rebuild the encoder of :func:`encoder_file_reference`, stored in the JSON file at
    ``json_path`` (the network file is read beside it); returns ``(encoder, window)``."""
    reference = dict(reference)
    if "audio_encoder_file" in reference:
        path = Path(json_path).parent / reference.pop("audio_encoder_file")
        reference["audio_encoder"] = read_checkpoint(path, CHECKPOINT_FORMAT,
                                                     CHECKPOINT_VERSION)
    return encoder_from_reference(reference, str(json_path), device, clap_model)
