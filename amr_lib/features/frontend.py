"""Log-mel front end: ``torch.stft`` with an HTK mel filter bank (no torchaudio).

Batched, differentiable, runs wherever its input tensor lives (CPU or CUDA). With the same
settings it equals ``log(librosa.feature.melspectrogram(..., htk=True, norm=None) + floor)``
(periodic Hann window, centred frames, zero padding). The filter bank is written out here
(librosa's construction, checked against it in the tests) because importing librosa takes
seconds, which every ``amr retrieve`` would pay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from amr_lib.audio import SAMPLE_RATE


@dataclass(frozen=True)
class LogMelConfig:
    sample_rate: int = SAMPLE_RATE   # Hz
    n_fft: int = 512                 # 32 ms at 16 kHz
    hop_length: int = 160            # 10 ms at 16 kHz -> 100 frames per second
    n_mels: int = 64
    f_min: float = 50.0              # Hz
    f_max: float = 8_000.0           # Hz (Nyquist at 16 kHz)
    log_floor: float = 1e-6          # added to the mel power before the log


class LogMel(nn.Module):
    """``(B, N)`` waveforms -> ``(B, n_mels, 1 + N // hop_length)`` log mel power."""

    def __init__(self, config: LogMelConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or LogMelConfig()
        filterbank = htk_mel_filterbank(config.sample_rate, config.n_fft, config.n_mels,
                                        config.f_min, config.f_max)
        self.register_buffer("filterbank", torch.from_numpy(filterbank).float(),
                             persistent=False)                       # (n_mels, n_fft/2 + 1)
        self.register_buffer("window", torch.hann_window(config.n_fft, periodic=True),
                             persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(audio.float(), n_fft=self.config.n_fft,
                              hop_length=self.config.hop_length, window=self.window,
                              center=True, pad_mode="constant", return_complex=True)
        power = spectrum.real.square() + spectrum.imag.square()   # (B, n_fft/2 + 1, frames)
        mel = torch.matmul(self.filterbank, power)                 # (B, n_mels, frames)
        return torch.log(mel + self.config.log_floor)


def htk_mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float,
                       f_max: float) -> np.ndarray:
    """``(n_mels, n_fft // 2 + 1)`` triangular filters, unnormalised, on the HTK mel scale
    ``mel = 2595 log10(1 + f / 700)``: filter ``i`` rises from mel point ``i`` to ``i + 1``
    and falls to ``i + 2``, with ``n_mels + 2`` points evenly spaced in mel from ``f_min``
    to ``f_max`` (librosa's ``filters.mel(htk=True, norm=None)``)."""
    to_mel = lambda hz: 2595.0 * np.log10(1.0 + hz / 700.0)       # noqa: E731
    edges_hz = 700.0 * (10.0 ** (np.linspace(to_mel(f_min), to_mel(f_max), n_mels + 2)
                                 / 2595.0) - 1.0)                 # (n_mels + 2,)
    bins_hz = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)         # (n_fft // 2 + 1,)
    widths = np.diff(edges_hz)                                    # (n_mels + 1,)
    ramps = edges_hz[:, None] - bins_hz[None, :]                  # (n_mels + 2, bins)
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)
