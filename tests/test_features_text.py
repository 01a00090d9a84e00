import numpy as np
import pytest

from amr_lib.features import text
from amr_lib.features.text import TextEncoder, TextEncoderConfig, WeightsMismatchError
from amr_lib.storage.cache import file_sha256


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder()


def test_bundled_weights_match_the_published_hash():
    folder = text.verified_bundled_folder()
    assert file_sha256(folder / "model.safetensors") == text.PUBLISHED_SHA256


def test_a_mismatching_hash_is_refused():
    with pytest.raises(WeightsMismatchError, match="is not the published all-MiniLM-L6-v2"):
        text.verified_bundled_folder(expected_sha256="0" * 64)


def test_token_states_and_sentence_embeddings(encoder):
    states = encoder.token_states(["a dog barks", "rain falls steadily on a tin roof"])
    # [CLS] a dog bark ##s [SEP]: 6 tokens, the padding of the batch removed
    assert encoder.tokenizer.tokenize("a dog barks") == ["a", "dog", "bark", "##s"]
    assert states[0].shape == (6, 384) and states[1].shape[0] > 6
    embeddings = encoder.sentence_embeddings(["a dog barks", "a dog is barking",
                                              "an engine idles"])
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    similar, unrelated = embeddings[0] @ embeddings[1], embeddings[0] @ embeddings[2]
    assert similar > unrelated + 0.2


def test_sentence_embedding_equals_sentence_transformers(encoder):
    from sentence_transformers import SentenceTransformer

    queries = ["a dog barks", "glass shatters on a hard floor", "thunder rumbles far away"]
    reference = SentenceTransformer(str(text.bundled_model_folder()), device="cpu").encode(
        queries, normalize_embeddings=True)
    np.testing.assert_allclose(encoder.sentence_embeddings(queries), reference, atol=1e-5)


def test_batching_does_not_change_results(encoder):
    queries = [f"a bell rings {i} times" for i in range(7)]
    one_batch = encoder.sentence_embeddings(queries)
    small = TextEncoder(TextEncoderConfig(batch_size=2))
    np.testing.assert_allclose(small.sentence_embeddings(queries), one_batch, atol=1e-5)


def test_empty_and_very_long_queries(encoder):
    with pytest.raises(ValueError, match="non-empty text"):
        encoder.sentence_embeddings(["a dog barks", "   "])
    long_query = " ".join(["barking"] * 1000)
    with pytest.warns(UserWarning, match="truncated to 256"):
        [states] = encoder.token_states([long_query])
    assert states.shape == (256, 384)


def test_fingerprint_is_the_weights_hash(encoder):
    assert encoder.weights_fingerprint() == text.PUBLISHED_SHA256


def test_loading_shows_no_progress_bar_and_restores_the_setting(capfd):
    from transformers.utils import logging as transformers_logging

    transformers_logging.enable_progress_bar()
    TextEncoder()
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out
    assert transformers_logging.is_progress_bar_enabled()
