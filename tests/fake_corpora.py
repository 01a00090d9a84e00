"""Tiny in-memory corpora with known audio, for simulation and mixing tests."""

from __future__ import annotations

import numpy as np

from amr_lib.corpora.base import (
    BackgroundCorpus,
    ClipCorpus,
    ClipInfo,
    CorpusError,
    RecordingInfo,
)


class ToneClips(ClipCorpus):
    """Clips of given lengths: a tone over the middle, silence ``pad_s`` at each end."""

    name = "tones"

    def __init__(self, lengths_s: dict[str, float], sample_rate: int = 8_000,
                 pad_s: float = 0.0, split: str = "train") -> None:
        self.sample_rate = sample_rate
        self.lengths_s = lengths_s
        self.pad_s = pad_s
        self.infos = [ClipInfo(cid, tuple(f"caption {i} of {cid}" for i in range(5)), split)
                      for cid in lengths_s]

    def _clip_infos(self):
        return self.infos

    def load(self, clip_id: str) -> np.ndarray:
        if clip_id not in self.lengths_s:
            raise CorpusError(f"{clip_id!r} is not in {self.name!r}")
        rate, pad = self.sample_rate, round(self.pad_s * self.sample_rate)
        t = np.arange(round(self.lengths_s[clip_id] * rate)) / rate
        tone = 0.5 * np.sin(2 * np.pi * 440 * t)
        return np.concatenate([np.zeros(pad), tone, np.zeros(pad)]).astype(np.float32)

    def fingerprint(self):
        return {"name": self.name, "lengths": self.lengths_s, "rate": self.sample_rate,
                "pad": self.pad_s}


class NoiseBackgrounds(BackgroundCorpus):
    """White-noise recordings of given lengths (deterministic per recording)."""

    name = "noise"

    def __init__(self, lengths_s: dict[str, float], sample_rate: int = 8_000,
                 split: str = "train", level: float = 0.1) -> None:
        self.sample_rate = sample_rate
        self.lengths_s = lengths_s
        self.level = level
        self.infos = [RecordingInfo(rid, length, split) for rid, length in lengths_s.items()]

    def _recording_infos(self):
        return self.infos

    def load(self, recording_id, start_s=0.0, duration_s=None):
        seed = sorted(self.lengths_s).index(recording_id)
        whole = self.level * np.random.default_rng(seed).standard_normal(
            round(self.lengths_s[recording_id] * self.sample_rate))
        start = round(start_s * self.sample_rate)
        stop = None if duration_s is None else start + round(duration_s * self.sample_rate)
        return whole[start:stop].astype(np.float32)

    def fingerprint(self):
        return {"name": self.name, "lengths": self.lengths_s, "rate": self.sample_rate}
