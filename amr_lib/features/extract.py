"""Extract the features of a simulated split into a :class:`~amr_lib.features.store.FeatureStore`.

Mixtures are rendered from their recipes (never read from disk), cut into sliding
windows and embedded by an audio encoder; every query gets its token states and its
joint-space embedding from the same encoder's text side. Recordings without a query are
skipped: nothing would read their features. Work already in the store is not redone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from amr_lib.features.numerics import feature_numerics
from amr_lib.features.store import FeatureStore
from amr_lib.features.windows import WindowConfig
from amr_lib.progress import progress_bar
from amr_lib.simulation.clotho_moment import SimulatedSplit
from amr_lib.simulation.mixing import MixtureRenderer
from amr_lib.storage.cache import content_key

FEATURE_VERSION = 1


class FeatureEncoder(Protocol):
    """What extraction needs from an encoder (contrastive, untrained or CLAP)."""

    name: str

    def fingerprint(self) -> str:
        """Identity of the weights (a SHA-256), for the store's content address."""

    def embed_windows(self, audio: np.ndarray, sample_rate: int,
                      window: WindowConfig) -> np.ndarray:
        """``(N,)`` audio -> ``(T, D)`` one embedding per sliding window."""

    def query_features(self, queries: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        """Token states ``[(L_i, H)]`` and joint-space embeddings ``(Q, D)``."""


def feature_store_for(split: SimulatedSplit, encoder: FeatureEncoder, window: WindowConfig,
                      root: str | Path) -> FeatureStore:
    """The store for these inputs (content-addressed; nothing is computed here)."""
    return _store(split, split.renderer(), encoder, window, root)


def _store(split: SimulatedSplit, renderer: MixtureRenderer, encoder: FeatureEncoder,
           window: WindowConfig, root: str | Path) -> FeatureStore:
    material = {
        "version": FEATURE_VERSION,
        "recipes": content_key([recipe.to_json() for recipe in split.recipes]),
        "simulation": split.config.to_json(),
        "clip_corpus": renderer.clip_corpus.fingerprint(),
        "background_corpus": renderer.background_corpus.fingerprint(),
        "encoder": encoder.name,
        "weights": encoder.fingerprint(),
        "window_s": window.window_s,
        "hop_s": window.hop_s,
        "numerics": feature_numerics(),
    }
    return FeatureStore(root, encoder.name, material)


def extract_features(split: SimulatedSplit, encoder: FeatureEncoder, window: WindowConfig,
                     root: str | Path, query_batch: int = 256) -> FeatureStore:
    """Fill (or complete) the store of ``split`` and return it."""
    renderer = split.renderer()  # builds the corpora once, for the address and the audio
    store = _store(split, renderer, encoder, window, root)
    queried = {annotation.vid for annotation in split.annotations}
    unknown = sorted(queried - {recipe.vid for recipe in split.recipes})
    if unknown:
        raise ValueError(f"{len(unknown)} annotated recording(s) have no recipe in this split, "
                         f"e.g. {unknown[:3]}: annotations and recipes do not belong together")
    with store.lock():
        store.write_manifest()
        todo = [r for r in split.recipes if r.vid in queried and not store.has_audio(r.vid)]
        for recipe in progress_bar(todo, desc=f"{encoder.name} audio ({split.split})", leave=False):
            audio = renderer.render(recipe)
            store.save_audio(recipe.vid, encoder.embed_windows(audio, renderer.sample_rate,
                                                               window))
        pending = [a for a in split.annotations if not store.has_text(a.qid)]
        for start in progress_bar(range(0, len(pending), query_batch),
                          desc=f"{encoder.name} queries ({split.split})", leave=False):
            batch = pending[start:start + query_batch]
            tokens, sentences = encoder.query_features([a.query for a in batch])
            for annotation, states, sentence in zip(batch, tokens, sentences, strict=True):
                store.save_text(annotation.qid, states, sentence)
    return store
