import librosa
import numpy as np
import pytest
import torch

from amr_lib.features.frontend import LogMel, LogMelConfig, htk_mel_filterbank
from amr_lib.features.windows import (
    WindowConfig,
    checked_audio,
    extract_windows,
    num_frames,
    window_starts,
)


def test_log_mel_matches_librosa():
    config = LogMelConfig()
    rng = np.random.default_rng(0)
    rate = config.sample_rate
    t = np.arange(2 * rate) / rate
    audio = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))
             ).astype(np.float32)
    reference = librosa.feature.melspectrogram(
        y=audio, sr=rate, n_fft=config.n_fft, hop_length=config.hop_length, window="hann",
        center=True, pad_mode="constant", power=2.0, n_mels=config.n_mels, fmin=config.f_min,
        fmax=config.f_max, htk=True, norm=None)
    ours = LogMel(config)(torch.from_numpy(audio)[None])[0].numpy()
    assert ours.shape == reference.shape == (64, 1 + len(audio) // config.hop_length)
    np.testing.assert_allclose(ours, np.log(reference + config.log_floor), atol=1e-3, rtol=1e-4)


def test_log_mel_is_batched_and_the_tone_lands_in_its_band():
    config = LogMelConfig()
    rate = config.sample_rate
    t = np.arange(rate) / rate
    batch = torch.tensor(np.stack([np.sin(2 * np.pi * f * t) for f in (300, 3_000)]),
                         dtype=torch.float32)
    mels = LogMel(config)(batch)
    assert mels.shape == (2, 64, 101)
    np.testing.assert_allclose(mels[1:], LogMel(config)(batch[1:]), atol=1e-5)
    centres = librosa.mel_frequencies(n_mels=66, fmin=config.f_min, fmax=config.f_max,
                                      htk=True)[1:-1]
    for row, frequency in zip(mels.mean(-1), (300, 3_000), strict=True):
        assert abs(centres[int(row.argmax())] - frequency) / frequency < 0.1


def test_frame_count_rule():
    assert num_frames(60.0, 1.0) == 60
    assert num_frames(60.9, 1.0) == 60
    assert num_frames(0.3 * 10, 0.1) == 30  # robust to float error
    rate = 100
    starts = window_starts(60 * rate, rate, WindowConfig(1.0, 1.0))
    assert len(starts) == 60 and starts[0] == 0 and starts[-1] == 59 * rate
    wide = window_starts(60 * rate, rate, WindowConfig(7.0, 1.0))
    assert len(wide) == 60 and wide[0] == -3 * rate and wide[-1] == 56 * rate


def test_windows_are_centred_and_zero_padded():
    rate = 10
    audio = np.arange(1, 51, dtype=np.float32)          # 5 s, samples 1..50
    config = WindowConfig(window_s=3.0, hop_s=1.0)
    windows = extract_windows(audio, window_starts(len(audio), rate, config), 30)
    assert windows.shape == (5, 30)
    np.testing.assert_array_equal(windows[0, :10], 0)   # one second before the start
    np.testing.assert_array_equal(windows[0, 10:], audio[:20])
    np.testing.assert_array_equal(windows[2], audio[10:40])
    np.testing.assert_array_equal(windows[4, 20:], 0)


def test_bad_audio_is_refused_clearly():
    with pytest.raises(ValueError, match="shorter than one 4 s window"):
        window_starts(3 * 100, 100, WindowConfig(4.0, 1.0))
    with pytest.raises(ValueError, match="NaN or infinite"):
        checked_audio(np.array([0.0, np.nan]))
    stereo = np.stack([np.ones(100), -np.ones(100) * 0.5], axis=1)
    np.testing.assert_allclose(checked_audio(stereo), 0.25)
    with pytest.raises(ValueError, match="mono waveform"):
        checked_audio(np.zeros((2, 2, 2)))


@pytest.mark.parametrize(("rate", "n_fft", "n_mels", "f_min", "f_max"), [
    (16_000, 512, 64, 50.0, 8_000.0), (32_000, 1024, 128, 0.0, 14_000.0),
    (44_100, 2048, 40, 20.0, 22_050.0)])
def test_filterbank_equals_librosa(rate, n_fft, n_mels, f_min, f_max):
    ours = htk_mel_filterbank(rate, n_fft, n_mels, f_min, f_max)
    reference = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min,
                                    fmax=f_max, htk=True, norm=None)
    assert ours.shape == reference.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)
