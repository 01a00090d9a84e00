"""The profile chain through `amr train`, then the retrieval API, `amr predict` and
`amr retrieve` on its checkpoint (a tiny profile: a few segments, two epochs)."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from conftest import use_tiny_profile

from amr_lib import profiles
from amr_lib.audio import load_audio, write_wav
from amr_lib.cli import main
from amr_lib.lighthouse_jsonl import read_annotations, read_predictions
from amr_lib.model.postprocess import ranked_moments
from amr_lib.retrieve import Moment, Retriever, chunk_starts, merge_moments
from amr_lib.spans import temporal_iou
from amr_lib.viz import plot_found_moments

TINY = replace(profiles.Profile.quick(), retrieval=profiles.RetrievalSetup(
    encoder="contrastive-untrained", train_segments=10, valid_segments=3, test_segments=3,
    model="quick", epochs=2))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``amr train`` on the tiny profile; returns (run folder, simulated test folder)."""
    root = tmp_path_factory.mktemp("amr")
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_profile(patch, root, TINY)
        assert main(["train", "--profile", "quick", "--out", str(root / "run"),
                     "--device", "cpu"]) == 0
        # a second call finds the finished run in the cache and trains nothing
        history = (root / "run" / "history.json").read_text()
        assert main(["train", "--profile", "quick", "--out", str(root / "again")]) == 0
        assert (root / "again" / "history.json").read_text() == history
        assert main(["simulate", "--clips", "synthetic", "--backgrounds", "synthetic",
                     "--split", "test", "--out", str(root / "sim"), "--max-segments", "3",
                     "--write-audio"]) == 0
        yield root / "run", root / "sim"


@pytest.fixture(scope="module")
def retriever(trained):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        return Retriever.from_checkpoint(trained[0] / "best.ckpt")


def test_train_writes_checkpoint_metrics_and_history(trained):
    run, _ = trained
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["profile"] == "quick" and metrics["epochs"] == 2
    assert set(metrics["test"]) >= {"R1@0.5", "R1@0.7", "mAP@0.5", "mAP"}
    assert 1 <= metrics["best_epoch"] <= 2
    checkpoint = torch.load(run / "best.ckpt", weights_only=True)
    assert checkpoint["extra"]["features"]["name"] == "contrastive-untrained"
    assert checkpoint["train_frames"] == 60
    predictions = read_predictions(run / "test_predictions.jsonl")
    assert len(predictions) == metrics["queries"]["test"]


def test_retrieve_equals_the_models_post_processed_output(retriever, trained):
    _, sim = trained
    [annotation, *_] = read_annotations(sim / "annotations.jsonl")
    path = sim / "audio" / f"{annotation.vid}.wav"
    moments = retriever.retrieve(path, annotation.query, top_k=10)
    frames = retriever.embed(path)
    assert frames.shape == (60, 256)
    [tokens], _ = retriever.encoder.query_features([annotation.query])
    with torch.no_grad():
        out = retriever.model(torch.from_numpy(frames)[None], torch.ones(1, 60, dtype=bool),
                              torch.from_numpy(tokens)[None],
                              torch.ones(1, len(tokens), dtype=bool))
    expected = ranked_moments(out["pred_logits"], out["pred_spans"], torch.tensor([60.0]),
                              torch.tensor([60.0]), 1.0)[0]
    got = np.array([[m.start_s, m.end_s, m.score] for m in moments])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert all(m.start_s % 1 == 0 and m.end_s % 1 == 0 for m in moments)
    assert [m.score for m in moments] == sorted((m.score for m in moments), reverse=True)


def test_long_recordings_are_scored_in_chunks(retriever, trained):
    _, sim = trained
    [annotation, *_] = read_annotations(sim / "annotations.jsonl")
    audio, rate = load_audio(sim / "audio" / f"{annotation.vid}.wav")
    long_audio = np.tile(audio, 5)                          # 300 s, five copies
    moments = retriever.retrieve(long_audio, annotation.query, top_k=8, sample_rate=rate)
    assert 1 <= len(moments) <= 8
    assert all(0 <= m.start_s <= m.end_s <= 300 for m in moments)
    # moments are found beyond the first chunk: the whole hour-scale path was used
    assert max(m.end_s for m in moments) > 60
    starts = np.array([[m.start_s, m.end_s] for m in moments])
    overlaps = temporal_iou(starts, starts) - np.eye(len(starts))
    assert overlaps.max() < 0.5               # copies from overlapping chunks were merged


def test_chunk_starts_cover_every_frame():
    assert chunk_starts(60, 60) == [0]
    assert chunk_starts(10, 60) == [0]
    starts = chunk_starts(200, 60)
    assert starts[0] == 0 and starts[-1] == 140
    assert all(b - a <= 30 for a, b in itertools.pairwise(starts))
    covered = np.zeros(200, bool)
    for start in starts:
        covered[start:start + 60] = True
    assert covered.all()


def test_merge_keeps_the_best_copy_of_a_moment():
    rows = np.array([[10, 20, 0.5], [11, 20, 0.9], [40, 45, 0.7], [10, 19, 0.8]])
    assert merge_moments(rows, top_k=5) == [Moment(11, 20, 0.9), Moment(40, 45, 0.7)]
    assert merge_moments(rows, top_k=1) == [Moment(11, 20, 0.9)]


def test_bad_inputs_are_refused_with_reasons(retriever, tmp_path):
    with pytest.raises(ValueError, match="sample_rate"):
        retriever.retrieve(np.zeros(16_000 * 5, np.float32), "a dog barks")
    noisy = np.zeros(16_000 * 5, np.float32)
    noisy[100] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        retriever.retrieve(noisy, "a dog barks", sample_rate=16_000)
    with pytest.raises(ValueError, match="query"):
        retriever.retrieve(np.zeros(16_000 * 5, np.float32), "   ", sample_rate=16_000)
    with pytest.raises(ValueError, match="top_k"):
        retriever.retrieve(np.zeros(16_000 * 5, np.float32), "rain", top_k=0,
                           sample_rate=16_000)
    with pytest.raises(FileNotFoundError, match=r"missing\.wav"):
        retriever.retrieve(tmp_path / "missing.wav", "rain")


def test_a_checkpoint_whose_encoder_changed_is_refused(trained, tmp_path):
    run, _ = trained
    checkpoint = torch.load(run / "best.ckpt", weights_only=True)
    checkpoint["extra"]["features"]["fingerprint"] = "0" * 64
    tampered = tmp_path / "tampered.ckpt"
    torch.save(checkpoint, tampered)
    with pytest.raises(ValueError, match="fingerprint mismatch"):
        Retriever.from_checkpoint(tampered)
    del checkpoint["extra"]["features"]
    torch.save(checkpoint, tampered)
    with pytest.raises(ValueError, match="feature encoder"):
        Retriever.from_checkpoint(tampered)


def test_predict_then_evaluate_on_rendered_audio(trained, tmp_path, capsys):
    run, sim = trained
    out = tmp_path / "pred.jsonl"
    assert main(["predict", "--checkpoint", str(run / "best.ckpt"), "--annotations",
                 str(sim / "annotations.jsonl"), "--audio-dir", str(sim / "audio"),
                 "--out", str(out)]) == 0
    annotations = read_annotations(sim / "annotations.jsonl")
    predictions = read_predictions(out)
    assert [p.qid for p in predictions] == [a.qid for a in annotations]
    assert all(len(p.pred_relevant_windows) == 10 and p.is_ranked for p in predictions)
    assert main(["evaluate", str(sim / "annotations.jsonl"), str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0 <= report["mAP"] <= 100


def test_predict_names_a_missing_recording(trained, tmp_path, capsys):
    run, sim = trained
    empty = tmp_path / "no_audio"
    empty.mkdir()
    code = main(["predict", "--checkpoint", str(run / "best.ckpt"), "--annotations",
                 str(sim / "annotations.jsonl"), "--audio-dir", str(empty), "--out",
                 str(tmp_path / "pred.jsonl")])
    assert code == 2
    assert "no audio file for recording" in capsys.readouterr().err
    assert not (tmp_path / "pred.jsonl").exists()


def test_retrieve_answers_several_queries_with_one_model_load(trained, tmp_path, capsys,
                                                               monkeypatch):
    run, _ = trained
    path = tmp_path / "tone.wav"
    time = np.arange(16_000 * 20) / 16_000
    write_wav(path, (0.3 * np.sin(2 * np.pi * 440 * time)).astype(np.float32), 16_000)
    calls = {"load": 0, "embed": 0}
    load, embed = Retriever.from_checkpoint.__func__, Retriever.embed

    def counted_load(cls, *args, **kwargs):
        calls["load"] += 1
        return load(cls, *args, **kwargs)

    def counted_embed(self, *args, **kwargs):
        calls["embed"] += 1
        return embed(self, *args, **kwargs)

    monkeypatch.setattr(Retriever, "from_checkpoint", classmethod(counted_load))
    monkeypatch.setattr(Retriever, "embed", counted_embed)
    queries = ["a high beep", "a dog barks", "rain falls", "a dog barks"]   # one asked twice
    assert main(["retrieve", "--checkpoint", str(run / "best.ckpt"), str(path), *queries,
                 "--top-k", "3", "--json"]) == 0
    assert calls == {"load": 1, "embed": 1}
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) == {"audio", "duration_s", "profile", "recipe", "presence_threshold",
                           "queries"}
    assert answer["duration_s"] == 20.0 and answer["profile"] == "quick"
    assert answer["recipe"] == "paper"
    assert answer["presence_threshold"] is None          # trained without absent queries
    assert [q["query"] for q in answer["queries"]] == queries
    retriever = Retriever.from_checkpoint(run / "best.ckpt")
    frames = retriever.embed(path)
    for asked in answer["queries"]:
        assert asked["found"] is None
        assert 1 <= len(asked["moments"]) <= 3
        # the same moments as the API gives for that query alone
        alone = retriever.retrieve_frames(frames, asked["query"], 3)
        assert asked["moments"] == [moment.to_json() for moment in alone]
    assert main(["retrieve", "--checkpoint", str(run / "best.ckpt"), str(path),
                 "a high beep"]) == 0
    text = capsys.readouterr().out
    assert "no presence threshold" in text and "'a high beep'" in text


@pytest.mark.parametrize("arguments, message", [
    (["DIR", "a dog barks"], "is a folder, not an audio file"),
    (["SHORT", "a dog barks"], "shorter than one 1 s window"),
    (["TONE", "a dog barks", "  "], "non-empty text"),
    (["TONE", "a dog barks", "--device", "cuda"], "sees no CUDA GPU"),
    (["TONE", "a dog barks", "--plot", "found.xyz"], "cannot draw a .xyz file"),
])
def test_retrieve_checks_its_inputs_before_the_model_loads(trained, tmp_path, capsys,
                                                           monkeypatch, arguments, message):
    run, _ = trained
    short, tone = tmp_path / "short.wav", tmp_path / "tone.wav"
    write_wav(short, np.zeros(8_000, np.float32), 16_000)               # half a second
    write_wav(tone, np.zeros(16_000 * 5, np.float32), 16_000)
    named = {"DIR": str(tmp_path), "SHORT": str(short), "TONE": str(tone),
             "found.xyz": str(tmp_path / "found.xyz")}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def no_load(*args, **kwargs):
        raise AssertionError("the model loaded before the inputs were checked")

    monkeypatch.setattr(Retriever, "from_checkpoint", no_load)
    code = main(["retrieve", "--checkpoint", str(run / "best.ckpt"),
                 *[named.get(a, a) for a in arguments]])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    if arguments[0] in ("DIR", "SHORT"):
        assert named[arguments[0]] in err                    # the file is named


@pytest.mark.parametrize("option", [["--top-k", "0"], ["--device", "gpu"]])
def test_retrieve_refuses_bad_options_at_parse_time(trained, tmp_path, capsys, option):
    run, _ = trained
    with pytest.raises(SystemExit) as stopped:
        main(["retrieve", "--checkpoint", str(run / "best.ckpt"), str(tmp_path / "a.wav"),
              "rain", *option])
    assert stopped.value.code == 2
    assert option[0] in capsys.readouterr().err


def test_device_auto_works_on_every_command_that_takes_a_device(trained, tmp_path, capsys):
    run, _ = trained
    tone = tmp_path / "tone.wav"
    write_wav(tone, np.zeros(16_000 * 5, np.float32), 16_000)
    assert main(["retrieve", "--checkpoint", str(run / "best.ckpt"), str(tone), "rain",
                 "--device", "auto", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["queries"][0]["moments"]


def test_integer_pcm_is_scaled_like_the_file_reader(retriever):
    rng = np.random.default_rng(3)
    pcm = (rng.normal(0, 0.2, 16_000 * 8).clip(-1, 1) * 32767).astype(np.int16)
    as_float = pcm.astype(np.float32) / 32768
    assert (retriever.retrieve(pcm, "rain", sample_rate=16_000)
            == retriever.retrieve(as_float, "rain", sample_rate=16_000))
    with pytest.raises(ValueError, match="uint8"):
        retriever.retrieve(np.zeros(16_000 * 5, np.uint8), "rain", sample_rate=16_000)


def test_duration_must_fit_the_frames(retriever):
    frames = retriever.embed(np.zeros(16_000 * 59, np.float32), 16_000)
    assert len(frames) == 59
    with pytest.raises(ValueError, match="does not fit 59 frames"):
        retriever.retrieve_frames(frames, "rain", 3, duration_s=30)
    moments = retriever.retrieve_frames(frames, "rain", 3, duration_s=59.5)
    assert all(0 <= m.start_s <= m.end_s <= 59.5 for m in moments)


def test_retrieve_says_when_nothing_passes_the_presence_threshold(trained, tmp_path,
                                                                  capsys):
    run, _ = trained
    metrics = json.loads((run / "metrics.json").read_text())
    # trained without absent queries: an AUROC is measured, but no threshold is stored
    assert 0 <= metrics["presence"]["test_auroc"] <= 1
    assert "threshold" not in metrics["presence"]
    audio = tmp_path / "tone.wav"
    time = np.arange(16_000 * 20) / 16_000
    write_wav(audio, (0.3 * np.sin(2 * np.pi * 440 * time)).astype(np.float32), 16_000)
    checkpoint = torch.load(run / "best.ckpt", weights_only=True)
    for threshold, found in ((1.5, False), (0.0, True)):
        checkpoint["extra"]["presence"] = {"threshold": threshold, "valid_auroc": 0.9,
                                           "valid_balanced_accuracy": 0.8}
        path = tmp_path / f"presence_{threshold}.ckpt"
        torch.save(checkpoint, path)
        assert main(["retrieve", "--checkpoint", str(path), str(audio), "a dog barks"]) == 0
        text = capsys.readouterr().out
        assert ("no match above the presence threshold 1.500" in text) is not found
        assert main(["retrieve", "--checkpoint", str(path), str(audio), "a dog barks",
                     "--json"]) == 0
        [answer] = json.loads(capsys.readouterr().out)["queries"]
        assert answer["found"] is found
        assert {m["above_threshold"] for m in answer["moments"]} == {found}
    assert Retriever.from_checkpoint(path).found([]) is False


def test_a_calibrated_checkpoint_answers_found_or_not_found_with_its_probability(
        trained, retriever, tmp_path, capsys):
    from amr_lib.presence import CALIBRATION_KEY, Calibration

    run, _ = trained
    audio = tmp_path / "tone.wav"
    time = np.arange(16_000 * 20) / 16_000
    write_wav(audio, (0.3 * np.sin(2 * np.pi * 440 * time)).astype(np.float32), 16_000)
    frames = retriever.embed(audio)
    plain = retriever.search_frames(frames, "a dog barks", 3)
    assert (plain.presence, plain.found) == (None, None)       # no calibration, no threshold
    checkpoint = torch.load(run / "best.ckpt", weights_only=True)
    # a calibration on the top logit alone: weight 0 and a bias pin the probability
    for bias, found in ((-3.0, False), (3.0, True)):
        calibration = Calibration(("top", "saliency"), (0.0, 0.0), bias, 0.5, 0.9, 0.02)
        checkpoint["extra"][CALIBRATION_KEY] = calibration.to_json()
        path = tmp_path / f"calibrated_{bias}.ckpt"
        torch.save(checkpoint, path)
        calibrated = Retriever.from_checkpoint(path)
        search = calibrated.search_frames(frames, "a dog barks", 3)
        probability = 1 / (1 + np.exp(-bias))
        assert search.presence == pytest.approx(probability) and search.found is found
        assert search.moments == plain.moments           # the same moments either way
        assert main(["retrieve", "--checkpoint", str(path), str(audio), "a dog barks"]) == 0
        text = capsys.readouterr().out
        verdict = "found" if found else "not found"
        assert f"{verdict}: presence probability {probability:.2f} (threshold 0.50)" in text
        assert ("the closest moments" in text) is not found
        assert main(["retrieve", "--checkpoint", str(path), str(audio), "a dog barks",
                     "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert answer["presence_threshold"] == 0.5
        [query] = answer["queries"]
        assert query["found"] is found and query["presence"] == pytest.approx(probability)
        assert all("above_threshold" not in m for m in query["moments"])
    # a long recording's chunks each get their signals (a probability each, the highest
    # counts), not the highest of each signal over different chunks
    from amr_lib.retrieve import presence_signals_of

    outputs = {"pred_logits": torch.tensor([[[0.0, 0.0]], [[2.0, 0.0]]]),
               "saliency_scores": torch.tensor([[0.1, 0.4], [0.2, 0.3]])}
    signals = presence_signals_of(outputs)
    np.testing.assert_allclose(signals["saliency"], [0.4, 0.3], rtol=1e-6)
    np.testing.assert_allclose(signals["top"], [0.0, 2.0], atol=1e-5)   # logit of softmax


def test_retrieve_draws_the_moments_on_the_spectrogram(trained, tmp_path, capsys):
    run, sim = trained
    audio = next((sim / "audio").glob("*.wav"))
    out = tmp_path / "plots" / "moments.png"
    assert main(["retrieve", "--checkpoint", str(run / "best.ckpt"), str(audio),
                 "a dog barks", "--top-k", "3", "--plot", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith(str(out))
    image = plt.imread(out)
    assert image.shape[0] > 200 and image.shape[1] > 800      # 10 x 3 inches at 120 dpi
    assert main(["retrieve", "--checkpoint", str(run / "best.ckpt"), str(audio),
                 "a dog barks", "--plot", str(tmp_path / "moments.xyz")]) == 2
    assert "xyz" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.xyz*"))


def test_found_moments_are_labelled_by_rank_and_score():
    audio = np.random.default_rng(0).normal(0, 0.1, 16_000 * 30).astype(np.float32)
    ax = plot_found_moments(audio, 16_000, [(2.0, 5.0, 0.91), (10.0, 12.0, 0.4)], "a dog")
    labels = [text.get_text() for text in ax.texts]
    assert labels == ["#1 0.91", "#2 0.40"]
    assert ax.get_title(loc="left") == "moments for 'a dog'"
    plt.close("all")


def test_amr_retrieve_start_up_imports_no_scipy_or_sklearn():
    """`amr retrieve` pays every module import at start-up: scikit-learn (presence AUROC),
    scipy.optimize (matching) and scipy.ndimage (the baseline's filter) are training and
    baseline tools, imported where they are used (about 1.4 s here)."""
    import subprocess
    import sys

    code = ("import sys; from amr_lib.cli import main; from amr_lib.retrieve import Retriever; "
            "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout
