"""`amr experiment table1` on a tiny profile, then `amr predict --baseline` on audio files
with the parameter file it wrote."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TINY_EXPERIMENT, use_tiny_experiment

from amr_lib.cli import main
from amr_lib.experiments.results import LIVE_TOLERANCE, METRICS, find_row, live_check
from amr_lib.experiments.table1 import read_table, run_baseline
from amr_lib.lighthouse_jsonl import read_annotations, read_predictions
from amr_lib.retrieve import BaselineRetriever

TINY = TINY_EXPERIMENT


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, tiny_experiment_cache):
    """The table for two seeds, and the test split rendered to audio files."""
    root = tmp_path_factory.mktemp("table1")
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_experiment(patch, tiny_experiment_cache)
        assert main(["experiment", "table1", "--profile", "quick", "--seeds", "2",
                     "--out", str(root / "out"), "--device", "cpu"]) == 0
        assert main(["simulate", "--clips", "synthetic", "--backgrounds", "synthetic",
                     "--split", "test", "--out", str(root / "sim"), "--max-segments", "4",
                     "--write-audio"]) == 0
        baseline = run_baseline(TINY)
        yield root / "out", root / "sim", baseline


def test_the_table_has_every_row_with_spreads(experiment):
    out, _, _ = experiment
    rows = read_table(out / "table1.json")
    assert [(row["method"], row["features"], row["n_seeds"]) for row in rows] == [
        ("baseline", "contrastive", 1), ("am-detr", "contrastive", 2),
        ("am-detr, query-blind", "contrastive", 2), ("am-detr", "contrastive-untrained", 2),
        ("constant moment, audio-blind", "none", 1)]
    for row in rows:
        assert row["split"] == "test" and row["profile"] == "quick"
        assert all(0 <= row[m] <= 100 and row[f"{m}_std"] >= 0 for m in METRICS)
    assert "on_queried_event" in find_row(rows, "baseline", "contrastive")
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["command"].startswith("amr experiment table1 --profile quick")
    # the kind of CPU and the vector kernels that made the numbers
    assert set(provenance["numerics"]) == {"fingerprint", "cpu", "torch_cpu_capability",
                                           "threads", "torch", "numpy"}
    # and the definition of each book profile (here the tiny one stands in for both)
    from amr_lib.profiles import profile_key
    assert provenance["profiles"] == {"quick": profile_key(TINY),
                                      "real-sounds": profile_key(TINY)}


def test_am_detr_rows_are_mean_and_sample_std_of_the_seeds_checkpoints(experiment):
    out, _, _ = experiment
    row = find_row(read_table(out / "table1.json"), "am-detr", "contrastive-untrained")
    runs = [json.loads((out / "checkpoints" / f"am-detr_contrastive-untrained_seed{seed}"
                        / "metrics.json").read_text())["test"] for seed in (0, 1)]
    for metric in METRICS:
        values = [run[metric] for run in runs]
        assert row[metric] == pytest.approx(np.mean(values), abs=0.006)
        assert row[f"{metric}_std"] == pytest.approx(np.std(values, ddof=1), abs=0.006)
    assert (out / "checkpoints" / "am-detr_contrastive_seed1" / "best.ckpt").is_file()


def test_a_live_rerun_repeats_its_committed_seed_exactly(experiment):
    out, _, baseline = experiment
    rows = read_table(out / "table1.json")
    provenance = json.loads((out / "provenance.json").read_text())
    row = find_row(rows, "baseline", "contrastive")
    check = live_check("baseline", baseline.metrics, row, provenance, seed=None)
    assert check.comparable and check.passed and check.require() is check
    # one unit of the last decimal off under the same numerics: a stale file or a changed number
    moved = {**baseline.metrics, "mAP": baseline.metrics["mAP"] + 0.01}
    with pytest.raises(AssertionError, match="does not repeat"):
        live_check("baseline", moved, row, provenance, seed=None).require()
    # under another fingerprint the check says it cannot compare, and does not pass
    other = {**provenance, "numerics": {**provenance["numerics"], "fingerprint": "0" * 16}}
    elsewhere = live_check("baseline", moved, row, other, seed=None).require()
    assert not elsewhere.comparable and not elsewhere.passed
    assert "cannot repeat it bit for bit" in " ".join(elsewhere.sentence().split())
    # the profile's definition is compared too: a changed recipe cannot repeat the file
    from dataclasses import replace

    from amr_lib.profiles import profile_key
    defined = {**provenance, "profiles": {"quick": profile_key(TINY)}}
    assert live_check("baseline", baseline.metrics, row, defined, seed=None,
                      profiles=[TINY]).passed
    changed = replace(TINY, retrieval=replace(TINY.retrieval, lr=TINY.retrieval.lr * 2))
    recipe = live_check("baseline", moved, row, defined, seed=None,
                        profiles=[changed]).require()
    assert not recipe.comparable and "training recipe changed" in " ".join(
        recipe.sentence().split())
    legacy = live_check("baseline", moved, row, provenance | {"profiles": {}}, seed=None,
                        profiles=[TINY]).require()          # made before keys were kept
    assert not legacy.comparable
    assert "before profile definitions were recorded" in " ".join(legacy.sentence().split())
    # AM-DETR rows hold each seed's values and per-query values: seed 1 is checked on its own
    detr = find_row(rows, "am-detr", "contrastive")
    assert [entry["seed"] for entry in detr["per_seed"]] == [0, 1]
    seed1 = detr["per_seed"][1]
    assert live_check("am-detr", seed1, detr, provenance, seed=1).passed
    seed0 = detr["per_seed"][0]          # another seed's values pass only where they agree
    agree = all(abs(seed0[m] - seed1[m]) <= LIVE_TOLERANCE for m in METRICS)
    assert live_check("am-detr", seed0, detr, provenance, seed=1).passed == agree
    for metric in METRICS:      # the per-query values average to the reported metric
        assert np.mean(seed1["queries"][metric]) == pytest.approx(seed1[metric], abs=0.01)


def test_discrimination_is_kept_per_query_for_the_several_event_recordings(experiment):
    out, _, _ = experiment
    rows = read_table(out / "table1.json")
    for row in rows:
        several = np.asarray(row["several_events"], dtype=bool)
        for entry in row["per_seed"]:
            landed = np.asarray(entry["queries"]["lands_on_queried"])
            assert len(landed) == len(several) and set(np.unique(landed)) <= {0.0, 100.0}
            # the share on the queried event is the mean landing over those recordings
            assert landed[several].mean() == pytest.approx(entry["on_queried_event"],
                                                           abs=0.01)


def test_a_rerun_reads_finished_seeds_from_points_and_retrains_stale_ones(
        experiment, tiny_experiment_cache, monkeypatch):
    out, _, _ = experiment
    points = out / "points"
    assert sorted(path.name for path in points.iterdir()) == sorted(
        f"am-detr_{name}_seed{seed}.json" for name in ("contrastive",
                                                       "contrastive-untrained")
        for seed in (0, 1))
    use_tiny_experiment(monkeypatch, tiny_experiment_cache)
    import amr_lib.experiments.table1 as table1
    trained = []
    original = table1.train_profile

    def counted(profile, *args, **kwargs):
        trained.append((profile.retrieval.encoder, kwargs["seed"]))
        return original(profile, *args, **kwargs)

    monkeypatch.setattr(table1, "train_profile", counted)
    stale = points / "am-detr_contrastive_seed1.json"
    point = json.loads(stale.read_text())
    stale.write_text(json.dumps({**point, "numerics": "0" * 16}))
    rows = table1.run_table1(TINY, seeds=2, out_dir=out, device="cpu")
    assert trained == [("contrastive", 1)]         # the stale point only
    assert json.loads(stale.read_text()) == point  # made again, the same numbers
    assert rows == read_table(out / "table1.json")


def test_predict_with_the_baseline_file_on_audio_files(experiment, tmp_path, capsys):
    out, sim, baseline = experiment
    params = out / "baseline_contrastive.json"
    predictions_path = tmp_path / "pred.jsonl"
    assert main(["predict", "--baseline", str(params), "--annotations",
                 str(sim / "annotations.jsonl"), "--audio-dir", str(sim / "audio"),
                 "--out", str(predictions_path)]) == 0
    annotations = read_annotations(sim / "annotations.jsonl")
    predictions = read_predictions(predictions_path)
    assert [p.qid for p in predictions] == [a.qid for a in annotations]
    assert all(1 <= len(p.pred_relevant_windows) <= 10 and p.is_ranked for p in predictions)
    # the same moments as from the cached features: only 16-bit WAV rounding differs
    from_store = {p.qid: p.pred_relevant_windows for p in baseline.predictions}
    same = [np.allclose(p.pred_relevant_windows[:1, :2], from_store[p.qid][:1, :2])
            for p in predictions]
    assert np.mean(same) >= 0.8
    retriever = BaselineRetriever.from_params(params)
    assert retriever.params == baseline.tuning.params


def test_predict_refuses_both_or_neither_model(experiment, tmp_path, capsys):
    _, sim, _ = experiment
    common = ["--annotations", str(sim / "annotations.jsonl"), "--audio-dir",
              str(sim / "audio"), "--out", str(tmp_path / "p.jsonl")]
    with pytest.raises(SystemExit):
        main(["predict", *common])
    with pytest.raises(SystemExit):
        main(["predict", "--checkpoint", "a.ckpt", "--baseline", "b.json", *common])
    assert "one of the arguments --checkpoint --baseline is required" in \
        capsys.readouterr().err


def test_a_missing_encoder_file_is_named(experiment, tmp_path, capsys):
    out, sim, _ = experiment
    params = json.loads((out / "baseline_contrastive.json").read_text())
    lonely = tmp_path / "baseline_contrastive.json"
    lonely.write_text(json.dumps(params))
    assert main(["predict", "--baseline", str(lonely), "--annotations",
                 str(sim / "annotations.jsonl"), "--audio-dir", str(sim / "audio"),
                 "--out", str(tmp_path / "p.jsonl")]) == 2
    assert "baseline_contrastive_audio_encoder.pt: no such checkpoint file" in \
        capsys.readouterr().err
    assert not (tmp_path / "p.jsonl").exists()
