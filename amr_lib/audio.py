"""Audio I/O and level helpers: load (soundfile), mono, resample, write, RMS/peak/dB.

Audio arrays are 1-D ``float32`` mono waveforms in ``[-1, 1]`` (``(N,)`` samples); sample
rates are integers in Hz. Every loader error names the file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf

from amr_lib.storage.atomic import atomic_write

SAMPLE_RATE = 16_000            # Hz: the simulation's default rate (Clotho-Moment used 32 kHz)
EPSILON = 1e-12                 # floor under powers before taking logs


class AudioError(ValueError):
    """Audio that cannot be used: unreadable, empty, non-finite."""


def load_audio(path: str | Path, sample_rate: int | None = None, start_s: float = 0.0,
               duration_s: float | None = None) -> tuple[np.ndarray, int]:
    """Read ``path`` as mono float32, optionally a time range and resampled.

    Channels are averaged (stereo -> mono). With ``sample_rate`` set, the audio is
    resampled to it; otherwise the file's rate is kept. Returns ``(audio (N,), rate_hz)``.
    Raises ``FileNotFoundError`` or :class:`AudioError`, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such audio file")
    try:
        info = sf.info(str(path))
        start = round(start_s * info.samplerate)
        frames = -1 if duration_s is None else round(duration_s * info.samplerate)
        audio, rate = sf.read(str(path), start=start, frames=frames, dtype="float32",
                              always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(f"{path}: unreadable audio ({error})") from None
    audio = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    if audio.size == 0:
        raise AudioError(f"{path}: no samples" + (f" from {start_s:g} s" if start_s else ""))
    if not np.isfinite(audio).all():
        raise AudioError(f"{path}: contains NaN or infinite samples")
    if sample_rate is not None and sample_rate != rate:
        audio, rate = resample(audio, rate, sample_rate), sample_rate
    return audio, rate


def audio_info(path: str | Path) -> tuple[int, int]:
    """``(samples per channel, sample rate in Hz)`` of an audio file, from its header."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such audio file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"{path}: unreadable audio ({error})") from None
    return info.frames, info.samplerate


def audio_duration(path: str | Path) -> float:
    """Length of an audio file in seconds, from its header (no decoding)."""
    samples, rate = audio_info(path)
    return samples / rate


def as_float_audio(audio: np.ndarray) -> np.ndarray:
    """Samples in [-1, 1]: floats as they are, signed integer PCM (int16, int32, ...)
    divided by its full scale (``2 ** (bits - 1)``, as soundfile reads it) into float32;
    any other type (unsigned, bool, complex) is refused."""
    audio = np.asarray(audio)
    if np.issubdtype(audio.dtype, np.floating):
        return audio
    if np.issubdtype(audio.dtype, np.signedinteger):
        return (audio / float(-np.iinfo(audio.dtype).min)).astype(np.float32)
    raise AudioError(f"audio samples of type {audio.dtype} are not supported: pass floats "
                     "in [-1, 1] or signed integer PCM (e.g. int16)")


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling ``(N,)`` at ``rate_in`` Hz -> ``(M,)`` at ``rate_out`` Hz."""
    if rate_in == rate_out:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly  # 1-2 s to import: only when resampling
    common = math.gcd(int(rate_in), int(rate_out))
    out = resample_poly(audio, rate_out // common, rate_in // common)
    return out.astype(np.float32, copy=False)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write 16-bit PCM WAV atomically (a partial file never appears at ``path``)."""
    atomic_write(path, lambda temporary: sf.write(
        temporary, np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV"),
        suffix=".wav")


def mean_power(audio: np.ndarray) -> float:
    """Mean of squared samples (linear power)."""
    return float(np.mean(np.square(audio, dtype=np.float64)))


def rms(audio: np.ndarray) -> float:
    return math.sqrt(mean_power(audio))


def peak(audio: np.ndarray) -> float:
    return float(np.max(np.abs(audio))) if audio.size else 0.0


def db_to_amplitude(db: float) -> float:
    """Amplitude ratio of a level difference in dB (20 log10 convention)."""
    return 10.0 ** (db / 20.0)


def power_to_db(power: np.ndarray | float) -> np.ndarray | float:
    """``10 log10(power)``, floored at ``EPSILON`` so silence gives a finite level."""
    return 10.0 * np.log10(np.maximum(power, EPSILON))


def peak_normalize(audio: np.ndarray) -> np.ndarray:
    """Scale to a peak of 1; silence stays silence."""
    top = peak(audio)
    return audio / top if top > 0 else audio
