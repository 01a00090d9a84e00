"""Released pre-extracted features (Lighthouse's layout): reading, training, predicting.

The fixture writes made-up features in the released layout for real queries of the released
Clotho-Moment files (their qids and vids), so the paths and names are the ones a reader who
downloads the features will have.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from amr_lib.cli import main
from amr_lib.features.released import ReleasedFeatureError, ReleasedFeatures
from amr_lib.lighthouse_jsonl import (
    MomentAnnotation,
    read_annotations,
    read_predictions,
    write_annotations,
)
from amr_lib.metrics import evaluate
from amr_lib.model.am_detr import AMDETR
from amr_lib.model.postprocess import ranked_moments
from amr_lib.retrieve import Retriever
from amr_lib.runs.released import predict_released, released_split
from amr_lib.storage.checkpoints import read_checkpoint, write_checkpoint
from amr_lib.train import CHECKPOINT_FORMAT, CHECKPOINT_VERSION

WIDTH = 768          # MS-CLAP 2023, as released


def write_released(root: Path, annotations, seed: int = 0, width: int = WIDTH) -> Path:
    """Features for ``annotations`` in the released layout: one frame per second, tokens
    of 5-40 states; each query's direction is added to the frames of its moments."""
    rng = np.random.default_rng(seed)
    (root / "clap").mkdir(parents=True, exist_ok=True)
    (root / "clap_text").mkdir(exist_ok=True)
    frames = {a.vid: rng.normal(size=(int(a.duration), width)) for a in annotations}
    for a in annotations:
        direction = rng.normal(size=width)
        for start, end in a.relevant_windows:
            frames[a.vid][int(start):int(np.ceil(end))] += 3 * direction
        tokens = rng.normal(size=(int(rng.integers(5, 41)), width)) + direction
        np.savez(root / "clap_text" / f"qid{a.qid}.npz",
                 last_hidden_state=tokens.astype(np.float32))
    for vid, array in frames.items():
        np.savez(root / "clap" / f"{vid}.npz", features=array.astype(np.float32))
    return root


@pytest.fixture(scope="module")
def released(released_annotations: Path, tmp_path_factory) -> dict[str, Path]:
    """Train/valid/test annotation files cut from the released Clotho-Moment files, and a
    feature folder for them."""
    root = tmp_path_factory.mktemp("released")
    val = read_annotations(released_annotations / "clotho_moment_val_release.jsonl")
    test = read_annotations(released_annotations / "clotho_moment_test_release.jsonl")
    parts = {"train": val[:48], "valid": val[48:64], "test": test[:16]}
    paths = {}
    for name, part in parts.items():
        paths[name] = root / f"{name}.jsonl"
        write_annotations(paths[name], part)
    paths["features"] = write_released(root / "features", [a for p in parts.values()
                                                           for a in p])
    return paths


@pytest.fixture(scope="module")
def trained(released: dict[str, Path], tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("released_run")
    assert main(["train", "--features", str(released["features"]),
                 "--annotations", str(released["train"]), "--valid", str(released["valid"]),
                 "--test", str(released["test"]), "--out", str(out), "--model", "quick",
                 "--epochs", "2", "--device", "cpu"]) == 0
    return out


def test_split_holds_the_files_as_released(released):
    features = ReleasedFeatures(released["features"])
    annotations = read_annotations(released["train"])
    split = released_split(features, annotations)
    vids = sorted({a.vid for a in annotations})
    assert split.audio.shape == (len(vids), 60, WIDTH)      # 60 s, one frame per second
    first = np.load(features.audio_path(vids[0]))["features"]
    np.testing.assert_array_equal(split.audio[0].numpy(), first)
    # tokens: the first 32 states, as Lighthouse's max_q_l keeps
    lengths = [len(np.load(features.tokens_path(a.qid))["last_hidden_state"])
               for a in annotations]
    assert split.token_mask.sum(1).tolist() == [min(n, 32) for n in lengths]
    assert max(lengths) > 32
    assert [a.qid for a in split.annotations] == [a.qid for a in annotations]
    assert split.hop_s == 1.0
    # predictions are shares of each annotation's duration, as Lighthouse's inference
    # scales them; targets stay shares of the frames' length
    assert split.spans_over == "duration"
    durations = [a.duration for a in annotations]
    assert split.prediction_length_s().tolist() == durations


def test_predicted_spans_scale_by_the_duration_on_the_released_path():
    from amr_lib.model.data import MomentSplit
    from amr_lib.numerics import tiny_model_config
    from amr_lib.train import predict_split

    frames = [np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32)]
    tokens = [np.ones((3, 8), np.float32)]
    # 16 frames of 1 s, but the annotation says the recording lasts 12 s
    annotation = MomentAnnotation(0, "q", 12.0, "v", np.array([[2.0, 5.0]]))
    by_frames = MomentSplit.from_arrays(frames, ["v"], tokens, [annotation], 1.0)
    by_duration = MomentSplit.from_arrays(frames, ["v"], tokens, [annotation], 1.0,
                                          spans_over="duration")
    assert by_frames.prediction_length_s().item() == 16.0
    assert by_duration.prediction_length_s().item() == 12.0
    assert torch.equal(by_frames.spans_cxw, by_duration.spans_cxw)     # same targets
    torch.manual_seed(0)
    model = AMDETR(tiny_model_config())
    [frames_rows] = predict_split(model, by_frames)
    [duration_rows] = predict_split(model, by_duration)
    # the same outputs, scaled by 12 s instead of 16 s (then cut to 12 s, rounded to 1 s)
    with torch.no_grad():
        outputs = model(**by_duration.batch(torch.tensor([0])).model_inputs(False))
    expected = ranked_moments(outputs["pred_logits"], outputs["pred_spans"],
                              torch.tensor([12.0]), torch.tensor([12.0]), 1.0)[0]
    np.testing.assert_allclose(duration_rows.pred_relevant_windows, expected)
    assert not np.array_equal(frames_rows.pred_relevant_windows, expected)
    with pytest.raises(ValueError, match="spans_over"):
        MomentSplit.from_arrays(frames, ["v"], tokens, [annotation], 1.0, spans_over="x")


def test_missing_files_are_listed_before_training(released, tmp_path):
    copy = write_released(tmp_path / "features", read_annotations(released["valid"]))
    annotations = read_annotations(released["valid"])
    (copy / "clap" / f"{annotations[0].vid}.npz").unlink()
    (copy / "clap_text" / f"qid{annotations[3].qid}.npz").unlink()
    with pytest.raises(ReleasedFeatureError) as error:
        ReleasedFeatures(copy).read(annotations, where="valid.jsonl")
    message = str(error.value)
    assert "valid.jsonl: 2 feature file(s) missing" in message
    assert f"{annotations[0].vid}.npz" in message


def test_a_folder_without_the_layout_is_refused(tmp_path):
    (tmp_path / "clap").mkdir()
    with pytest.raises(ReleasedFeatureError, match="clap_text: no such folder"):
        ReleasedFeatures(tmp_path)


@pytest.mark.parametrize("problem, message", [
    ("key", "no array 'features' \\(found feats\\)"),
    ("nan", "NaN or infinite"),
    ("flat", "must be a non-empty \\(length, width\\) array"),
    ("truncated", "not a readable .npz file"),
])
def test_bad_feature_files_are_named(released, tmp_path, problem, message):
    annotations = read_annotations(released["valid"])
    root = write_released(tmp_path / "features", annotations)
    path = root / "clap" / f"{annotations[0].vid}.npz"
    if problem == "key":
        np.savez(path, feats=np.zeros((60, WIDTH), np.float32))
    elif problem == "nan":
        np.savez(path, features=np.full((60, WIDTH), np.nan, np.float32))
    elif problem == "flat":
        np.savez(path, features=np.zeros(WIDTH, np.float32))
    else:
        path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ReleasedFeatureError, match=message) as error:
        ReleasedFeatures(root).read(annotations)
    assert str(error.value).startswith(str(path))


def test_features_of_two_widths_are_refused(released, tmp_path):
    annotations = read_annotations(released["valid"])
    root = write_released(tmp_path / "features", annotations)
    odd = root / "clap_text" / f"qid{annotations[2].qid}.npz"
    np.savez(odd, last_hidden_state=np.ones((7, 512), np.float32))
    with pytest.raises(ReleasedFeatureError, match="512 wide, but"):
        ReleasedFeatures(root).read(annotations)


def test_train_writes_a_run_scored_like_amr_evaluate(released, trained):
    summary = json.loads((trained / "metrics.json").read_text())
    assert summary["queries"] == {"train": 48, "valid": 16, "test": 16}
    assert summary["epochs"] == 2 and 1 <= summary["best_epoch"] <= 2
    predictions = read_predictions(trained / "test_predictions.jsonl")
    test = read_annotations(released["test"])
    assert [p.qid for p in predictions] == [a.qid for a in test]
    assert summary["test"] == evaluate(test, predictions)
    # the checkpoint says what its inputs were, and no machine path
    extra = read_checkpoint(trained / "best.ckpt", CHECKPOINT_FORMAT,
                            CHECKPOINT_VERSION)["extra"]
    assert extra == {"released_features": {"audio": "clap", "text": "clap_text",
                                           "hop_s": 1.0, "max_tokens": 32}}


def test_predict_from_features_repeats_the_test_predictions(released, trained, tmp_path,
                                                            capsys):
    out = tmp_path / "pred.jsonl"
    assert main(["predict", "--checkpoint", str(trained / "best.ckpt"),
                 "--features", str(released["features"]),
                 "--annotations", str(released["test"]), "--out", str(out)]) == 0
    again, before = read_predictions(out), read_predictions(trained / "test_predictions.jsonl")
    for new, old in zip(again, before, strict=True):
        np.testing.assert_allclose(new.pred_relevant_windows, old.pred_relevant_windows,
                                   atol=1e-6)
    capsys.readouterr()
    assert main(["evaluate", str(released["test"]), str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == json.loads((trained / "metrics.json").read_text())["test"]


def test_a_released_model_cannot_embed_audio(trained):
    with pytest.raises(ValueError, match="amr predict --features DIR"):
        Retriever.from_checkpoint(trained / "best.ckpt")


def test_a_profile_model_is_refused_on_released_features(released, trained, tmp_path):
    checkpoint = read_checkpoint(trained / "best.ckpt", CHECKPOINT_FORMAT,
                                 CHECKPOINT_VERSION)
    checkpoint["extra"] = {"features": {"name": "contrastive"}}
    write_checkpoint(tmp_path / "profile.ckpt", checkpoint)
    with pytest.raises(ValueError, match="not on released features"):
        predict_released(tmp_path / "profile.ckpt", ReleasedFeatures(released["features"]),
                         released["test"])


def test_features_of_another_width_than_the_model_are_refused(released, trained, tmp_path):
    root = write_released(tmp_path / "narrow", read_annotations(released["test"]), width=512)
    with pytest.raises(ValueError, match=r"512/512 wide .* expects 768/768"):
        predict_released(trained / "best.ckpt", ReleasedFeatures(root), released["test"])


@pytest.mark.parametrize("arguments, message", [
    (["train", "--features", "F", "--annotations", "T.jsonl", "--out", "O"],
     "--features needs --annotations TRAIN.jsonl and --valid VALID.jsonl"),
    (["train", "--annotations", "T.jsonl", "--out", "O"], "go with --features DIR"),
    (["predict", "--baseline", "B.json", "--features", "F", "--annotations", "A.jsonl",
      "--out", "P"], "the baseline needs audio"),
])
def test_released_options_that_do_not_fit_are_refused(released, arguments, message,
                                                      capsys):
    arguments = [str(released["features"]) if a == "F" else a for a in arguments]
    assert main(arguments) == 2
    assert message in capsys.readouterr().err
