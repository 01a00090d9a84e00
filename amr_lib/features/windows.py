"""Sliding windows over a recording: which samples each feature frame sees.

The frame count rule: a recording of ``D`` seconds gives ``T = floor(D / hop_s)`` frames
(a trailing partial hop is dropped; 60 s with a 1 s hop -> 60 frames, whatever the window
length). Frame ``t`` stands for the hop interval ``[t * hop_s, (t + 1) * hop_s)`` and sees the
``window_s`` seconds centred on that interval's centre, zero-padded beyond the recording.
So window = hop = 1 s gives exactly ``[t, t + 1)``, and the paper's 4 s and 7 s ablation
windows keep the same frames with more context each. A moment in frames converts to
seconds by multiplying by ``hop_s``.

Each window is embedded as a whole by the audio encoder (the paper's Eq. 2: one embedding
per window, pooled over the window's own time axis by the encoder).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowConfig:
    window_s: float = 1.0     # seconds of audio each frame sees
    hop_s: float = 1.0        # seconds between frames (the time resolution of moments)

    def __post_init__(self) -> None:
        if not (self.window_s > 0 and self.hop_s > 0):
            raise ValueError(f"window_s and hop_s must be positive, got {self}")


def num_frames(duration_s: float, hop_s: float) -> int:
    """``floor(duration_s / hop_s)``, robust to float error (60.0 / 1.0 -> 60)."""
    return math.floor(duration_s / hop_s + 1e-9)


def window_starts(num_samples: int, sample_rate: int, config: WindowConfig) -> np.ndarray:
    """``(T,)`` first sample of each window (negative before the recording starts)."""
    duration_s = num_samples / sample_rate
    if duration_s < config.window_s - 1e-9:
        raise ValueError(f"audio of {duration_s:.2f} s is shorter than one "
                         f"{config.window_s:g} s window")
    frames = num_frames(duration_s, config.hop_s)
    if frames == 0:
        raise ValueError(f"audio of {duration_s:.2f} s is shorter than one {config.hop_s:g} s hop")
    centres_s = (np.arange(frames) + 0.5) * config.hop_s
    return np.round((centres_s - config.window_s / 2) * sample_rate).astype(np.int64)


def window_length(sample_rate: int, config: WindowConfig) -> int:
    return round(config.window_s * sample_rate)


def extract_windows(audio: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """``(N,)`` audio -> ``(len(starts), length)`` windows, zeros outside the recording."""
    before = max(0, -int(starts.min(initial=0)))
    after = max(0, int(starts.max(initial=0)) + length - len(audio))
    padded = np.pad(audio, (before, after))
    index = (starts + before)[:, None] + np.arange(length)[None, :]   # (T, length)
    return padded[index]


def checked_audio(audio: np.ndarray, what: str = "audio") -> np.ndarray:
    """A finite ``(N,)`` float32 waveform; ``(N, C)`` or ``(C, N)`` is mixed down."""
    audio = np.asarray(audio)
    if audio.ndim == 2:
        channel_axis = 0 if audio.shape[0] < audio.shape[1] else 1
        audio = audio.mean(axis=channel_axis)
    if audio.ndim != 1:
        raise ValueError(f"{what}: expected a mono waveform (N,), got shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise ValueError(f"{what}: contains NaN or infinite samples")
    return audio.astype(np.float32, copy=False)
