"""Log-mel front end: ``torch.stft`` with an HTK mel filter bank (no torchaudio).

Batched, differentiable, runs wherever its input tensor lives (CPU or CUDA). With the same
settings it equals ``log(librosa.feature.melspectrogram(..., htk=True, norm=None) + floor)``
(periodic Hann window, centred frames, zero padding).
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
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
        filterbank = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft,
                                         n_mels=config.n_mels, fmin=config.f_min,
                                         fmax=config.f_max, htk=True, norm=None)
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
