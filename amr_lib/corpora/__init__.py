"""Clip corpora (captioned sound events) and background corpora (long recordings).

``make_clip_corpus`` and ``make_background_corpus`` build a corpus from a short spec (what
the CLI and ``simulation.json`` carry): a kind, an optional root folder and a seed. Real
corpora default to their folder under ``AMR_DATA_ROOT``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from amr_lib import config
from amr_lib.audio import SAMPLE_RATE
from amr_lib.corpora.base import BackgroundCorpus, ClipCorpus, CorpusError
from amr_lib.corpora.clotho import ClothoClipCorpus
from amr_lib.corpora.esc50 import ESC50ClipCorpus
from amr_lib.corpora.folder import FolderBackgroundCorpus

CLIP_KINDS = ("synthetic", "esc50", "clotho")
BACKGROUND_KINDS = ("synthetic", "folder")
_DEFAULT_FOLDERS = {"esc50": "esc50", "clotho": "clotho_mini", "folder": "urban_ambience/audio"}


@dataclass(frozen=True)
class CorpusSpec:
    """How to rebuild a corpus: its kind, root folder (real corpora) and seed."""

    kind: str
    root: str | None = None
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def make_clip_corpus(spec: CorpusSpec, sample_rate: int = SAMPLE_RATE) -> ClipCorpus:
    """A clip corpus delivering audio at ``sample_rate`` Hz."""
    if spec.kind == "synthetic":     # imported here: its DSP pulls in scipy.signal (seconds)
        from amr_lib.corpora.synthetic import SyntheticClipCorpus
        return SyntheticClipCorpus(seed=spec.seed, sample_rate=sample_rate)
    if spec.kind == "esc50":
        return ESC50ClipCorpus(_root(spec), sample_rate=sample_rate)
    if spec.kind == "clotho":
        return ClothoClipCorpus(_root(spec), sample_rate=sample_rate)
    raise CorpusError(f"unknown clip corpus {spec.kind!r}; choose one of {CLIP_KINDS}")


def make_background_corpus(spec: CorpusSpec, sample_rate: int = SAMPLE_RATE
                           ) -> BackgroundCorpus:
    """A background corpus delivering audio at ``sample_rate`` Hz."""
    if spec.kind == "synthetic":
        from amr_lib.corpora.synthetic import SyntheticBackgroundCorpus
        return SyntheticBackgroundCorpus(seed=spec.seed, sample_rate=sample_rate)
    if spec.kind == "folder":
        return FolderBackgroundCorpus(_root(spec), sample_rate=sample_rate, seed=spec.seed)
    raise CorpusError(f"unknown background corpus {spec.kind!r}; choose one of "
                      f"{BACKGROUND_KINDS}")


def _root(spec: CorpusSpec) -> Path:
    """The spec's root, or the corpus's default folder under ``AMR_DATA_ROOT``."""
    if spec.root is not None:
        return Path(spec.root)
    try:
        return config.data_root() / _DEFAULT_FOLDERS[spec.kind]
    except LookupError as unset:
        raise CorpusError(f"{spec.kind}: no root folder given and {unset}") from None
