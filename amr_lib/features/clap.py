"""LAION-CLAP through ``transformers``: sliding-window audio embeddings and query text states.

The paper's AM-DETR reads one CLAP audio embedding per sliding window (``(T, D)``, the joint
audio-text space, D = 512 for ``laion/clap-htsat-unfused``) and the token-level states of
CLAP's text encoder (``(L, H)``, H = 768). The window rule is the one of
:mod:`amr_lib.features.windows`: ``T = floor(duration_s / hop_s)`` frames, frame ``t`` sees the
``window_s`` seconds centred on ``[t * hop_s, (t + 1) * hop_s)``, zero-padded outside the
recording.

Each window goes through CLAP's own feature extractor as a separate clip, so its embedding
depends on its own samples only. Windows must not exceed the extractor's ``max_length_s``
(10 s): CLAP crops longer clips at random, which would make features irreproducible.

No model hub is reachable offline: pass a local folder holding the weights (see
:data:`DOWNLOAD_HINT`). A hub id still works where the hub (or its local cache) is reachable.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from transformers import AutoTokenizer

from amr_lib.audio import resample
from amr_lib.features.text import quiet_loading
from amr_lib.features.windows import (
    WindowConfig,
    checked_audio,
    extract_windows,
    window_length,
    window_starts,
)

if TYPE_CHECKING:   # CLAP's modelling code takes seconds to import: only when CLAP is used
    from transformers import ClapFeatureExtractor, ClapModel, PreTrainedTokenizerBase

DEFAULT_MODEL = "laion/clap-htsat-unfused"
DEFAULT_BATCH_SIZE = 32          # windows per forward pass
DOWNLOAD_HINT = (
    "on a machine with internet access run `hf download laion/clap-htsat-unfused "
    "--local-dir DIR` (older huggingface_hub: `huggingface-cli download ...`), copy DIR here "
    "and pass its path as the model")


def default_device() -> str:
    """``"cuda"`` when a CUDA device is visible, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class ClapConfigSpec:
    """Which CLAP weights to use, where to run them and how to cut the audio into windows."""

    model: str = DEFAULT_MODEL                           # hub id or local folder
    device: str = field(default_factory=default_device)
    batch_size: int = DEFAULT_BATCH_SIZE                 # windows per forward pass
    window_s: float = 1.0                                # seconds each frame sees
    hop_s: float = 1.0                                   # seconds between frames

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        WindowConfig(self.window_s, self.hop_s)          # validates the window lengths

    @property
    def windows(self) -> WindowConfig:
        return WindowConfig(self.window_s, self.hop_s)


def load_clap(model: str | Path) -> tuple[ClapModel, ClapFeatureExtractor,
                                          PreTrainedTokenizerBase]:
    """Model, feature extractor and tokenizer from a local folder or a hub id.

    A folder is read with ``local_files_only=True``. A hub id goes through transformers (and
    its cache); when that fails, a ``RuntimeError`` says how to provide the weights offline.
    """
    folder = Path(model).expanduser()
    if folder.is_dir():
        return _load_parts(str(folder), local_files_only=True)
    try:
        return _load_parts(str(model), local_files_only=False)
    except (OSError, ValueError) as error:
        raise RuntimeError(
            f"CLAP weights {str(model)!r} are not available: no such local folder, and the "
            f"model hub could not provide them (no hub is reachable offline). To use them, "
            f"{DOWNLOAD_HINT}. Cause: {error}") from error


def _load_parts(source: str, local_files_only: bool) -> tuple[
        ClapModel, ClapFeatureExtractor, PreTrainedTokenizerBase]:
    from transformers import ClapFeatureExtractor, ClapModel

    with quiet_loading():
        model = ClapModel.from_pretrained(source, local_files_only=local_files_only)
        extractor = ClapFeatureExtractor.from_pretrained(source,
                                                         local_files_only=local_files_only)
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    return model, extractor, tokenizer


class ClapEncoder:
    """CLAP audio windows -> ``(T, D)`` and queries -> ``(Q, D)`` / ``(L, H)`` (CPU or CUDA)."""

    def __init__(self, model: ClapModel, feature_extractor: ClapFeatureExtractor,
                 tokenizer: PreTrainedTokenizerBase, spec: ClapConfigSpec | None = None) -> None:
        self.spec = spec or ClapConfigSpec()
        self.device = torch.device(self.spec.device)
        self.model = model.to(self.device).eval()
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self._fingerprint: str | None = None
        longest_s = float(feature_extractor.max_length_s)
        if self.spec.window_s > longest_s:
            raise ValueError(f"window_s={self.spec.window_s:g} s exceeds CLAP's {longest_s:g} s "
                             "input; its feature extractor would crop such windows at random")

    @classmethod
    def from_pretrained(cls, model: str | Path, device: str | None = None, *,
                        batch_size: int = DEFAULT_BATCH_SIZE, window_s: float = 1.0,
                        hop_s: float = 1.0) -> ClapEncoder:
        """Load CLAP from a local folder or hub id (see :func:`load_clap`)."""
        return cls.from_spec(ClapConfigSpec(model=str(model), device=device or default_device(),
                                            batch_size=batch_size, window_s=window_s,
                                            hop_s=hop_s))

    @classmethod
    def from_spec(cls, spec: ClapConfigSpec) -> ClapEncoder:
        return cls(*load_clap(spec.model), spec=spec)

    @property
    def sample_rate(self) -> int:
        """Hz the audio branch expects (48 kHz for LAION-CLAP), from the feature extractor."""
        return int(self.feature_extractor.sampling_rate)

    @property
    def max_tokens(self) -> int:
        """Longest token sequence the text encoder takes (its positions start after padding)."""
        text = self.model.config.text_config
        by_positions = text.max_position_embeddings - text.pad_token_id - 1
        return int(min(self.tokenizer.model_max_length, by_positions))

    def embed_windows(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """``(N,)`` audio at ``sample_rate`` Hz -> ``(T, D)`` float32 unit-norm window embeddings.

        ``T = floor(N / sample_rate / hop_s)``. ``(N, C)`` or ``(C, N)`` input is mixed down to
        mono; the audio is resampled to :attr:`sample_rate` first. Raises ``ValueError`` for
        non-finite samples or a recording shorter than one window.
        """
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate} Hz")
        audio = checked_audio(audio)
        frames = len(window_starts(audio.size, sample_rate, self.spec.windows))
        audio = resample(audio, sample_rate, self.sample_rate)
        starts = window_starts(audio.size, self.sample_rate, self.spec.windows)[:frames]  # (T,)
        length = window_length(self.sample_rate, self.spec.windows)
        step = self.spec.batch_size
        batches = [self._embed_audio_batch(extract_windows(audio, starts[i:i + step], length))
                   for i in range(0, frames, step)]
        return np.concatenate(batches)

    def embed_texts(self, queries: list[str]) -> np.ndarray:
        """``Q`` queries -> ``(Q, D)`` float32 unit-norm embeddings in the joint space."""
        queries = [_checked_query(query) for query in queries]
        step = self.spec.batch_size
        batches = [self._embed_text_batch(queries[i:i + step])
                   for i in range(0, len(queries), step)]
        if not batches:
            return np.zeros((0, self.model.config.projection_dim), dtype=np.float32)
        return np.concatenate(batches)

    def token_states(self, query: str) -> np.ndarray:
        """``(L, H)`` float32 last-layer states of the query's ``L`` tokens (no padding).

        ``H`` is the text encoder's hidden size (768 for LAION-CLAP), before the projection
        to the joint space. Queries longer than :attr:`max_tokens` are truncated with a warning.
        """
        tokens = self._tokenize([_checked_query(query)])
        with torch.inference_mode():
            hidden = self.model.text_model(**tokens).last_hidden_state[0]     # (L, H)
        keep = tokens["attention_mask"][0].bool()
        return hidden[keep].float().cpu().numpy()

    def weights_fingerprint(self) -> str:
        """SHA-256 over the model's state dict (names, dtypes, shapes, bytes), for cache keys."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for name, tensor in sorted(self.model.state_dict().items()):
                flat = tensor.detach().to("cpu").contiguous().reshape(-1)
                digest.update(f"{name}|{flat.dtype}|{tuple(tensor.shape)}".encode())
                digest.update(flat.view(torch.uint8).numpy().tobytes())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def _embed_audio_batch(self, windows: np.ndarray) -> np.ndarray:
        """``(B, S)`` windows at :attr:`sample_rate` -> ``(B, D)`` unit-norm embeddings."""
        inputs = self.feature_extractor(windows, sampling_rate=self.sample_rate,
                                        return_tensors="pt")
        # The extractor marks one random short clip as "longer" (a training trick for fused
        # models); no window exceeds the input length, so none is.
        is_longer = torch.zeros((len(windows), 1), dtype=torch.bool, device=self.device)
        with torch.inference_mode():
            output = self.model.get_audio_features(
                input_features=inputs["input_features"].to(self.device), is_longer=is_longer)
        return _unit_rows(_pooled(output))

    def _embed_text_batch(self, queries: list[str]) -> np.ndarray:
        with torch.inference_mode():
            output = self.model.get_text_features(**self._tokenize(queries))
        return _unit_rows(_pooled(output))

    def _tokenize(self, queries: list[str]) -> dict[str, torch.Tensor]:
        """Padded ``input_ids`` and ``attention_mask`` ``(B, L)``, truncated to max_tokens."""
        limit = self.max_tokens
        for query in queries:
            count = len(self.tokenizer(query, truncation=False)["input_ids"])
            if count > limit:
                warnings.warn(f"query of {count} tokens truncated to {limit} (dropped "
                              f"{count - limit}): {query[:60]!r}", stacklevel=3)
        tokens = self.tokenizer(queries, padding=True, truncation=True, max_length=limit,
                                return_tensors="pt")
        return {key: tokens[key].to(self.device) for key in ("input_ids", "attention_mask")}


def _pooled(output: torch.Tensor | object) -> torch.Tensor:
    """The projected embeddings: transformers 4 returns a tensor, transformers 5 an output
    object (``BaseModelOutputWithPooling``) holding them as ``pooler_output``."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def _unit_rows(embeddings: torch.Tensor) -> np.ndarray:
    """``(B, D)`` -> float32 numpy, each row L2-normalised (a no-op where CLAP already did)."""
    return torch.nn.functional.normalize(embeddings.float(), dim=-1).cpu().numpy()


def _checked_query(query: object) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"a query must be non-empty text, got {query!r}")
    return query.strip()
