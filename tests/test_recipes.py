"""The beyond-the-paper recipes: the paper's stays as it was, and each switch does what its
docstring says (added absent pairs, the presence head and loss, ignored absent moments,
the other events, checked negatives)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from test_classes import split as class_split

from amr_lib.model.am_detr import AMDETR, AMDETRConfig
from amr_lib.model.criterion import LossConfig, SetCriterion
from amr_lib.model.recipes import RECIPES, recipe
from amr_lib.train import TrainingConfig, epoch_pairs


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_the_paper_recipe_changes_nothing_and_the_others_are_keyed_on_their_switches():
    paper = recipe("paper")
    assert paper.model(AMDETRConfig()) == AMDETRConfig()
    assert paper.loss(LossConfig()) == LossConfig() and paper.training() == {}
    # the JSON that run keys hash holds no beyond-the-paper field for the paper's configs
    assert not {"presence", "other_events", "absent_moments"} & set(LossConfig().to_json())
    training = TrainingConfig().to_json()
    assert not {"absent_by_class", "hard_share", "absent_added"} & set(training)
    assert "presence_head" not in AMDETRConfig().to_json()
    aware = recipe("aware")
    assert aware.model(AMDETRConfig()).presence_head and aware.needs_classes
    assert aware.loss(LossConfig()).to_json()["absent_moments"] == "ignore"
    config = replace(TrainingConfig(), loss=aware.loss(LossConfig()), **aware.training(0.5))
    assert TrainingConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert {name: RECIPES[name].needs_classes for name in RECIPES} == {
        "paper": False, "presence": False, "class-aware": True, "in-recording": True,
        "aware": True}
    with pytest.raises(ValueError, match="unknown recipe 'fast'"):
        recipe("fast")


def test_added_absent_pairs_are_the_share_of_the_grown_batch_and_never_a_held_class():
    moments = class_split()
    config = TrainingConfig(batch_size=4, absent_share=1 / 3, absent_added=True,
                            absent_by_class=True, hard_share=0.5)
    recording = moments.recording.numpy()
    for epoch in (1, 2, 3):
        for rows, texts in epoch_pairs(moments, config, epoch):
            present = rows == texts
            # 4 present pairs in their places, then 4 * (1/3) / (2/3) = 2 absent ones
            assert present.tolist() == [True] * 4 + [False] * 2
            for row, text in zip(rows[~present].tolist(), texts[~present].tolist(),
                                 strict=True):
                assert moments.classes[text] not in moments.not_absent(recording[row])
    with pytest.raises(ValueError, match="added absent pairs need"):
        TrainingConfig(absent_share=0.6, absent_added=True)


def tiny(presence_head: bool = False, seed: int = 0) -> AMDETR:
    torch.manual_seed(seed)
    return AMDETR(AMDETRConfig(audio_dim=4, text_dim=8, hidden_dim=16, heads=2, ffn_dim=16,
                               num_queries=3, presence_head=presence_head)).train()


def test_the_presence_head_is_built_last_and_says_whether_the_sound_is_there():
    with_head, without = tiny(True).state_dict(), tiny(False).state_dict()
    assert set(with_head) - set(without) == {"presence.weight", "presence.bias"}
    assert all(torch.equal(with_head[name], value) for name, value in without.items())
    moments = class_split()
    batch = moments.batch(torch.arange(4), torch.tensor([0, 1, 7, 3]))
    out = tiny(True)(**batch.model_inputs(negatives=True))
    assert out["presence_logits"].shape == (4,)
    assert batch.targets.present.tolist() == [True, True, False, True]
    losses = SetCriterion(LossConfig(presence=1.0))(out, batch.targets)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        out["presence_logits"], torch.tensor([1.0, 1.0, 0.0, 1.0]))
    torch.testing.assert_close(losses["loss_presence"], expected)
    with pytest.raises(ValueError, match="presence head"):
        SetCriterion(LossConfig(presence=1.0))(tiny(False)(**batch.model_inputs(False)),
                                              batch.targets)


def test_ignored_absent_pairs_leave_the_moment_and_saliency_losses_alone():
    moments = class_split()
    model = tiny(True).eval()
    criterion = SetCriterion(LossConfig(presence=1.0, absent_moments="ignore"))
    two = moments.batch(torch.tensor([0, 2]))
    three = moments.batch(torch.tensor([0, 2, 0]), torch.tensor([0, 2, 7]))
    alone = criterion(model(**two.model_inputs(False)), two.targets)
    added = criterion(model(**three.model_inputs(False)), three.targets)
    for name, value in alone.items():
        if name != "loss_presence":
            torch.testing.assert_close(added[name], value, msg=name)


def test_other_events_are_hard_negatives_and_checked_negatives_are_skipped():
    moments = class_split()
    # recording a holds a dog (0) and a bell (1), both 2-5 s: move the bell to 10-13 s
    saliency = moments.saliency.clone()
    saliency[1] = 0
    saliency[1, 10:13] = 1
    spans = moments.spans_cxw.clone()
    spans[1, 0] = torch.tensor([11.5 / 30, 3 / 30])
    moments = replace(moments, saliency=saliency, spans_cxw=spans)
    batch = moments.batch(torch.arange(4), classes=True)
    targets = batch.targets
    assert targets.other[0].nonzero().squeeze(1).tolist() == [10, 11, 12]
    torch.testing.assert_close(targets.other_spans_cxw[0], spans[1, :1])
    # pair i reads pair i + 1's text: pair 0 (recording a) a bell it holds, pair 2
    # (recording b) the rain it holds: neither is a negative
    assert targets.negative_ok.tolist() == [False, True, False, True]
    out = tiny()(**batch.model_inputs(negatives=True))
    with_other = SetCriterion(LossConfig(other_events=1.0))(out, targets)
    assert with_other["loss_other"] > 0
    # a saliency that ranks the bell above the dog costs more than the reverse
    scores = torch.zeros(4, 30)
    scores[0, 10:13] = 1.0
    flipped = {**out, "saliency_scores": scores}
    fixed = {**out, "saliency_scores": -scores}
    criterion = SetCriterion(LossConfig(other_events=1.0))
    assert criterion(flipped, targets)["loss_other"] > criterion(fixed, targets)["loss_other"]
    # the unchecked negative term counts pair 0's frames; the checked one leaves them out
    plain = SetCriterion().saliency_loss(out, replace(targets, negative_ok=None))
    checked = SetCriterion().saliency_loss(out, targets)
    assert not torch.allclose(plain, checked)


def test_a_prediction_on_another_event_is_background_at_full_weight():
    from amr_lib.model.criterion import on_other_event

    own = [torch.tensor([[0.2, 0.1]])]                         # 0.15-0.25
    other = [torch.tensor([[0.7, 0.1]])]                       # 0.65-0.75
    spans = torch.tensor([[[0.2, 0.1], [0.7, 0.12], [0.3, 0.5]]])
    # the second lies on the other event; the third overlaps its own moment only
    assert on_other_event(spans, own, other).tolist() == [[False, True, False]]
    # an absent pair has no moment of its own: anything on the other event counts
    assert on_other_event(spans, [torch.zeros(0, 2)], other).tolist() == [[False, True, False]]


def test_absent_draws_by_class_need_classes():
    moments = class_split()
    plain = replace(moments, classes=())
    config = TrainingConfig(absent_share=0.25, absent_by_class=True)
    with pytest.raises(ValueError, match="need the split's classes"):
        next(epoch_pairs(plain, config, 1))
    with pytest.raises(ValueError, match="class targets need"):
        plain.batch(torch.arange(2), classes=True)
    rng = np.random.default_rng(0)
    assert moments.absent_texts(torch.arange(8), 0.0, rng, by_class=True).tolist() == list(
        range(8))


def test_a_tiny_model_with_a_presence_head_learns_when_a_sound_is_absent(tmp_path):
    from tiny_moments import tiny_model_config, tiny_split

    from amr_lib.presence import calibrate_probability
    from amr_lib.train import train_am_detr

    def with_classes(split):
        return split.with_classes([a.query for a in split.annotations])

    train, valid = with_classes(tiny_split(80, seed=0)), with_classes(tiny_split(24, seed=1))
    aware = recipe("presence")
    config = replace(TrainingConfig(epochs=40, batch_size=8, lr=2e-3, device="cpu"),
                     loss=aware.loss(LossConfig()),
                     **{**aware.training(0.3), "absent_by_class": True})
    result = train_am_detr(aware.model(tiny_model_config(dropout=0.0)), train, valid, config,
                           tmp_path, progress=False)
    assert result.best_metrics["R1@0.5"] >= 50                 # still finds moments
    calibration = calibrate_probability(result.model, valid, seed=3, by_class=True)
    assert calibration.signals == ("head", "saliency")
    assert calibration.valid_auroc > 0.9 and 0 < calibration.threshold < 1


def test_amr_train_with_a_recipe_stores_a_calibration_the_retriever_uses(
        tmp_path, tiny_experiment_cache, monkeypatch, capsys):
    from conftest import TINY_EXPERIMENT, use_tiny_experiment

    from amr_lib.cli import main
    from amr_lib.presence import stored_calibration
    from amr_lib.retrieve import Retriever

    use_tiny_experiment(monkeypatch, tiny_experiment_cache)
    assert main(["train", "--profile", "quick", "--recipe", "aware", "--out",
                 str(tmp_path / "aware"), "--device", "cpu"]) == 0
    said = capsys.readouterr().out
    assert "calibrated presence probability (head + saliency): test AUROC" in said
    metrics = json.loads((tmp_path / "aware" / "metrics.json").read_text())
    calibrated = metrics["presence"]["calibrated"]
    assert 0 <= calibrated["test_auroc"] <= 1 and calibrated["signals"] == ["head",
                                                                             "saliency"]
    assert metrics["model"]["presence_head"] is True
    calibration = stored_calibration(tmp_path / "aware" / "best.ckpt")
    assert calibration.threshold == calibrated["threshold"]
    assert Retriever.from_checkpoint(tmp_path / "aware" / "best.ckpt").calibration == (
        calibration)
    from amr_lib.retrieve import CheckpointInfo

    assert CheckpointInfo.read(tmp_path / "aware" / "best.ckpt").recipe == "aware"
    # a corpus of captions without classes is refused before anything is simulated
    from amr_lib.config import data_root
    from amr_lib.corpora import CorpusError, CorpusSpec
    from amr_lib.runs.chain import train_profile

    root = data_root() / "clotho_mini"
    clotho = replace(TINY_EXPERIMENT, clip_corpus=CorpusSpec("clotho", str(root)))
    with pytest.raises(CorpusError, match="has captions but no sound classes"):
        train_profile(clotho, "cpu", recipe="class-aware")
