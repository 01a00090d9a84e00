"""CLAP backend on a tiny random CLAP saved to a folder (offline, no download)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, PreTrainedTokenizerFast

from amr_lib.audio import SAMPLE_RATE
from amr_lib.features.clap import ClapConfigSpec, ClapEncoder

TINY_RATE = 8_000          # Hz: the tiny extractor's rate (LAION-CLAP uses 48 kHz)
TINY_MAX_TOKENS = 16
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]          # RoBERTa's ids 0..3; pad = 1 as in CLAP
SENTENCES = ["a dog barks in the park", "rain falls on a tin roof", "a car passes by slowly"]


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE with RoBERTa's special tokens, trained here on three sentences."""
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(SENTENCES, trainers.BpeTrainer(
        vocab_size=300, special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bpe.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", unk_token="<unk>",
                                   model_max_length=TINY_MAX_TOKENS)


def tiny_clap(vocab_size: int) -> ClapModel:
    """HTSAT on a 64 x 64 spectrogram image (16 mel bins x 4), 2 stages; 2-layer text model."""
    text = {"vocab_size": vocab_size, "hidden_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 24}
    audio = {"spec_size": 64, "num_mel_bins": 16, "window_size": 4, "depths": [1, 1],
             "num_attention_heads": [2, 2], "patch_embeds_hidden_size": 16,
             "hidden_size": 32, "num_classes": 4}                   # 16 * 2 ** (stages - 1)
    return ClapModel(ClapConfig(text_config=text, audio_config=audio, projection_dim=8)).eval()


def save_tiny_clap(folder: Path) -> Path:
    tokenizer = tiny_tokenizer()
    tiny_clap(len(tokenizer)).save_pretrained(folder)
    # 10 s clips, 10 mel frames per second -> 101 frames, within the 256-frame image width
    ClapFeatureExtractor(feature_size=16, sampling_rate=TINY_RATE, hop_length=800,
                         max_length_s=10, fft_window_size=256, frequency_max=4_000,
                         truncation="rand_trunc").save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def clap_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # seeded: about 1 random init in 40 zeroes every unit of the 8-wide ReLU text
    # projection, and the tests would then depend on which tests ran before
    torch.manual_seed(0)
    return save_tiny_clap(tmp_path_factory.mktemp("tiny_clap"))


@pytest.fixture(scope="module")
def encoder(clap_folder: Path) -> ClapEncoder:
    return ClapEncoder.from_pretrained(clap_folder, device="cpu", batch_size=16)


def variant(encoder: ClapEncoder, **changes: float) -> ClapEncoder:
    """The same loaded model with other window or batch settings."""
    return ClapEncoder(encoder.model, encoder.feature_extractor, encoder.tokenizer,
                       dataclasses.replace(encoder.spec, **changes))


def noise(duration_s: float, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """``(N,)`` float32 noise whose level changes every second (so windows differ)."""
    rng = np.random.default_rng(seed)
    count = round(duration_s * sample_rate)
    levels = np.repeat(rng.uniform(0.01, 0.5, size=int(np.ceil(duration_s))), sample_rate)
    return (rng.standard_normal(count) * levels[:count]).astype(np.float32)


def test_loads_from_folder_with_its_settings(encoder):
    assert encoder.sample_rate == TINY_RATE          # read from the extractor, not 48 kHz
    assert encoder.max_tokens == TINY_MAX_TOKENS
    assert not encoder.model.training


def test_sixty_seconds_give_sixty_unit_frames(encoder):
    frames = encoder.embed_windows(noise(60.0), SAMPLE_RATE)
    assert frames.shape == (60, 8) and frames.dtype == np.float32
    assert np.isfinite(frames).all()
    np.testing.assert_allclose(np.linalg.norm(frames, axis=1), 1.0, atol=1e-5)
    assert np.abs(frames[0] - frames[1:]).max() > 1e-3          # windows are not all alike


def test_frame_count_follows_the_hop(encoder):
    assert len(encoder.embed_windows(noise(10.5), SAMPLE_RATE)) == 10
    assert len(variant(encoder, window_s=4.0).embed_windows(noise(10.5), SAMPLE_RATE)) == 10
    assert len(variant(encoder, hop_s=0.5).embed_windows(noise(6.0), SAMPLE_RATE)) == 12
    with pytest.raises(ValueError, match=r"0\.50 s is shorter than one 1 s window"):
        encoder.embed_windows(noise(0.5), SAMPLE_RATE)
    with pytest.raises(ValueError, match="shorter than one 4 s window"):
        variant(encoder, window_s=4.0).embed_windows(noise(3.0), SAMPLE_RATE)


def test_windows_are_centred_on_their_hop_and_zero_padded(encoder):
    rate = encoder.sample_rate                      # no resampling: exact comparisons
    audio = noise(8.0, rate, seed=3)
    wide = variant(encoder, window_s=2.0).embed_windows(audio, rate)      # (8, 8)
    alone = variant(encoder, window_s=2.0, hop_s=2.0)
    half = rate // 2
    middle = alone.embed_windows(audio[5 * rate - half:7 * rate - half], rate)[0]
    first = alone.embed_windows(np.concatenate([np.zeros(half, np.float32),
                                                audio[:rate + half]]), rate)[0]
    np.testing.assert_allclose(wide[5], middle, atol=1e-6)     # frame 5 sees [4.5, 6.5) s
    np.testing.assert_allclose(wide[0], first, atol=1e-6)      # frame 0 sees [-0.5, 1.5) s


def test_a_frame_depends_only_on_its_own_window(encoder):
    audio = noise(12.0)
    changed = audio.copy()
    inside = slice(round(5.05 * SAMPLE_RATE), round(5.95 * SAMPLE_RATE))   # away from edges
    changed[inside] = 0.8 * np.sin(np.arange(changed[inside].size) * 0.3)
    before, after = encoder.embed_windows(audio, SAMPLE_RATE), encoder.embed_windows(
        changed, SAMPLE_RATE)
    moved = np.abs(before - after).max(axis=1)
    assert moved[5] > 1e-3
    np.testing.assert_allclose(np.delete(moved, 5), 0.0, atol=1e-6)


def test_deterministic_and_independent_of_batch_size(encoder):
    audio = noise(12.0, seed=1)
    reference = encoder.embed_windows(audio, SAMPLE_RATE)
    np.testing.assert_array_equal(encoder.embed_windows(audio, SAMPLE_RATE), reference)
    one_by_one = variant(encoder, batch_size=1).embed_windows(audio, SAMPLE_RATE)
    np.testing.assert_allclose(one_by_one, reference, atol=1e-5)


def test_audio_checks(encoder):
    silent = encoder.embed_windows(np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    assert silent.shape == (3, 8) and np.isfinite(silent).all()
    broken = noise(3.0)
    broken[100] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        encoder.embed_windows(broken, SAMPLE_RATE)
    stereo = np.stack([noise(3.0), noise(3.0, seed=2)])                  # (2, N)
    mono = (stereo[0] + stereo[1]) / 2
    np.testing.assert_allclose(encoder.embed_windows(stereo, SAMPLE_RATE),
                               encoder.embed_windows(mono, SAMPLE_RATE), atol=1e-6)


def test_windows_longer_than_clap_input_are_refused(encoder):
    with pytest.raises(ValueError, match="exceeds CLAP's 10 s input"):
        variant(encoder, window_s=12.0)


def test_text_embeddings(encoder):
    embeddings = encoder.embed_texts(SENTENCES)
    assert embeddings.shape == (3, 8) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    alone = encoder.embed_texts([SENTENCES[1]])                # padding does not leak in
    np.testing.assert_allclose(alone[0], embeddings[1], atol=1e-5)
    with pytest.raises(ValueError, match="non-empty text"):
        encoder.embed_texts(["a dog barks", " "])


def test_token_states(encoder):
    query = "a dog barks"
    states = encoder.token_states(query)
    count = len(encoder.tokenizer(query)["input_ids"])          # <s> ... </s>, no padding
    assert states.shape == (count, 32) and states.dtype == np.float32
    for empty in ("", "   \n"):
        with pytest.raises(ValueError, match="non-empty text"):
            encoder.token_states(empty)
    long_query = " ".join(["thunder"] * 40)
    dropped = len(encoder.tokenizer(long_query)["input_ids"]) - TINY_MAX_TOKENS
    with pytest.warns(UserWarning, match=f"truncated to {TINY_MAX_TOKENS} \\(dropped {dropped}\\)"):
        truncated = encoder.token_states(long_query)
    assert truncated.shape == (TINY_MAX_TOKENS, 32)


def test_hub_id_offline_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(RuntimeError, match=r"not available.*hf download laion/clap-htsat-unfused"):
        ClapEncoder.from_pretrained("amr-lib-tests/no-such-clap", device="cpu")


def test_weights_fingerprint(encoder, clap_folder, tmp_path):
    fingerprint = encoder.weights_fingerprint()
    assert len(fingerprint) == 64
    reloaded = ClapEncoder.from_pretrained(clap_folder, device="cpu")
    assert reloaded.weights_fingerprint() == fingerprint
    other = ClapEncoder.from_pretrained(save_tiny_clap(tmp_path / "other"), device="cpu")
    assert other.weights_fingerprint() != fingerprint


def test_spec_validation():
    with pytest.raises(ValueError, match="batch_size"):
        ClapConfigSpec(batch_size=0)
    with pytest.raises(ValueError, match="positive"):
        ClapConfigSpec(hop_s=0.0)
    assert ClapConfigSpec().model == "laion/clap-htsat-unfused"
