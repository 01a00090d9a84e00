"""Chapter 7's live part, examples chosen by rule, tables, figures and quoted phrases, on
hand-made inputs (no training, no real data)."""

from __future__ import annotations

from types import MethodType, SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from amr_lib.book import transfer as book
from amr_lib.book.transfer import MIX, QUICK, REAL
from amr_lib.experiments.controls import top_ious
from amr_lib.experiments.paraphrases import PARAPHRASES
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction, write_annotations
from amr_lib.simulation.clotho_moment import SimulatedSplit


def annotation(qid, start, end, vid="a", duration=30.0, more=()):
    windows = np.array([[start, end], *more], dtype=float)
    return MomentAnnotation(qid, f"query {qid}", duration, vid, windows)


def prediction(qid, *windows):
    return MomentPrediction(qid, f"query {qid}", "a", np.array(windows, dtype=float))


def cell(method="am-detr", trained=QUICK, tested=REAL, queries="captions", seed=0,
         value=50.0, **more):
    metrics = {m: value for m in ("R1@0.5", "R1@0.7", "mAP@0.5", "mAP@0.75", "mAP")}
    return {"method": method, "trained_on": trained, "tested_on": tested,
            "queries": queries, "seed": seed, **metrics, **more}


def spread_row(value=50.0, std=1.0, n_seeds=3, **names):
    row = cell(**names, value=value)
    row.pop("seed")
    row.update({f"{m}_std": std for m in ("R1@0.5", "R1@0.7", "mAP@0.5", "mAP@0.75", "mAP")})
    return {**row, "n_seeds": n_seeds}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def fake_live(predictions=None, from_files=()):
    """A LiveTransfer over a study with one real-sounds test split of two recordings."""
    recipes = [SimpleNamespace(vid="a", level=1.0), SimpleNamespace(vid="b", level=2.0)]
    renderer = SimpleNamespace(render=lambda recipe: np.full(4, recipe.level, np.float32))
    simulated = SimpleNamespace(recipes=recipes, renderer=lambda: renderer, split="test",
                                annotations=[annotation(1, 0, 5, "b")])
    simulated.render = MethodType(SimulatedSplit.render, simulated)     # the real lookup
    study = SimpleNamespace(
        tests={(QUICK, REAL): SimpleNamespace(prepared=SimpleNamespace(simulated=simulated))},
        asked={(QUICK, REAL, "captions"): simulated.annotations},
        predictions=predictions or {},
        questions=lambda name, wording: [annotation(1, 0, 5 if name == QUICK else 2)])
    return book.LiveTransfer(study, list(from_files), 16000, {"cells": []})


def test_live_transfer_reads_the_study_and_renders_the_asked_recording():
    answers = [prediction(1, [0, 5, 0.9])]
    run = fake_live({("am-detr", QUICK, REAL, "captions", 0): answers},
                    [("am-detr", REAL, REAL, "captions", 0), ("baseline", REAL, REAL,
                                                              "captions", None)])
    assert run.read_back == 1
    assert run.asked(QUICK, REAL)[0].vid == "b" and run.detr(QUICK, REAL) is answers
    np.testing.assert_array_equal(run.render(run.real_test.annotations[0]), [2.0] * 4)


def test_benchmarks_describe_the_released_files_then_both_simulated_splits(tmp_path):
    write_annotations(tmp_path / "castella_val_release.jsonl",
                      [annotation(1, 0, 2), annotation(2, 1, 3, more=[[10, 12]])])
    described = fake_live().benchmarks(tmp_path)
    assert list(described) == ["castella_val", f"{QUICK} test (simulated)",
                               f"{REAL} test (simulated)"]
    assert described["castella_val"]["multi_moment_share"] == 0.5
    assert described[f"{QUICK} test (simulated)"]["moment_s"]["median"] == 5.0


def test_seed0_rows_keep_seed_zero_the_baseline_and_rows_without_seeds():
    study = {"cells": [cell(seed=0), cell(seed=1), cell("baseline", seed=None)],
             "lengths": [{"tested_on": QUICK, "true_s": [1, 2, 3, 4, 5]}]}
    kept = book.seed0_rows(study)
    assert [c["seed"] for c in kept["cells"]] == [0, None]
    assert kept["lengths"] == study["lengths"]


def test_find_cell_and_mean_text_pick_the_named_cell():
    rows = [spread_row(10.0), spread_row(12.34, queries="paraphrases"),
            spread_row(40.06, method="baseline", n_seeds=1)]
    assert book.find_cell(rows, queries="paraphrases")["mAP"] == 12.34
    with pytest.raises(KeyError, match="no row"):
        book.find_cell(rows, method="nobody")
    assert book.mean_text(rows, "am-detr", QUICK, REAL, "R1@0.5", "paraphrases") == "12.3"
    assert book.mean_text(rows, "baseline", QUICK, REAL) == "40.1"


def test_pair_names_are_those_of_the_glued_values():
    assert book.pair_name(QUICK, REAL) == "qr"
    assert book.pair_name(MIX, QUICK) == "bq"
    assert book.pair_name(REAL, REAL) == "rr"


def test_seed_checks_compare_live_seed0_cells_with_committed_seed0_cells():
    from amr_lib.numerics import fingerprint

    committed = [cell(value=50.0), cell(tested=QUICK, value=40.0), cell(seed=1, value=10.0)]
    live = [cell(value=50.0), cell(tested=QUICK, value=40.2), cell(seed=1, value=0.0),
            cell("baseline", seed=None, value=0.0)]
    from amr_lib.experiments.results import profile_definitions

    defined = profile_definitions()
    here = {"numerics": {"fingerprint": fingerprint()}, "profiles": defined}
    checks = book.seed_checks(live, committed, here)
    assert [c.passed for c in checks] == [True, False]          # seed-0 AM-DETR cells only
    # a study made when either profile was defined otherwise cannot be repeated
    changed = {**here, "profiles": {**defined, REAL: "0" * 16}}
    assert not any(c.comparable for c in book.seed_checks(live, committed, changed))
    with pytest.raises(AssertionError, match="does not repeat"):
        checks[1].require()
    run = fake_live(from_files=[("am-detr", REAL, REAL, "captions", 0)])
    assert book.live_check_text(checks[:1], run) == (
        "all 1 repeat their committed values (1 of them scored from the prediction files)")
    assert book.live_check_text(checks, None) == "none (no AMR_DATA_ROOT)"
    elsewhere = book.seed_checks(live, committed, {})         # made before fingerprints
    assert not any(c.comparable for c in elsewhere)
    assert "information only" in book.live_check_text(elsewhere, run)


def test_result_table_shows_the_spread_only_for_several_seeds():
    rows = [spread_row(20.0, 1.25), spread_row(30.0, 0.0, method="baseline", n_seeds=1),
            spread_row(5.0, queries="paraphrases")]
    table = book.result_table(rows, ("method", "trained_on", "tested_on"),
                              queries="captions")
    assert list(table.columns) == ["R1@0.5", "R1@0.7", "mAP"]
    assert list(table.index.names) == ["method", "trained on", "tested on"]
    assert table.loc[("am-detr", QUICK, REAL), "mAP"] == "20.0 ± 1.2"
    assert table.loc[("baseline", QUICK, REAL), "mAP"] == "30.0"
    assert len(table) == 2


def test_median_length_query_is_closest_to_the_median_true_moment():
    queries = [annotation(1, 0, 1), annotation(2, 0, 4), annotation(3, 0, 6),
               annotation(4, 0, 5, more=[[10, 30]])]      # windows: 1, 4, 6, 5, 20
    assert book.median_length_query(queries).qid == 4          # median 5
    assert book.median_length_query(queries[:3]).qid == 2      # median 4


def test_top_moment_and_covered_queries():
    queries = [annotation(1, 2, 4), annotation(2, 2, 4), annotation(3, 2, 4, more=[[8, 9]]),
               annotation(4, 0, 10)]
    answers = [prediction(1, [0, 1, 0.2], [0, 8, 0.9]),     # top (by score) holds 2-4
               prediction(2, [0, 3, 0.9]),                  # ends inside the event
               prediction(3, [0, 10, 0.9]),                 # two true moments
               prediction(4, [0, 10, 0.9])]                 # exactly the event
    np.testing.assert_array_equal(book.top_moment(answers[0]), [0, 8, 0.9])
    covered = book.covered_queries(queries, answers)
    assert [index for _, index in covered] == [0, 3]
    assert covered[0][0] == pytest.approx(0.25) and covered[1][0] == pytest.approx(1.0)
    assert book.covered_values(covered) == {"covered_iou": "0.25", "covered_count": 2}
    assert book.covered_values([]) == {"covered_iou": book.NEEDS_DATA,
                                       "covered_count": book.NEEDS_DATA}


def test_top_ious_use_the_first_ranked_moment():
    queries = [annotation(1, 0, 10), annotation(2, 0, 10, more=[[20, 30]])]
    answers = [prediction(1, [0, 5, 0.1], [0, 10, 0.9]), prediction(2, [20, 30, 0.5])]
    np.testing.assert_allclose(top_ious(queries, answers), [0.5, 1.0])


def test_class_example_picks_the_best_or_worst_query_of_a_class():
    labels = ["dog", "cat", "dog", "dog"]
    ious = np.array([0.2, 1.0, 0.9, 0.0])
    assert book.class_example(labels, ious, "dog", found=True) == 2
    assert book.class_example(labels, ious, "dog", found=False) == 3
    assert book.class_example(labels, ious, "cat", found=False) == 1


def test_answer_text_names_the_truth_and_the_first_ranked_moment():
    text = book.answer_text("found (dog)", annotation(1, 2, 4.5),
                            prediction(1, [2, 4, 0.876], [0, 30, 0.99]))
    assert text == ("found (dog): 'query 1'\n  true 2-4.5 s; top moment 2-4 s "
                    "(score 0.88)")


def test_top_quantiles_prefer_this_run_over_the_committed_seed0_cells():
    committed = [cell(top1_s=[1, 2, 3, 4, 5]), cell(seed=1, tested=QUICK, top1_s=[9] * 5),
                 cell(tested=QUICK, top1_s=[2, 3, 4, 5, 6]),
                 cell(queries="paraphrases", trained=REAL, top1_s=[0] * 5),
                 cell("baseline", seed=None, trained=MIX, top1_s=[0] * 5)]
    here = [cell(top1_s=[7, 7, 7, 7, 7])]
    assert book.top_quantiles(here, committed) == {(QUICK, REAL): [7, 7, 7, 7, 7],
                                                   (QUICK, QUICK): [2, 3, 4, 5, 6]}


def test_box_stats_read_five_quantiles():
    assert book.box_stats([1, 2, 3, 4, 5], "true") == {
        "label": "true", "whislo": 1, "q1": 2, "med": 3, "q3": 4, "whishi": 5}


def test_length_prior_figure_has_a_panel_per_test_split_and_coloured_boxes():
    true_s = {QUICK: [10, 15, 19, 23, 26], REAL: [1, 2, 3, 4, 5]}
    top_s = {(model, tested): [1, 2, 4, 8, 16] for model in (QUICK, REAL, MIX)
             for tested in (QUICK, REAL)}
    fig = book.plot_length_prior(true_s, top_s)
    axes = fig.axes
    assert [ax.get_title(loc="left") for ax in axes] == [f"tested on {QUICK}",
                                                         f"tested on {REAL}"]
    assert axes[0].get_ylabel() == "moment length (s)" and axes[0].get_yscale() == "log"
    assert [t.get_text() for t in axes[1].get_xticklabels()] == [
        "true", f"{QUICK} model", f"{REAL} model", f"{MIX} model"]
    faces = [p.get_facecolor() for p in axes[0].patches]
    assert len(faces) == 4 and faces[0] != faces[1]


def test_recording_and_top_moment_figures():
    rate = 8000
    audio = np.random.default_rng(0).standard_normal(2 * rate).astype(np.float32)
    query = annotation(1, 0.5, 1.0, duration=2.0)
    fig = book.plot_recording(audio, rate, query)
    assert fig.axes[0].get_title(loc="left") == "query: 'query 1'"
    assert len(fig.axes) == 2                                    # spectrogram, colour bar
    answers = {QUICK: prediction(1, [0, 2, 0.9], [0.4, 1.1, 0.5], [1, 2, 0.2], [0, 1, 0.1]),
               REAL: prediction(1, [0.5, 1, 0.8])}
    fig = book.plot_top_moments(audio, rate, query, answers)
    spectrogram, quick, real = fig.axes[:3]
    assert quick.get_title(loc="left") == f"{QUICK} model, top 3"
    assert real.get_title(loc="left") == f"{REAL} model, top 3"
    assert len(quick.lines) == 3 and len(real.lines) == 1       # at most three moments
    assert spectrogram.get_xlabel() == quick.get_xlabel() == ""
    assert real.get_xlabel() == "time (s)"


CLASS_ROWS = [
    {"method": m, "trained_on": REAL, "tested_on": REAL, "queries": q, "seed": s,
     "class": c, "R1@0.5": v, "n": n}
    for m, q, s, c, v, n in [
        ("am-detr", "captions", 0, "dog", 100.0, 3), ("am-detr", "captions", 1, "dog", 50.0, 3),
        ("am-detr", "captions", 0, "rain", 20.0, 5), ("am-detr", "captions", 1, "rain", 40.0, 5),
        ("baseline", "captions", None, "dog", 10.0, 3),
        ("baseline", "captions", None, "rain", 0.0, 5),
        ("am-detr", "paraphrases", 0, "dog", 0.0, 3), ("am-detr", "paraphrases", 1, "dog", 0.0, 3),
        ("am-detr", "paraphrases", 0, "rain", 60.0, 5),
        ("am-detr", "paraphrases", 1, "rain", 40.0, 5)]
] + [{"method": "am-detr", "trained_on": QUICK, "tested_on": REAL, "queries": "captions",
      "seed": 0, "class": "dog", "R1@0.5": 0.0, "n": 3}]


def test_class_recall_averages_seeds_and_sorts_by_am_detr():
    per_class, counts = book.class_recall(CLASS_ROWS, REAL, REAL)
    assert list(per_class.index) == ["rain", "dog"]
    assert per_class.loc["dog", "am-detr"] == 75.0 and per_class.loc["rain", "baseline"] == 0
    assert counts.to_dict() == {"dog": 3, "rain": 5}
    fig = book.plot_class_recall(per_class, counts)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rain (5)", "dog (3)"]
    assert [p.get_width() for p in ax.patches] == [30.0, 75.0]
    assert ax.get_xlabel() == "R1@0.5 (%)"
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["AM-DETR", "baseline"]
    ranked = per_class["am-detr"].sort_values(ascending=False)
    assert book.percent_list(ranked) == "dog (75 %), rain (30 %)"


def test_wording_recall_and_the_paraphrase_figure():
    by_wording = book.wording_recall(CLASS_ROWS, REAL, REAL)
    assert by_wording.to_dict() == {"captions": {"dog": 75.0, "rain": 30.0},
                                    "paraphrases": {"dog": 0.0, "rain": 50.0}}
    by_wording["similarity"] = pd.Series({"dog": 0.4, "rain": 0.8})
    fig = book.plot_paraphrases(by_wording)
    ax, colour_bar = fig.axes
    assert sorted(t.get_text() for t in ax.texts) == ["dog", "dog", "rain", "rain"]
    assert ax.get_xlabel() == "R1@0.5 with the template captions (%)"
    assert colour_bar.get_ylabel().startswith("cosine to the nearest template")
    assert book.lost_text(by_wording, ["dog"]) == f"dog ({PARAPHRASES['dog']!r}, 75 -> 0 %)"


def test_template_similarity_is_the_cosine_to_the_nearest_phrasing():
    vectors = {"p": [1.0, 0.0], "t1": [0.0, 1.0], "t2": [0.6, 0.8]}
    encoder = SimpleNamespace(
        sentence_embeddings=lambda texts: np.array([vectors[t] for t in texts]))
    similarity = book.template_similarity(encoder, ["x"], {"x": "p"}, {"x": ("t1", "t2")})
    assert similarity.to_dict() == {"x": pytest.approx(0.6)}


def test_paraphrase_phrases():
    assert book.paraphrased("dog") == f"dog ({PARAPHRASES['dog']!r})"
    assert book.similarity_verdict(0.3).startswith("closer paraphrases")
    assert book.similarity_verdict(0.29).startswith("closeness in the sentence")


def test_wording_example_picks_the_best_caption_hit_per_group():
    captions = [0.9, 0.6, 0.95, 0.4, 0.7]
    paraphrases = [0.5, 0.8, 0.1, 0.9, 0.2]
    assert book.wording_example(captions, paraphrases, both=True) == 0
    assert book.wording_example(captions, paraphrases, both=False) == 2
    assert book.wording_example([0.1], [0.9], both=True) is None
    said = [(annotation(1, 0, 1), 0.912), (annotation(2, 0, 1), 0.1)]
    assert book.said_text("found", said) == ("found:\n  'query 1' (IoU 0.91)\n"
                                             "  'query 2' (IoU 0.10)")


def test_benchmark_table_and_castella_values():
    described = {"castella_val": {
        "queries": 10, "recordings": 4, "duration_s": {"mean": 141.26},
        "moments_per_query": 1.234, "multi_moment_share": 0.256,
        "moment_s": {"median": 4.04}}}
    table = book.benchmark_table(described)
    assert table.loc["castella_val"].to_dict() == {
        "queries": 10, "recordings": 4, "length (s)": 141.3, "moments": 1.23,
        "multi": "26 %", "moment (s)": 4.0}
    assert book.castella_values(described) == {
        "castella_multi": "26 %", "castella_moment": "4.0", "castella_length": "141"}
    assert set(book.castella_values({}).values()) == {book.NEEDS_DATA}
