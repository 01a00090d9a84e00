import json
import math
import re

import numpy as np
import pytest
import torch

from amr_lib.corpora.base import ClipCorpus
from amr_lib.corpora.synthetic.corpus import SyntheticClipCorpus
from amr_lib.features import contrastive_training as training
from amr_lib.features.contrastive import (
    MAX_LOGIT_SCALE,
    AudioEncoderConfig,
    ContrastiveFeatureEncoder,
    embed_texts,
    embed_windows,
    load_model,
    model_fingerprint,
    save_model,
    symmetric_info_nce,
    untrained_model,
)
from amr_lib.features.text import TextEncoder
from amr_lib.features.windows import WindowConfig
from amr_lib.storage.cache import ArtifactCache

RATE = 16_000
TINY_CLASSES = ("dog_bark", "siren", "rain", "church_bell", "keyboard_typing", "thunder")
TINY = training.TrainConfig(epochs=3, batch_size=8, crops_per_clip=6, lr=3e-3)
ONE_SECOND = WindowConfig(1.0, 1.0)


class FewClasses(ClipCorpus):
    """The synthetic corpus, 3 clips per class (1 train, 1 valid, 1 test), a few classes."""

    name = "synthetic_few"

    def __init__(self, classes: tuple[str, ...] = TINY_CLASSES) -> None:
        self.inner = SyntheticClipCorpus(seed=0, clips_per_class=3)
        self.sample_rate = self.inner.sample_rate
        self.classes = classes

    def _clip_infos(self):
        return [c for c in self.inner.clips() if c.clip_id.rsplit("-", 1)[0] in self.classes]

    def load(self, clip_id):
        return self.inner.load(clip_id)

    def fingerprint(self):
        return {**self.inner.fingerprint(), "classes": list(self.classes)}


@pytest.fixture(scope="module")
def text_encoder():
    return TextEncoder()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return ArtifactCache(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def corpus():
    return FewClasses()


@pytest.fixture(scope="module")
def trained(corpus, text_encoder, cache):
    return training.train_contrastive(corpus, text_encoder, TINY, seed=3, cache=cache)


@pytest.fixture(scope="module")
def recording():
    """60.5 s of a dog barking and a siren, at 16 kHz."""
    clips = SyntheticClipCorpus(seed=0, clips_per_class=3)
    audio = np.concatenate([clips.load("dog_bark-0000"), clips.load("siren-0000")])
    return np.resize(audio, round(60.5 * RATE)).astype(np.float32)


def test_info_nce_matches_hand_computed_values():
    embeddings = torch.eye(4, 8)                                  # orthogonal unit vectors
    scale = math.log(2.0)                                         # logits 2 on the diagonal
    expected = math.log(1 + 3 * math.exp(-2))                     # -log softmax of the positive
    loss = symmetric_info_nce(embeddings, embeddings, torch.tensor(scale))
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    aligned = symmetric_info_nce(embeddings, embeddings, torch.tensor(MAX_LOGIT_SCALE))
    assert aligned.item() < 1e-6
    permuted = symmetric_info_nce(embeddings, embeddings[[1, 0, 3, 2]],
                                  torch.tensor(MAX_LOGIT_SCALE))
    assert permuted.item() == pytest.approx(100 + math.log(1 + 3 * math.exp(-100)), rel=1e-4)


def test_info_nce_is_symmetric_and_clamps_the_scale():
    generator = torch.Generator().manual_seed(0)
    audio = torch.nn.functional.normalize(torch.randn(6, 5, generator=generator), dim=1)
    text = torch.nn.functional.normalize(torch.randn(6, 5, generator=generator), dim=1)
    scale = torch.tensor(2.0)
    assert symmetric_info_nce(audio, text, scale).item() == pytest.approx(
        symmetric_info_nce(text, audio, scale).item(), rel=1e-6)
    huge = symmetric_info_nce(audio, text, torch.tensor(20.0))
    assert huge.item() == pytest.approx(
        symmetric_info_nce(audio, text, torch.tensor(MAX_LOGIT_SCALE)).item(), rel=1e-6)


def test_info_nce_counts_two_rows_of_one_clip_as_positives():
    audio = torch.eye(2, 3)
    text = audio[[1, 0]]                                          # each row matches the other
    scale = torch.tensor(math.log(10.0))
    tail = math.log(1 + math.exp(-10))
    assert symmetric_info_nce(audio, text, scale).item() == pytest.approx(10 + tail, rel=1e-4)
    grouped = symmetric_info_nce(audio, text, scale, groups=torch.tensor([7, 7]))
    assert grouped.item() == pytest.approx(5 + tail, rel=1e-4)    # half of each target on each
    distinct = symmetric_info_nce(audio, text, scale, groups=torch.tensor([0, 1]))
    assert distinct.item() == pytest.approx(10 + tail, rel=1e-4)


def test_recall_at_k_by_hand():
    similarity = np.array([[0.9, 0.1, 0.2, 0.3],      # target 0 first: rank 0
                           [0.5, 0.4, 0.6, 0.1],      # target 1 behind two: rank 2
                           [0.2, 0.2, 0.2, 0.2]])     # ties count against: rank 3
    recalls = training.recall_at_k(similarity, np.array([0, 1, 3]), ks=(1, 2, 3, 4))
    assert recalls == pytest.approx({1: 1 / 3, 2: 1 / 3, 3: 2 / 3, 4: 1.0})
    with pytest.raises(ValueError, match=r"similarity \(Q, C\)"):
        training.recall_at_k(similarity, np.array([0, 1]), ks=(1,))
    with pytest.raises(ValueError, match="at least 1"):
        training.recall_at_k(similarity, np.array([0, 1, 3]), ks=(0,))


def test_an_epoch_never_puts_one_clip_twice_in_a_batch():
    config = training.TrainConfig(batch_size=4, crops_per_clip=3)
    batches = training._epoch_batches(9, config, np.random.default_rng(0))
    assert [len(b) for b in batches] == [4, 4] * 3               # the lone ninth clip is dropped
    assert all(len(set(b.tolist())) == len(b) for b in batches)
    assert len(training._epoch_batches(10, config, np.random.default_rng(0))) == 9


def test_configs_validate_and_round_trip_through_json():
    config = AudioEncoderConfig(channels=(8, 16), embed_dim=32)
    assert AudioEncoderConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    with pytest.raises(ValueError, match="positive"):
        AudioEncoderConfig(channels=())
    with pytest.raises(ValueError, match="crop_s"):
        AudioEncoderConfig(crop_s=0)
    with pytest.raises(ValueError, match="batch_size"):
        training.TrainConfig(batch_size=1)
    assert training.crop_length_frames(AudioEncoderConfig()) == 101


def test_tiny_training_lowers_the_loss_and_repeats_with_its_seed(trained, corpus,
                                                                 text_encoder, cache):
    model, history = trained
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert all(0.0 <= row["valid_R@10"] <= 1.0 for row in history)
    again, repeated = training.train_contrastive(corpus, text_encoder, TINY, seed=3,
                                                 cache=cache)
    assert [r["train_loss"] for r in repeated] == [r["train_loss"] for r in history]
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, again.state_dict()[name]), name
    _, other = training.train_contrastive(corpus, text_encoder, TINY, seed=4, cache=cache)
    assert other[0]["train_loss"] != history[0]["train_loss"]


def test_trained_model_differs_from_the_untrained_one(trained, recording):
    model, _ = trained
    initial = untrained_model(TINY.model, seed=3)
    assert not initial.training
    assert np.array_equal(embed_windows(initial, recording, RATE, ONE_SECOND),
                          embed_windows(untrained_model(TINY.model, 3), recording, RATE,
                                        ONE_SECOND))
    trained_emb = embed_windows(model, recording, RATE, ONE_SECOND)
    untrained_emb = embed_windows(initial, recording, RATE, ONE_SECOND)
    assert np.abs(trained_emb - untrained_emb).max() > 0.05
    other_seed = embed_windows(untrained_model(TINY.model, 4), recording, RATE, ONE_SECOND)
    assert np.abs(other_seed - untrained_emb).max() > 0.05


def test_untrained_model_leaves_the_global_generator_alone():
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    untrained_model(AudioEncoderConfig(channels=(4, 8)), seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_embed_windows_follows_the_frame_rule(trained, recording):
    model, _ = trained
    embeddings = embed_windows(model, recording, RATE, ONE_SECOND)
    assert embeddings.shape == (60, TINY.model.embed_dim) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    wide = embed_windows(model, recording, RATE, WindowConfig(4.0, 1.0))
    assert wide.shape == embeddings.shape and not np.allclose(wide, embeddings, atol=1e-3)
    assert embed_windows(model, recording, RATE, WindowConfig(1.0, 0.5)).shape[0] == 121
    from amr_lib.audio import resample

    slower = embed_windows(model, resample(recording, RATE, 8_000), 8_000, ONE_SECOND)
    assert slower.shape == embeddings.shape
    assert np.mean(np.sum(slower * embeddings, axis=1)) > 0.9


def test_embed_windows_does_not_depend_on_the_batch_size(trained, recording):
    model, _ = trained
    model.train()
    reference = embed_windows(model, recording, RATE, ONE_SECOND)
    small = embed_windows(model, recording, RATE, ONE_SECOND, batch_size=7)
    assert model.training                                          # mode restored
    model.eval()
    np.testing.assert_allclose(small, reference, atol=1e-5)


def test_embed_windows_refuses_bad_audio(trained):
    model, _ = trained
    bad = np.zeros(2 * RATE, dtype=np.float32)
    bad[100] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        embed_windows(model, bad, RATE, ONE_SECOND)
    with pytest.raises(ValueError, match="shorter than one"):
        embed_windows(model, np.zeros(RATE // 2, dtype=np.float32), RATE, ONE_SECOND)


def test_embed_texts_lie_in_the_joint_space(trained, text_encoder):
    model, _ = trained
    queries = ["a dog barks", "a siren wails"]
    embeddings = embed_texts(model, text_encoder, queries)
    assert embeddings.shape == (2, TINY.model.embed_dim) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    encoder = ContrastiveFeatureEncoder(model, text_encoder)
    tokens, joint = encoder.query_features(queries)
    np.testing.assert_allclose(joint, embeddings, atol=1e-6)
    assert tokens[0].shape == (6, 384)


def test_save_and_load_give_identical_embeddings(trained, recording, tmp_path):
    model, _ = trained
    path = tmp_path / "models" / "encoder.pt"
    save_model(path, model)
    assert sorted(p.name for p in path.parent.iterdir()) == ["encoder.pt"]
    loaded = load_model(path)
    assert loaded.config == model.config and not loaded.training
    np.testing.assert_array_equal(embed_windows(loaded, recording, RATE, ONE_SECOND),
                                  embed_windows(model, recording, RATE, ONE_SECOND))
    assert model_fingerprint(loaded) == model_fingerprint(model)
    assert model_fingerprint(untrained_model(model.config, 3)) != model_fingerprint(model)


def test_damaged_or_foreign_files_are_refused_by_name(trained, tmp_path):
    model, _ = trained
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match=re.escape(str(garbage))):
        load_model(garbage)
    good = tmp_path / "good.pt"
    save_model(good, model)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ValueError, match=re.escape(str(truncated))):
        load_model(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    expected = f"{foreign}: not a checkpoint written by amr as amr_lib.contrastive"
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_model(foreign)
    with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
        load_model(tmp_path / "missing.pt")


def test_retrieval_recall_equals_the_window_mean_by_hand(trained, corpus, text_encoder,
                                                         cache):
    model, _ = trained
    result = training.retrieval_recall(model, corpus, text_encoder, "test", ks=(1, 2),
                                       cache=cache)
    num_clips = len(TINY_CLASSES)
    assert result["clips"] == num_clips and result["queries"] == 5 * num_clips
    assert result["chance@2"] == pytest.approx(2 / num_clips)
    data = training.prepare_retrieval(corpus, "test", text_encoder, model.config, cache=cache)
    spans = training._trimmed(corpus, "test", RATE, TINY.trim_threshold_db, cache)
    assert len(data.windows) == sum(round(span.duration_s) for span in spans)
    clip_embeddings = []
    for span in spans:
        audio = corpus.load(span.clip_id)[round(span.start_s * RATE):round(span.end_s * RATE)]
        mean = embed_windows(model, audio, RATE, ONE_SECOND).mean(axis=0)
        clip_embeddings.append(mean / np.linalg.norm(mean))
    queries = [caption for span in spans for caption in span.captions]
    similarity = embed_texts(model, text_encoder, queries) @ np.stack(clip_embeddings).T
    by_hand = training.recall_at_k(similarity, np.repeat(np.arange(num_clips), 5), ks=(1, 2))
    assert result["R@1"] == pytest.approx(by_hand[1], abs=1 / 30 + 1e-9)
    assert result["R@2"] == pytest.approx(by_hand[2], abs=1 / 30 + 1e-9)


def test_logit_scale_is_clamped_after_a_step():
    model = untrained_model(AudioEncoderConfig(channels=(4,)), seed=0)
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    with torch.no_grad():
        model.logit_scale.fill_(9.0)
    model.clamp_logit_scale()
    assert model.logit_scale.item() == pytest.approx(MAX_LOGIT_SCALE)


class NoEncoding:
    """The real encoder's fingerprint, but encoding fails: only a cache hit can answer."""

    def __init__(self, real: TextEncoder) -> None:
        self.real = real

    def weights_fingerprint(self) -> str:
        return self.real.weights_fingerprint()

    def sentence_embeddings(self, queries):
        raise AssertionError("caption embeddings were recomputed instead of read back")


def test_preparation_is_read_back_from_the_cache(corpus, text_encoder, cache, monkeypatch):
    first = training.prepare_crops(corpus, "train", text_encoder, TINY, cache)
    monkeypatch.setattr(corpus, "load", lambda clip_id: pytest.fail("audio was reloaded"))
    again = training.prepare_crops(corpus, "train", NoEncoding(text_encoder), TINY, cache)
    np.testing.assert_array_equal(again.logmels, first.logmels)
    np.testing.assert_array_equal(again.captions, first.captions)
    assert first.logmels.dtype == np.float16 and first.offsets[-1] == len(first.logmels)
    frames = np.diff(first.offsets)
    assert (frames >= training.crop_length_frames(TINY.model)).all()


def test_feature_encoder_fingerprint_names_the_weights(trained, text_encoder):
    model, _ = trained
    encoder = ContrastiveFeatureEncoder(model, text_encoder)
    assert len(encoder.fingerprint()) == 64
    assert encoder.fingerprint() == ContrastiveFeatureEncoder(model, text_encoder).fingerprint()
    other = ContrastiveFeatureEncoder(untrained_model(model.config, 3), text_encoder)
    assert other.fingerprint() != encoder.fingerprint()
