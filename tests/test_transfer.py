"""Sim-to-real transfer (amr_lib.experiments.transfer), paraphrased queries and sound classes."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest
from conftest import TINY_EXPERIMENT, use_tiny_experiment

from amr_lib import profiles
from amr_lib.cli import main
from amr_lib.corpora import CorpusSpec, make_clip_corpus
from amr_lib.corpora.base import CorpusError
from amr_lib.corpora.esc50 import CAPTION_PHRASINGS
from amr_lib.experiments.paraphrases import PARAPHRASES, paraphrase_annotations
from amr_lib.experiments.transfer import (
    MIX,
    PREDICTION_FILE,
    domain_test,
    length_quantiles,
    prediction_file,
    recall_by_class,
    run_transfer,
    spread,
    top_lengths,
    true_lengths,
)
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.runs.chain import with_window


def annotation(qid, windows, vid="v"):
    return MomentAnnotation(qid, f"query {qid}", 30.0, vid, np.array(windows, dtype=float))


def prediction(qid, rows, vid="v"):
    return MomentPrediction(qid, f"query {qid}", vid, np.array(rows, dtype=float))


def test_every_esc50_class_has_one_paraphrase_that_no_template_uses():
    assert list(PARAPHRASES) == list(CAPTION_PHRASINGS)
    for label, paraphrase in PARAPHRASES.items():
        assert paraphrase not in CAPTION_PHRASINGS[label], label
    assert len(set(PARAPHRASES.values())) == len(PARAPHRASES)


def test_paraphrased_annotations_keep_everything_but_the_words():
    original = [annotation("1", [[2, 5]]), annotation("2", [[7, 9], [20, 22]], vid="w")]
    changed = paraphrase_annotations(original, {"1": "dog", "2": "siren"})
    assert [a.query for a in changed] == [PARAPHRASES["dog"], PARAPHRASES["siren"]]
    for before, after in zip(original, changed, strict=True):
        assert (after.qid, after.vid, after.duration) == (before.qid, before.vid,
                                                            before.duration)
        np.testing.assert_array_equal(after.relevant_windows, before.relevant_windows)
    with pytest.raises(ValueError, match="no paraphrase for class"):
        paraphrase_annotations(original, {"1": "dog", "2": "dog_bark"})


def test_recall_by_class_by_hand():
    # dog: q1 hit (IoU 1), q2 miss (IoU 0.25); siren: q3 hit only through its 2nd window
    annotations = [annotation("1", [[0, 4]]), annotation("2", [[0, 4]]),
                   annotation("3", [[0, 2], [10, 14]])]
    predictions = [prediction("1", [[0, 4, 0.9]]),
                   prediction("2", [[0, 1, 0.9], [0, 4, 0.1]]),
                   prediction("3", [[10, 13, 0.8]])]
    classes = {"1": "dog", "2": "dog", "3": "siren"}
    assert recall_by_class(annotations, predictions, classes) == {
        "dog": {"R1": 50.0, "queries": 2}, "siren": {"R1": 100.0, "queries": 1}}
    # at IoU 0.9 the siren's 3 s of 4 no longer count
    assert recall_by_class(annotations, predictions, classes, iou=0.9)["siren"]["R1"] == 0


def test_top_lengths_take_the_best_scored_moment_not_the_first_row():
    predictions = [prediction("1", [[0, 2, 0.1], [5, 15, 0.7]]), prediction("2", [[3, 4, 1]])]
    np.testing.assert_allclose(top_lengths(predictions), [10.0, 1.0])
    np.testing.assert_allclose(true_lengths([annotation("1", [[0, 2], [5, 8]])]), [2, 3])
    # 11 lengths 0..10 s: the percentiles are the values themselves
    assert length_quantiles(np.arange(11.0)) == [1.0, 2.5, 5.0, 7.5, 9.0]


def test_spread_groups_seeds_with_mean_and_sample_std():
    rows = [{"method": "m", "seed": s, "R1@0.5": v} for s, v in enumerate([10, 20, 30])]
    rows.append({"method": "b", "seed": None, "R1@0.5": 7})
    table = spread(rows, ("method",), ("R1@0.5",))
    assert table == [{"method": "m", "n_seeds": 3, "R1@0.5": 20.0, "R1@0.5_std": 10.0},
                     {"method": "b", "n_seeds": 1, "R1@0.5": 7.0, "R1@0.5_std": 0.0}]


def test_synthetic_clips_know_their_class_and_unlabelled_corpora_say_so(data_root):
    synthetic = make_clip_corpus(CorpusSpec("synthetic"))
    clip = synthetic.clips("test")[0].clip_id
    assert synthetic.category(clip) == clip.rsplit("-", 1)[0]
    assert synthetic.category(clip) in synthetic.classes
    with pytest.raises(CorpusError, match="no clip 'violin-0001'"):
        synthetic.category("violin-0001")
    clotho = make_clip_corpus(CorpusSpec("clotho", str(data_root / "clotho_mini")))
    with pytest.raises(CorpusError, match="no sound classes"):
        clotho.category(clotho.clips()[0].clip_id)


def test_profiles_with_different_windows_are_refused():
    quick = profiles.Profile.quick()
    with pytest.raises(ValueError, match="different feature windows"):
        domain_test(quick, with_window(quick, 4.0))


@pytest.fixture(scope="module")
def study(tmp_path_factory, tiny_experiment_cache, data_root):
    """The whole study on tiny quick and real-sounds profiles, two seeds, through the CLI."""
    tiny_real = replace(profiles.Profile.real_sounds(),
                        retrieval=replace(TINY_EXPERIMENT.retrieval, train_segments=16))
    tiny = {"quick": TINY_EXPERIMENT, "real-sounds": tiny_real}
    out = tmp_path_factory.mktemp("transfer")
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_experiment(patch, tiny_experiment_cache)
        patch.setattr(profiles, "load_profile", lambda name=None: tiny[name])
        assert main(["experiment", "transfer", "--seeds", "2", "--out", str(out),
                     "--device", "cpu"]) == 0
        yield tiny, json.loads((out / "transfer.json").read_text()), out


def test_the_study_crosses_every_model_with_every_test_split(study):
    tiny, result, out = study
    cells = result["cells"]
    assert {r["tested_on"] for r in result["lengths"]} == set(tiny)
    assert all(c["top1_s"] == sorted(c["top1_s"]) for c in cells)
    keys = {(c["method"], c["trained_on"], c["tested_on"], c["queries"]) for c in cells}
    assert keys == {(method, trained, tested, "captions") for method in ("baseline", "am-detr")
                    for trained in tiny for tested in tiny} | {
        ("baseline", "real-sounds", "real-sounds", "paraphrases"),
        ("am-detr", "real-sounds", "real-sounds", "paraphrases")} | {
        ("am-detr", MIX, tested, "captions") for tested in tiny}
    assert sorted(c["seed"] for c in cells if c["method"] == "am-detr"
                  and c["trained_on"] == c["tested_on"] == "quick") == [0, 1]
    assert all(c["seed"] is None for c in cells if c["method"] == "baseline")
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["command"].startswith("amr experiment transfer --seeds 2")


def test_a_model_on_its_own_test_split_matches_its_training_run(study):
    # the cross-domain path re-encodes the queries; on the model's own split it must give
    # exactly the run's own test metrics
    from amr_lib.runs.chain import train_profile

    tiny, result, _ = study
    run = train_profile(tiny["quick"], "cpu", progress=False, seed=1)
    cell = next(c for c in result["cells"] if c["method"] == "am-detr" and c["seed"] == 1
                and c["trained_on"] == c["tested_on"] == "quick")
    assert cell["mAP"] == run.test_metrics["mAP"]
    assert cell["R1@0.5"] == run.test_metrics["R1@0.5"]


def test_the_mixed_model_trains_on_both_profiles_and_tests_on_each(study):
    from amr_lib.runs.chain import train_profile

    tiny, result, _ = study
    run = train_profile(tiny["real-sounds"], "cpu", progress=False, seed=0,
                        mix=[tiny["quick"]])
    own = train_profile(tiny["real-sounds"], "cpu", progress=False, seed=0)
    assert run.run_dir != own.run_dir
    queries = run.summary["queries"]
    assert queries["train"] == own.summary["queries"]["train"] + train_profile(
        tiny["quick"], "cpu", progress=False).summary["queries"]["train"]
    assert queries["test"] == own.summary["queries"]["test"]     # its own test only
    assert run.summary["profile"] == "real-sounds+quick"
    cell = next(c for c in result["cells"] if c["trained_on"] == MIX and c["seed"] == 0
                and c["tested_on"] == "real-sounds")
    assert cell["mAP"] == run.test_metrics["mAP"]


def test_classes_are_esc50_categories_with_counts_that_add_up(study):
    tiny, result, _ = study
    rows = [r for r in result["classes"] if r["method"] == "am-detr" and r["seed"] == 0
            and r["trained_on"] == "quick" and r["queries"] == "captions"]
    assert {r["class"] for r in rows} <= set(CAPTION_PHRASINGS)
    from amr_lib.runs.chain import simulated

    assert sum(r["n"] for r in rows) == len(simulated(tiny["real-sounds"], "test").annotations)
    assert all(0 <= r["R1@0.5"] <= 100 for r in rows)


def test_each_trained_model_is_a_point_the_study_resumes_from(study, tiny_experiment_cache):
    from amr_lib.experiments import transfer
    from amr_lib.lighthouse_jsonl import read_predictions

    tiny, result, out = study
    assert sorted(p.name for p in (out / "points").glob("*.json")) == [
        f"am-detr_{trained}_seed{seed}.json" for trained in (MIX, "quick", "real-sounds")
        for seed in (0, 1)]

    def untrained(*args, **kwargs):
        raise AssertionError("a model with a point was trained again")

    with pytest.MonkeyPatch.context() as patch:
        use_tiny_experiment(patch, tiny_experiment_cache)
        patch.setattr(transfer, "train_profile", untrained)
        again = run_transfer(2, "cpu", profiles=tiny, points=out / "points")
    assert again.rows()["cells"] == result["cells"]     # same sets, same order, same scores
    key = ("am-detr", MIX, "quick", "captions", 1)
    written = read_predictions(out / "predictions" / prediction_file(key))
    assert [p.to_json() for p in again.predictions[key]] == [p.to_json() for p in written]
    # a point made under another definition, or answering other queries, is made again
    stale = out / "points" / "am-detr_quick_seed0.json"
    made = json.loads(stale.read_text())
    name = prediction_file(("am-detr", "quick", "quick", "captions", 0))
    other_query = [{**made["predictions"][name][0], "query": "another sound"},
                   *made["predictions"][name][1:]]
    try:
        for changed in ({**made, "profiles": {**made["profiles"], "quick": "0" * 16}},
                        {**made, "predictions": {**made["predictions"], name: other_query}}):
            stale.write_text(json.dumps(changed))
            with pytest.MonkeyPatch.context() as patch:
                use_tiny_experiment(patch, tiny_experiment_cache)
                patch.setattr(transfer, "train_profile", untrained)
                with pytest.raises(AssertionError, match="trained again"):
                    run_transfer(1, "cpu", profiles=tiny, trained_on=["quick"], mix=False,
                                 points=out / "points")
    finally:
        stale.write_text(json.dumps(made))


def test_prediction_file_names_round_trip():
    for key in [("am-detr", "real-sounds", "quick", "captions", 0),
                ("baseline", "quick", "real-sounds", "paraphrases", None),
                ("am-detr", MIX, "real-sounds", "captions", 12)]:
        found = PREDICTION_FILE.fullmatch(prediction_file(key)).groupdict()
        seed = None if found["seed"] is None else int(found["seed"])
        assert (found["method"], found["trained"], found["tested"], found["wording"],
                seed) == key


def test_written_predictions_read_back_into_a_study_of_one_profile_give_the_same_rows(
        study, tiny_experiment_cache, tmp_path):
    """What the book does: the quick models run live, the real-sounds model's committed
    predictions are read back; together they give the full run's rows for those sets."""
    tiny, result, out = study
    folder = out / "predictions"
    names = {p.name for p in folder.glob("*.jsonl")}
    assert "am-detr_real-sounds_on_real-sounds_paraphrases_seed1.jsonl" in names
    assert "baseline_quick_on_real-sounds_captions.jsonl" in names
    assert len(names) == len(result["cells"])
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_experiment(patch, tiny_experiment_cache)
        with pytest.raises(ValueError, match="mix needs 'real-sounds'"):
            run_transfer(1, "cpu", profiles=tiny, trained_on=["quick"])
        with pytest.raises(ValueError, match="unknown profiles"):
            run_transfer(1, "cpu", profiles=tiny, trained_on=["paper"], mix=False)
        quick_only = run_transfer(1, "cpu", profiles=tiny, trained_on=["quick"], mix=False)
    assert {key[1] for key in quick_only.predictions} == {"quick"}
    # a file that answers other queries (one line short) is refused
    short = tmp_path / "short"
    short.mkdir()
    name = "am-detr_real-sounds_on_real-sounds_captions_seed0.jsonl"
    lines = (folder / name).read_text().splitlines()
    (short / name).write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ValueError, match=f"{re.escape(name)}: its qids are not those"):
        quick_only.read_predictions(short)
    real_seed0 = tmp_path / "real"
    real_seed0.mkdir()
    for name in names:
        if name.startswith("am-detr_real-sounds_") and name.endswith("_seed0.jsonl"):
            (real_seed0 / name).write_text((folder / name).read_text())
    added = quick_only.read_predictions(real_seed0)
    assert sorted(added) == [("am-detr", "real-sounds", tested, wording, 0)
                             for tested, wording in [("quick", "captions"),
                                                     ("real-sounds", "captions"),
                                                     ("real-sounds", "paraphrases")]]
    full = {tuple(c[k] for k in ("method", "trained_on", "tested_on", "queries", "seed")): c
            for c in result["cells"]}
    for cell in quick_only.rows()["cells"]:
        if cell["method"] == "am-detr" and cell["seed"] == 0:
            assert cell == full[cell["method"], cell["trained_on"], cell["tested_on"],
                                cell["queries"], 0]


def test_prediction_folders_that_do_not_fit_are_refused_naming_the_file(tmp_path):
    from amr_lib.experiments.transfer import TransferStudy

    empty = TransferStudy({}, {}, {}, {})
    (tmp_path / "notes.jsonl").write_text("")
    with pytest.raises(ValueError, match=r"notes\.jsonl: not a prediction file name"):
        empty.read_predictions(tmp_path)
    (tmp_path / "notes.jsonl").unlink()
    (tmp_path / "am-detr_quick_on_real-sounds_captions_seed0.jsonl").write_text("")
    with pytest.raises(KeyError, match="no test split of 'real-sounds'"):
        empty.read_predictions(tmp_path)
