"""Chapter 8's helpers: example choice by rule, tables, glued values and figures, on small
hand-made inputs (no training, no real data)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from amr_lib.book import occurrences as chapter
from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.sed.scoring import SedEvent, SedTask


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def annotation(windows, vid="v", duration=60.0, qid=0):
    return MomentAnnotation(qid, "a dog barks", duration, vid, windows)


def counting(true_mean=2.0, asserted=1.5, found=0.25, threshold=0.9):
    return {"threshold": threshold, "queries": 4, "true_mean": true_mean,
            "asserted_mean": asserted, "exact_share": 0.5, "abs_error": 0.5,
            "all_found_share": found}


def scores(queries, map_):
    return {"queries": queries, "R1@0.5": 70.04, "R1@0.7": 50.06, "mAP": map_}


SEVERAL = {name: {"scores": {"single": scores(3, single), "multi": scores(2, multi)},
                  "counting": {"single": counting(1.0, 1.0, 1.0, threshold),
                               "multi": counting(2.5, asserted, found, threshold)}}
           for name, single, multi, asserted, found, threshold in (
               ("paper", 54.86, 36.37, 1.348, 0.2148, 0.9),
               ("mixed", 57.07, 57.76, 1.452, 0.4519, 0.95))}


def sed_report(f1, flat, tuned=0.7, precision=0.1, recall=0.7):
    return {"default_threshold": 0.5, "tuned_threshold": tuned,
            "default": {"f1": f1, "precision": precision, "recall": recall},
            "tuned": {"f1": f1 + 0.01}, "f1_flat_share": flat,
            "curve": {"threshold": [0.1, 0.5, 0.9], "f1": [f1, f1 + 0.01, f1 - 0.01]}}


SED = {"classes": 37, "recordings": {"test": 320},
       "methods": {"am-detr": sed_report(0.154, 1.0),
                   "am-detr-absent": sed_report(0.171, 0.79),
                   "supervised": sed_report(0.257, 0.21),
                   "crnn": sed_report(0.3, 0.2),
                   "sliding-window": sed_report(0.159, 0.37, tuned=0.33)},
       "share_of": {"supervised": {"am-detr": 0.3875, "am-detr-absent": 0.4208,
                                   "sliding-window": 0.3943},
                    "crnn": {"am-detr": 0.5, "am-detr-absent": 0.55, "sliding-window": 0.52}},
       "crnn": {"best_epoch": 12, "epochs": 18}}


# 8.1

def test_presence_scores_are_two_histograms_of_forty_bins_from_below_the_lowest():
    top = np.array([0.934, 0.95, 0.99, 0.97, 1.0])
    present = np.array([True, True, True, False, False])
    ax = chapter.plot_presence_scores(top, present)
    assert len(ax.patches) == 2 * 40
    assert ax.patches[0].get_x() == pytest.approx(0.93)          # floor to 0.01 of 0.934
    assert sum(p.get_height() for p in ax.patches[:40]) == 3      # present pairs
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["present", "absent"]
    assert ax.get_xlabel() == "top score of the ten moments"


def test_presence_table_shows_shares_only_for_a_model_with_a_threshold():
    rows = {"paper": {"test_auroc": 0.6440, "R1@0.5": 84.59, "mAP": 62.22},
            "absent": {"test_auroc": 0.77184, "threshold": 0.75, "test_present_kept": 0.7363,
                       "test_absent_refused": 0.6952, "R1@0.5": 78.08, "mAP": 57.0}}
    table = chapter.presence_table(rows, 0.25)
    assert list(table.index) == ["as in the paper", "with 25% absent pairs"]
    assert table.index.name == "AM-DETR trained"
    assert table.loc["as in the paper", "present kept"] == "-"
    assert table.loc["with 25% absent pairs"].tolist() == ["0.772", "74%", "70%", "78.1",
                                                          "57.0"]


# 8.2

def test_castella_is_read_from_the_data_root_or_said_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("AMR_DATA_ROOT", raising=False)
    shown, why = chapter.castella_validation()
    assert shown is None and why.startswith("CASTELLA not shown: AMR_DATA_ROOT")
    monkeypatch.setenv("AMR_DATA_ROOT", str(tmp_path))
    shown, why = chapter.castella_validation()                    # folder without the file
    assert shown is None and "castella_val_release.jsonl" in why
    (tmp_path / "annotations").mkdir()
    (tmp_path / chapter.CASTELLA_VALIDATION).write_text(
        '{"qid": 1, "query": "q", "duration": 90, "vid": "a", "relevant_windows": [[1, 2]]}\n')
    shown, why = chapter.castella_validation()
    assert why == "" and [a.vid for a in shown] == ["a"]


def test_moment_statistics_draw_six_bars_and_two_histograms_per_set():
    arrays = {"simulated": {"counts": np.array([1, 1, 2, 3]), "lengths": np.array([5.0, 70]),
                            "gaps": np.array([1.0, 2.0])},
              "CASTELLA": {"counts": np.array([1, 4]), "lengths": np.array([10.0]),
                           "gaps": np.array([3.0])}}
    fig = chapter.plot_moment_statistics(arrays)
    bars, lengths, gaps = fig.axes
    assert len(bars.patches) == 2 * 6
    assert [p.get_height() for p in bars.patches[:3]] == [0.5, 0.25, 0.25]
    assert bars.patches[0].get_facecolor()[:3] == pytest.approx((0x26 / 255, 0x46 / 255,
                                                                 0x53 / 255))
    assert len(lengths.patches) == len(gaps.patches) == 2       # one step outline per set
    assert lengths.get_xlabel() == "moment length (s, cut at 60)"
    assert gaps.get_xlabel() == "gap between moments of a query\n(s, cut at 60)"
    assert [t.get_text() for t in bars.get_legend().get_texts()] == list(arrays)


def test_mean_duration_counts_each_recording_once():
    queries = [annotation([[1, 2]], "a", 100), annotation([[3, 4]], "a", 100),
               annotation([[1, 2]], "b", 50)]
    assert chapter.mean_recording_duration(queries) == 75


def test_several_tables_have_a_row_per_model_and_part():
    table = chapter.several_scores_table(SEVERAL)
    assert table.index.names == ["AM-DETR trained on", "test queries"]
    assert table.loc[("several moments", "multi"), "mAP"] == 57.8      # one decimal
    assert table["queries"].dtype == int and table["R1@0.7"].iloc[0] == 50.1
    counts = chapter.counting_table(SEVERAL)
    assert counts.loc[("paper's (single moments)", "multi"), "all found"] == "21%"
    assert counts.loc[("several moments", "single"), "threshold"] == 0.95


def test_several_values_name_each_model_and_the_true_count():
    values = chapter.several_values(SEVERAL)
    assert values == {"paper_multi_map": "36.4", "paper_all_found": "21%",
                      "paper_asserted": "1.35", "paper_single_map": "54.9",
                      "mixed_multi_map": "57.8", "mixed_all_found": "45%",
                      "mixed_asserted": "1.45", "mixed_single_map": "57.1",
                      "true_multi": "2.50"}


def test_found_share_and_mean_iou_of_asserted_moments():
    truth = annotation([[0, 10], [20, 30]])
    moments = np.array([[0, 10, 0.9], [20, 25, 0.8]])            # IoU 1 and 0.5
    assert chapter.found_share(truth, moments) == 1.0
    assert chapter.found_share(truth, moments[:1]) == 0.5
    assert chapter.found_share(truth, np.zeros((0, 3))) == 0.0
    assert chapter.mean_best_iou(truth, moments) == pytest.approx(0.75)


def test_examples_are_the_most_occurrences_all_found_and_the_fewest_found():
    queries = [annotation([[0, 10]]),                               # single: never shown
               annotation([[0, 10], [20, 30]]),                     # all found, IoU 0.75
               annotation([[0, 10], [20, 30]]),                     # all found, IoU 1
               annotation([[0, 10], [20, 30], [40, 50]]),           # 1 of 3 found
               annotation([[0, 10], [20, 30]])]                     # none found
    asserted = [np.zeros((0, 3)),
                np.array([[0, 10, 0.9], [20, 25, 0.8]]),
                np.array([[0, 10, 0.9], [20, 30, 0.8]]),
                np.array([[0, 10, 0.9]]),
                np.array([[50, 55, 0.9]])]
    assert chapter.choose_examples(queries, asserted) == {"all found": 2, "fewest found": 4}
    # three true windows beat a better IoU once all three are found
    asserted[3] = np.array([[0, 10, 0.9], [20, 30, 0.8], [40, 45, 0.7]])
    assert chapter.choose_examples(queries, asserted)["all found"] == 3
    nothing = [np.zeros((0, 3))] * len(queries)
    assert chapter.choose_examples(queries, nothing) == {"fewest found": 1}   # the first


def test_several_examples_draw_a_spectrogram_and_a_row_per_model_for_each():
    queries = [annotation([[0, 1], [2, 3]], duration=4.0),
               annotation([[1, 2], [3, 4]], duration=4.0)]
    asserted = {"paper": [np.array([[0, 1, 0.93]]), np.zeros((0, 3))],
                "mixed": [np.array([[0, 1, 0.97], [2, 3, 0.96]]), np.array([[1, 2, 0.99]])]}
    mixtures = {"all found": np.zeros(4000), "fewest found": np.zeros(4000)}
    fig = chapter.plot_several_examples({"all found": 0, "fewest found": 1}, queries,
                                        mixtures, 1000, asserted, {"paper": 0.9,
                                                                   "mixed": 0.95})
    plots = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(plots) == 6
    assert plots[0].get_title(loc="left") == "all found: 'a dog barks'"
    assert plots[1].get_title(loc="left") == ("paper's (single moments) model: moments "
                                              "above 0.90")
    assert plots[5].get_title(loc="left") == "several moments model: moments above 0.95"
    assert len(plots[2].lines) == 2 and [t.get_text() for t in plots[5].texts] == ["0.99"]


# 8.3

def sed_task():
    events = (SedEvent("r1", "dog", 0.0, 1.5), SedEvent("r2", "dog", 0.0, 2.0),
              SedEvent("r2", "cat", 1.0, 2.0), SedEvent("r3", "bird", 0.0, 1.0))
    return SedTask({"r1": 3.0, "r2": 4.0, "r3": 2.0}, ("bird", "cat", "dog", "owl"), events)


def test_the_busiest_recording_and_its_shown_classes():
    task = sed_task()
    assert chapter.classes_in(task, "r2") == {"dog", "cat"}
    assert chapter.busiest_recording(task) == "r2"
    assert chapter.shown_classes(task, "r2") == (["cat", "dog"], ["bird", "owl"])
    assert chapter.shown_classes(task, "r3", absent=1) == (["bird"], ["cat"])
    tie = SedTask({"a": 1.0, "b": 1.0}, ("dog",), (SedEvent("a", "dog", 0, 1),
                                                   SedEvent("b", "dog", 0, 1)))
    assert chapter.busiest_recording(tie) == "b"                   # ties: the last vid


def test_recording_frames_select_its_rows_of_the_stacked_matrices():
    task = sed_task()                                               # 3, 4 and 2 frames
    assert chapter.recording_frames(task, "r2") == slice(3, 7)
    assert task.reference()[chapter.recording_frames(task, "r3")].shape == (2, 4)


def test_covered_scores_show_uncovered_frames_as_zero():
    shown = chapter.covered_scores(np.array([[-np.inf, 0.7], [0.2, -np.inf]]))
    assert shown.tolist() == [[0, 0.7], [0.2, 0]]


def test_sed_frames_label_absent_classes_and_show_scores_from_zero_to_one():
    reference = np.array([[True, False], [False, False], [True, False]])
    scores = np.array([[0.9, -np.inf], [0.6, 0.8], [-np.inf, 0.3]])
    fig = chapter.plot_sed_frames(np.zeros(3000), 1000, reference, scores, ["dog"], ["owl"])
    spectrogram, grid, frames = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert spectrogram.get_ylabel() == "frequency (Hz)"
    assert [t.get_text() for t in frames.get_yticklabels()] == ["dog", "owl (absent)"]
    assert all(t.get_fontsize() == 8 for t in frames.get_yticklabels())
    assert grid.get_title(loc="left") == "reference: active frames per class"
    image = frames.get_images()[0]
    assert image.get_array().tolist() == [[0.9, 0.6, 0], [0, 0.8, 0.3]]
    assert image.get_clim() == (0, 1) and frames.get_xlabel() == "time (s, 1 s frames)"
    assert fig.axes[-1].get_ylabel() == "moment score"             # the scores' colour bar


# 8.4

def test_f1_curves_put_the_sliding_window_on_its_own_panel():
    fig = chapter.plot_f1_curves(SED["methods"])
    scores, cosine = fig.axes
    assert len(scores.lines) == 4 * 2 and len(cosine.lines) == 1 * 2   # curve + tuned line
    assert cosine.lines[0].get_label() == "sliding window (cosine, median filter)"
    assert cosine.lines[1].get_xdata()[0] == 0.33
    assert scores.get_ylabel() == "test F1 (micro, one frame a second)"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(
        chapter.SED_LABELS.values())


def test_sed_table_and_values_read_every_detector():
    table = chapter.sed_table(SED["methods"], SED["share_of"])
    assert table.index.name == "detector"
    assert table.loc["linear probe (supervised)", "of CRNN"] == "-"
    assert table.loc["AM-DETR (paper's)"].tolist() == ["0.50", "0.154", "0.100", "0.700",
                                                       "0.70", "0.164", "1.00", "50%", "39%"]
    values = chapter.sed_values(SED)
    assert values["sed_absent_share"] == "55%" and values["sed_absent_share_probe"] == "42%"
    assert "sed_supervised_share" not in values and "sed_crnn_share" not in values
    assert values["sed_sliding_flat"] == "0.37" and values["sed_detr_tuned"] == "0.164"
    assert values["flattest"] == "AM-DETR (paper's)"
    assert values["sed_crnn_epoch"] == "12 of 18"
    assert (values["sed_classes"], values["sed_recordings"]) == (37, 320)
    assert len(values) == 5 * 3 + 3 * 2 + 6
