"""Training loop: resumable runs, best checkpoint, history files, DDP through torchrun."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from tiny_moments import (
    ddp_training_config,
    tiny_model_config,
    tiny_split,
    train_for_ddp_test,
)

from amr_lib.model.am_detr import AMDETR
from amr_lib.train import (
    BEST,
    LAST,
    TrainingConfig,
    best_row,
    epoch_batches,
    epoch_lr,
    evaluate_model,
    load_am_detr,
    train_am_detr,
)

CONFIG = TrainingConfig(epochs=3, batch_size=8, lr=1e-3, device="cpu")


@pytest.fixture(scope="module")
def splits():
    return tiny_split(40, seed=0), tiny_split(12, seed=1)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def test_interrupted_run_resumes_to_the_same_weights(tmp_path, splits):
    train, valid = splits
    train_am_detr(tiny_model_config(), train, valid, CONFIG, tmp_path / "whole",
                  progress=False)
    train_am_detr(tiny_model_config(), train, valid, CONFIG, tmp_path / "parts",
                  stop_after=1, progress=False)
    assert json.loads((tmp_path / "parts" / "history.json").read_text())[-1]["epoch"] == 1
    train_am_detr(tiny_model_config(), train, valid, CONFIG, tmp_path / "parts",
                  progress=False)
    whole, parts = _weights(tmp_path / "whole" / LAST), _weights(tmp_path / "parts" / LAST)
    assert whole.keys() == parts.keys()
    for name in whole:   # dropout is on: equal only if the RNG state was restored too
        assert torch.equal(whole[name], parts[name]), name


def test_run_writes_history_and_keeps_the_best_epoch(tmp_path, splits):
    train, valid = splits
    result = train_am_detr(tiny_model_config(), train, valid, CONFIG, tmp_path,
                           progress=False)
    history = json.loads((tmp_path / "history.json").read_text())
    with (tmp_path / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    assert {"loss_total", "loss_span", "loss_giou", "loss_label", "loss_saliency",
            "loss_span_0", "valid_mAP", "valid_R1@0.7"} <= set(history[0])
    best = max(history, key=lambda row: row["valid_mAP"])
    assert result.best_epoch == best["epoch"]
    checkpoint = torch.load(tmp_path / BEST, weights_only=True)
    assert checkpoint["epoch"] == best["epoch"]
    assert checkpoint["train_frames"] == train.audio.shape[1]
    # the best checkpoint reproduces the validation score it was chosen for
    reloaded = evaluate_model(load_am_detr(tmp_path / BEST), valid, device="cpu")
    assert reloaded["mAP"] == pytest.approx(best["valid_mAP"], abs=1e-9)


def test_seeded_runs_repeat_exactly(tmp_path, splits):
    train, valid = splits
    config = TrainingConfig(epochs=1, batch_size=8, lr=1e-3, device="cpu")
    for name in ("a", "b"):
        train_am_detr(tiny_model_config(), train, valid, config, tmp_path / name,
                      progress=False)
    a, b = _weights(tmp_path / "a" / LAST), _weights(tmp_path / "b" / LAST)
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_patience_stops_a_run_that_no_longer_improves(tmp_path, splits):
    train, valid = splits
    # lr 0: the weights never move, so validation mAP never beats epoch 1
    frozen = TrainingConfig(epochs=10, batch_size=8, lr=0.0, device="cpu", patience=2)
    result = train_am_detr(tiny_model_config(), train, valid, frozen, tmp_path,
                           progress=False)
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert result.best_epoch == 1
    # resuming a finished run trains nothing more
    again = train_am_detr(tiny_model_config(), train, valid, frozen, tmp_path,
                          progress=False)
    assert len(again.history) == 3
    # more patience, a longer wait on the same flat curve
    patient = TrainingConfig(epochs=10, batch_size=8, lr=0.0, device="cpu", patience=5)
    waited = train_am_detr(tiny_model_config(), train, valid, patient, tmp_path / "patient",
                           progress=False)
    assert [row["epoch"] for row in waited.history] == [1, 2, 3, 4, 5, 6]
    assert "patience" not in CONFIG.to_json() and frozen.to_json()["patience"] == 2
    with pytest.raises(ValueError, match="patience"):
        TrainingConfig(patience=0)


def test_cosine_schedule_by_hand():
    config = TrainingConfig(epochs=4, lr=1e-3, schedule="cosine")
    # a half cosine over the cap: 1, (1 + cos(pi/4)) / 2, 1/2, (1 + cos(3 pi/4)) / 2
    assert [epoch_lr(e, config) for e in (1, 2, 3, 4)] == pytest.approx(
        [1e-3, 0.853553e-3, 0.5e-3, 0.146447e-3], rel=1e-5)
    assert epoch_lr(3, TrainingConfig(lr=1e-3)) == 1e-3          # constant by default
    assert "schedule" not in CONFIG.to_json() and config.to_json()["schedule"] == "cosine"
    with pytest.raises(ValueError, match="schedule"):
        TrainingConfig(schedule="step")


def test_min_delta_keeps_the_epoch_that_last_gained_more_than_it():
    history = [{"epoch": e, "valid_mAP": v} for e, v in
               enumerate([10.0, 20.0, 20.3, 19.0, 21.0, 21.4, 21.4], start=1)]
    assert best_row(history)["epoch"] == 6                     # the first of the highest
    assert best_row(history, 0.5)["epoch"] == 5                # 20.3 and 21.4: within 0.5
    assert best_row(history, 5.0)["epoch"] == 2
    assert "min_delta" not in CONFIG.to_json()
    with pytest.raises(ValueError, match="min_delta"):
        TrainingConfig(min_delta=-1.0)


def test_a_run_follows_its_schedule_and_patience_counts_from_the_kept_epoch(tmp_path, splits):
    train, valid = splits
    config = TrainingConfig(epochs=4, batch_size=8, lr=1e-3, device="cpu",
                            schedule="cosine", min_delta=1000.0, patience=2)
    result = train_am_detr(tiny_model_config(), train, valid, config, tmp_path,
                           progress=False)
    # no epoch gains 1000 points: epoch 1 is kept and the run stops two epochs later
    assert result.best_epoch == 1 and len(result.history) == 3
    assert [row["lr"] for row in result.history] == pytest.approx(
        [epoch_lr(e, config) for e in (1, 2, 3)])
    # resumed from an interruption: the same kept epoch, stop and rates
    train_am_detr(tiny_model_config(), train, valid, config, tmp_path / "parts",
                  stop_after=1, progress=False)
    resumed = train_am_detr(tiny_model_config(), train, valid, config, tmp_path / "parts",
                            progress=False)
    assert resumed.best_epoch == 1 and len(resumed.history) == 3
    assert [row["lr"] for row in resumed.history] == [row["lr"] for row in result.history]
    # the half cosine spans the cap: resuming with another cap would change every rate
    with pytest.raises(ValueError, match="another model or training config"):
        train_am_detr(tiny_model_config(), train, valid, replace(config, epochs=8),
                      tmp_path / "parts", progress=False)


def test_a_run_from_before_the_lr_column_resumes(tmp_path, splits):
    train, valid = splits
    train_am_detr(tiny_model_config(), train, valid, CONFIG, tmp_path, stop_after=1,
                  progress=False)
    state = torch.load(tmp_path / LAST, weights_only=False)
    state["history"] = [{k: v for k, v in row.items() if k != "lr"}
                        for row in state["history"]]
    torch.save(state, tmp_path / LAST)
    result = train_am_detr(tiny_model_config(), train, valid, CONFIG, tmp_path,
                           progress=False)
    assert len(result.history) == 3 and "lr" not in result.history[0]
    with (tmp_path / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["lr"] == "" and float(rows[-1]["lr"]) == CONFIG.lr


def test_resuming_with_another_config_is_refused(tmp_path, splits):
    train, valid = splits
    train_am_detr(tiny_model_config(), train, valid, CONFIG, tmp_path, stop_after=1,
                  progress=False)
    other = TrainingConfig(epochs=3, batch_size=8, lr=5e-4, device="cpu")
    with pytest.raises(ValueError, match="another model or training config"):
        train_am_detr(tiny_model_config(), train, valid, other, tmp_path, progress=False)


def test_a_damaged_checkpoint_is_named(tmp_path):
    damaged = tmp_path / BEST
    damaged.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=str(damaged)):
        load_am_detr(damaged)


def test_learns_the_tiny_problem_far_beyond_an_untrained_model(tmp_path):
    train, valid = tiny_split(80, seed=0), tiny_split(24, seed=1)
    config = TrainingConfig(epochs=40, batch_size=8, lr=2e-3, device="cpu")
    result = train_am_detr(tiny_model_config(dropout=0.0), train, valid, config, tmp_path,
                           progress=False)
    torch.manual_seed(1)
    untrained = evaluate_model(AMDETR(tiny_model_config(dropout=0.0)), valid)
    assert result.best_metrics["R1@0.5"] >= 50
    # +15 points: the float kernels differ between CPUs (AVX-512 on an AMD EPYC gave 46.60
    # against 26.74 untrained, +19.9; other machines gave more than +20)
    assert result.best_metrics["mAP"] > untrained["mAP"] + 15


def test_epoch_batches_cover_every_row_once_per_epoch():
    batches = list(epoch_batches(21, 8, seed=3, epoch=2))
    rows = torch.cat(batches).sort().values
    assert torch.equal(rows, torch.arange(21))
    assert [len(b) for b in batches] == [8, 8, 5]
    assert not torch.equal(torch.cat(batches), torch.cat(list(epoch_batches(21, 8, 3, 3))))
    # a trailing batch of one query is dropped: it has no other text to roll
    assert [len(b) for b in epoch_batches(17, 8, 0, 1)] == [8, 8]


def test_two_process_ddp_equals_one_process_with_the_same_global_batch(tmp_path):
    """torchrun + gloo, 2 processes x 4 queries = 1 process x 8 queries."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", str(Path(__file__).parent / "tiny_moments.py"),
               str(tmp_path / "ddp")]
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    train_for_ddp_test(str(tmp_path / "single"))
    ddp, single = _weights(tmp_path / "ddp" / LAST), _weights(tmp_path / "single" / LAST)
    assert len(json.loads((tmp_path / "ddp" / "history.json").read_text())) == \
        ddp_training_config().epochs
    for name in single:
        torch.testing.assert_close(ddp[name], single[name], atol=1e-4, rtol=1e-3)
    # and the training did move the weights: the comparison is not between two inits
    torch.manual_seed(0)
    start = AMDETR(tiny_model_config(dropout=0.0)).state_dict()
    assert any(not torch.allclose(start[name], single[name]) for name in single)
