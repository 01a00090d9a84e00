"""Block-by-block embedding of long files equals one pass over the whole file."""

import numpy as np
import pytest
import soundfile as sf
import torch

from amr_lib.audio import AudioError, resample
from amr_lib.features.contrastive import AudioEncoderConfig, embed_windows, untrained_model
from amr_lib.features.long_audio import embed_file
from amr_lib.features.windows import (
    WindowConfig,
    extract_windows,
    window_length,
    window_starts,
)

ENCODER_RATE = 8_000


class WindowStatistics:
    """A transparent encoder: resamples to 8 kHz, then describes each window by its sum,
    energy and first/last samples, so any misplaced sample changes the features."""

    def embed_windows(self, audio, sample_rate, window):
        if sample_rate != ENCODER_RATE:
            audio = resample(audio, sample_rate, ENCODER_RATE)
        starts = window_starts(len(audio), ENCODER_RATE, window)
        windows = extract_windows(audio, starts, window_length(ENCODER_RATE, window))
        return np.stack([windows.sum(1), (windows ** 2).sum(1), windows[:, 0],
                         windows[:, -1]], axis=1)


def noise_file(tmp_path, seconds: float, rate: int, channels: int = 1):
    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal((round(seconds * rate), channels))).astype(np.float32)
    path = tmp_path / f"noise_{rate}_{channels}.flac"
    sf.write(path, audio, rate, subtype="PCM_24")
    return path, sf.read(path, dtype="float32")[0].reshape(len(audio), channels).mean(1)


@pytest.mark.parametrize("window_s", [1.0, 4.0, 7.0])
def test_blocks_equal_one_pass_at_the_encoders_rate(tmp_path, window_s):
    path, audio = noise_file(tmp_path, 47.5, ENCODER_RATE)
    window = WindowConfig(window_s=window_s, hop_s=1.0)
    whole = WindowStatistics().embed_windows(audio, ENCODER_RATE, window)
    blocks = embed_file(WindowStatistics(), path, window, block_s=10.0)
    assert blocks.shape == whole.shape == (47, 4)
    np.testing.assert_allclose(blocks, whole, rtol=0, atol=1e-4)


def test_blocks_equal_one_pass_when_the_encoder_resamples(tmp_path):
    path, audio = noise_file(tmp_path, 33.0, 16_000, channels=2)
    window = WindowConfig(window_s=4.0, hop_s=1.0)
    whole = WindowStatistics().embed_windows(audio, 16_000, window)
    blocks = embed_file(WindowStatistics(), path, window, block_s=7.0)
    assert blocks.shape == (33, 4)
    # inside the file, block edges fall in the discarded margins: the same features
    np.testing.assert_allclose(blocks[2:-2], whole[2:-2], rtol=1e-4, atol=1e-3)
    # windows that reach past the file's ends also hold the filter's ringing beyond the
    # last sample, which one pass over the whole file cuts off: a small difference
    np.testing.assert_allclose(blocks, whole, rtol=5e-3, atol=5e-2)


def test_a_real_encoder_gives_the_same_features(tmp_path):
    torch.manual_seed(0)
    model = untrained_model(AudioEncoderConfig(), seed=0)
    path, audio = noise_file(tmp_path, 26.0, model.config.sample_rate)
    window = WindowConfig()

    class Encoder:
        def embed_windows(self, audio, rate, window):
            return embed_windows(model, audio, rate, window)

    whole = Encoder().embed_windows(audio, model.config.sample_rate, window)
    blocks = embed_file(Encoder(), path, window, block_s=8.0)
    np.testing.assert_allclose(blocks, whole, rtol=0, atol=1e-4)


def test_short_files_take_one_pass_and_bad_files_are_named(tmp_path):
    path, audio = noise_file(tmp_path, 5.0, ENCODER_RATE)
    window = WindowConfig()
    np.testing.assert_allclose(embed_file(WindowStatistics(), path, window),
                               WindowStatistics().embed_windows(audio, ENCODER_RATE, window),
                               atol=1e-6)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF but not really")
    with pytest.raises(AudioError, match=r"broken\.wav"):
        embed_file(WindowStatistics(), broken, window)
    with pytest.raises(FileNotFoundError, match=r"missing\.wav"):
        embed_file(WindowStatistics(), tmp_path / "missing.wav", window)
    with pytest.raises(ValueError, match="block_s"):
        embed_file(WindowStatistics(), path, window, block_s=0)

