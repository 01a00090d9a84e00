"""Chapter 6's helpers: the committed grid, the example chosen by rule, the measures read off
similarity curves, the verdicts glued into the prose, and the figures and tables."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Text

from amr_lib.book import ablations as chapter
from amr_lib.experiments.scoreboard import BASELINE_PREFERS_LONG, CLAIMS, SHORT_WINDOWS_SUIT_DETR
from amr_lib.lighthouse_jsonl import MomentAnnotation

MADE = {"command": "amr experiment ablations --profile quick --seeds 3 --out /tmp/a",
        "commit": "0123456789abcdef", "seconds": 600, "machine": "x86_64, 2 cores",
        "date": "2026-11-29"}


def point(study, value, method="am-detr", mAP=50.0, std=1.0, n_seeds=3, **metrics):
    row = {"study": study, "value": value, "method": method, "n_seeds": n_seeds,
           "features": value if study == "features" else "contrastive", "mAP": mAP,
           "mAP_std": std if n_seeds > 1 else 0.0, "seconds": 1800}
    for name in ("R1@0.5", "R1@0.7"):
        row[name], row[f"{name}_std"] = metrics.get(name, mAP + 10), row["mAP_std"]
    return row


def grid(detr_windows=(60.0, 63.0, 60.3), base_windows=(26.1, 27.6, 26.5),
         data=((0.125, 22.0, 3.0), (0.5, 44.0, 5.5), (1.0, 60.0, 2.0), (2.0, 72.0, 2.8))):
    rows = [point("window", w, "am-detr", m, 2.0) for w, m in zip((1.0, 4.0, 7.0),
                                                                   detr_windows, strict=True)]
    rows += [point("window", w, "baseline", m, n_seeds=1)
             for w, m in zip((1.0, 4.0, 7.0), base_windows, strict=True)]
    rows += [point("data", s, "am-detr", m, sd) for s, m, sd in data]
    rows += [point("features", "contrastive", mAP=60.0, std=2.0),
             point("features", "contrastive-untrained", mAP=31.0, std=4.0)]
    return rows


def annotation(start, end, duration=30.0, qid=0):
    return MomentAnnotation(qid, "a dog barks", duration, f"v{qid}", np.array([[start, end]]))


def readable(fig) -> bool:
    """Every visible text at 8 pt or more, on a figure at most 10 inches wide."""
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    return fig.get_figwidth() <= 10 and min(t.get_fontsize() for t in texts) >= 8


# --- the committed grid -------------------------------------------------------------------

def test_the_profiles_own_grid_is_comparable_and_the_quick_one_stands_in(tmp_path, monkeypatch,
                                                                         capsys):
    data = tmp_path / "book" / "data"
    data.mkdir(parents=True)
    for name in ("ablations_quick", "ablations_full"):
        (data / f"{name}.json").write_text(json.dumps([point("data", 1.0)]))
        (data / f"{name}.provenance.json").write_text(json.dumps(MADE))
    monkeypatch.chdir(tmp_path / "book")
    found, comparable = chapter.committed_grid("full")
    assert comparable and found.path.name == "ablations_full.json" and not capsys.readouterr().out
    found, comparable = chapter.committed_grid("real-sounds")
    assert not comparable and found.path.name == "ablations_quick.json"
    assert "--profile real-sounds" in capsys.readouterr().out
    (data / "ablations_quick.json").unlink()
    with pytest.raises(FileNotFoundError, match="ablations_quick"):
        chapter.committed_grid("real-sounds")


def test_settings_are_labelled_as_the_prose_writes_them():
    assert [chapter.scale_label(s) for s in (0.125, 0.25, 0.5, 1.0, 2.0)] == [
        "1/8", "1/4", "1/2", "1x", "2x"]
    assert chapter.setting_label(point("window", 4.0)) == "4 s"
    assert chapter.setting_label(point("data", 0.125)) == "1/8"
    assert chapter.setting_label(point("features", "contrastive")) == "contrastive"


def test_grid_table_shows_a_spread_only_for_seeded_points():
    table = chapter.grid_table(grid())
    assert table.index.names == ["study", "setting", "method", "seeds"]
    assert list(table.columns) == ["R1@0.5", "R1@0.7", "mAP"]
    assert table.loc[("window", "4 s", "am-detr", 3), "mAP"] == "63.00 ± 2.00"
    assert table.loc[("window", "4 s", "baseline", 1), "mAP"] == "27.60"
    assert table.index[6] == ("data", "1/8", "am-detr", 3)        # file order


def test_point_row_finds_one_point_or_says_which_is_missing():
    rows = grid()
    assert chapter.point_row(rows, "window", 4.0, "baseline")["mAP"] == 27.6
    assert chapter.point_row(rows, "features", "contrastive", "am-detr")["mAP"] == 60.0
    with pytest.raises(KeyError, match=r"baseline point at 2\.0"):
        chapter.point_row(rows, "window", 2.0, "baseline")


# --- comparing points ---------------------------------------------------------------------

def test_best_row_and_row_at():
    rows = grid()
    assert chapter.best_row(rows, "am-detr")["value"] == 4.0
    assert chapter.best_row(rows, "am-detr", study="data")["value"] == 2.0
    assert chapter.row_at(rows, "baseline", 7.0)["mAP"] == 26.5


def test_window_verdict_names_the_best_window_and_leaves_the_verdict_to_the_rule():
    assert chapter.window_verdict(grid(), "AM-DETR", "am-detr") == (
        "AM-DETR scores highest with the 4 s window")
    short = chapter.window_verdict(grid(base_windows=(30.0, 27.0, 26.0)), "it", "baseline")
    assert short == "it scores highest with the shortest, 1 s window"


def test_window_summary_gives_each_methods_span_and_best_window():
    assert chapter.window_summary(grid()) == (
        "across 1 to 7 s windows, average mAP spans 3.0 points for AM-DETR (best at 4 s) and "
        "1.5 for the baseline (best at 4 s) here")


def with_queries(row, values):
    """``row`` with one seed's per-query average mAP."""
    return {**row, "per_seed": [{"seed": 0, "queries": {"mAP": list(values)}}]}


def test_baseline_peak_sentence_reads_an_inner_peak_by_the_evidence_rule():
    rows = grid(base_windows=(24.0, 31.0, 24.0))
    rows[3:6] = [with_queries(row, [row["mAP"] - 1, row["mAP"] + 1] * 50)
                 for row in rows[3:6]]
    text = chapter.baseline_peak_sentence(rows)
    assert text.startswith("The window claims compare the ends of the study, for both "
                           "methods; the baseline's curve peaks in between, at 4 s, which "
                           "beats 1 s by +7.00 [+7.00, +7.00] points of average mAP")
    assert "while 7 s is not told apart from it (+0.00 [+0.00, +0.00])" in text
    assert text.endswith("not counted as a verdict.")
    shortest_best = grid(base_windows=(31.0, 24.0, 24.0))
    shortest_best[3:6] = [with_queries(row, [row["mAP"]] * 4) for row in shortest_best[3:6]]
    assert chapter.baseline_peak_sentence(shortest_best) == ""
    assert chapter.baseline_peak_sentence(grid(base_windows=(24.0, 31.0, 24.0))) == ""


def test_loss_phrase_signs_only_what_is_not_a_loss():
    assert chapter.loss_phrase({"R1@0.7": 58.22, "mAP": 44.62}) == (
        "loses 58.2 points of R1@0.7 and 44.6 of average mAP")
    assert chapter.loss_phrase({"R1@0.7": -2.0, "mAP": 1.0}) == (
        "changes by +2.0 points of R1@0.7 and -1.0 of average mAP")


def test_strictness_sentence_splits_the_window_study_by_iou_threshold():
    rows = grid()
    for method, values in (("am-detr", ((90.5, 80.7), (90.8, 80.2), (89.7, 76.3))),
                           ("baseline", ((35.3, 23.0), (50.6, 34.5), (46.3, 23.0)))):
        for row, (loose, strict) in zip(chapter.study_rows(rows, "window", method), values,
                                        strict=True):
            row["mAP@0.5"], row["mAP@0.75"] = loose, strict
    rows[0]["mAP"], rows[2]["mAP"] = 75.0, 68.2            # AM-DETR 1 s and 7 s
    rows[3]["mAP"], rows[5]["mAP"] = 23.9, 23.7            # the baseline's
    assert chapter.window_gains_by_strictness(rows, "am-detr") == pytest.approx(
        [0.8, 4.4, 6.8])
    assert chapter.strictness_sentence(rows) == (
        "from the longest window to the shortest, mAP at IoU 0.5 / at IoU 0.75 / averaged "
        "over IoU 0.5 to 0.95 changes by +0.8 / +4.4 / +6.8 for AM-DETR and -11.0 / +0.0 / "
        "+0.2 for the baseline: for AM-DETR, the longer window costs more the stricter the "
        "threshold: it blurs where an event's edges fall more than it hides the event; for "
        "the baseline, the longer window helps at IoU 0.5 (it finds more events), and that "
        "help is gone at the strict thresholds")
    rows[2]["mAP"] = 72.0                                  # AM-DETR's gain stops growing
    rows[5]["mAP"], rows[5]["mAP@0.75"] = 24.5, 26.0       # the baseline's help shrinks
    assert chapter.strictness_sentence(rows).endswith(
        "-3.0 / -0.6 for the baseline: for the baseline, the longer window helps at IoU 0.5 (it "
        "finds more events), and that help shrinks at the strict thresholds")
    rows[5]["mAP"] = 30.0                                  # and no longer grows
    assert chapter.strictness_sentence(rows).endswith("-6.1 for the baseline")


# --- the example recording and its curves -------------------------------------------------

def test_inside_frames_covers_every_frame_the_moment_touches():
    assert np.flatnonzero(chapter.inside_frames((2.5, 5.2), 8, 1.0)).tolist() == [2, 3, 4, 5]
    assert np.flatnonzero(chapter.inside_frames((1.0, 2.0), 8, 0.5)).tolist() == [2, 3]


def test_short_events_and_their_margin_from_the_ends():
    events = [annotation(10, 13), annotation(10, 14), annotation(2, 4), annotation(27, 29.5)]
    assert chapter.is_short(events[0]) and not chapter.is_short(events[1])
    assert chapter.short_events(events) == [0, 2, 3]
    assert chapter.short_events(events, margin_s=4.0) == [0]


def test_the_example_is_the_clearest_inner_short_event():
    events = [annotation(10, 12, 20), annotation(5, 7, 20), annotation(1, 2, 20),
              annotation(3, 15, 20)]
    curves = [np.zeros(20) for _ in events]
    curves[0][10:12] = 0.5                  # clear, but less than the next
    curves[1][5:7] = 0.9
    curves[2][1] = 5.0                      # clearest, too close to the start
    curves[3][3:15] = 9.0                   # clearest, too long
    assert chapter.clarity(curves[1], (5, 7), 1.0) == pytest.approx(0.9)
    assert chapter.clearest_short_event(events, curves, 1.0) == 1
    near_ends = events[2:]                  # no inner short event: any short one
    assert chapter.clearest_short_event(near_ends, curves[2:], 1.0) == 0


def test_peak_width_counts_the_frames_above_half_height():
    curve = np.array([0, 0, 0, 0, 0.2, 0.6, 1.0, 0.7, 0.4, 0, 0, 0.6])
    assert chapter.peak_width(curve, 1.0) == 3.0       # 0.6, 1.0, 0.7 (level 0.55); not 0.6
    assert chapter.peak_width(curve, 0.5) == 1.5
    assert chapter.peak_width(np.array([1.0, 0.0, 0.0]), 1.0) == 1.0


def test_peak_table_rounds_heights_and_is_indexed_by_window():
    table = chapter.peak_table({1.0: 2.0, 7.0: 8.0}, {1.0: 0.41234, 7.0: 0.1006})
    assert table.index.name == "window (s)" and table.index.tolist() == [1.0, 7.0]
    assert table["peak above median"].tolist() == [0.412, 0.101]
    assert table["peak width (s)"].tolist() == [2.0, 8.0]


def test_contrast_is_in_standard_deviations_of_the_curve():
    curve = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    assert chapter.contrast(curve, (2, 4), 1.0) == pytest.approx(1 / curve.std())
    assert chapter.contrast(np.ones(6), (2, 4), 1.0) == 0.0          # flat: no division by 0


def test_window_blur_figure_draws_the_spectrogram_and_one_curve_per_window():
    curves = {w: np.linspace(0, 1, 20) for w in (1.0, 4.0, 7.0)}
    fig = chapter.plot_window_blur(np.zeros(8000 * 20, np.float32) + 1e-3, 8000, curves,
                                   1.0, (6.0, 8.0))
    spectrogram, similarity = fig.axes[:2]
    assert spectrogram.get_ylabel() == "frequency (Hz)" and spectrogram.get_xlabel() == ""
    assert similarity.get_ylabel() == "cosine similarity"
    assert [t.get_text() for t in similarity.get_legend().get_texts()] == [
        "1 s window", "4 s window", "7 s window", "true moment"]
    assert readable(fig)
    plt.close(fig)


def test_feature_curves_figure_has_one_titled_panel_per_encoder():
    fig = chapter.plot_feature_curves({"contrastive": np.arange(10.0),
                                       "untrained": np.zeros(10)}, 1.0, (2.0, 4.0))
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["contrastive encoder",
                                                             "untrained encoder"]
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()          # same scale
    assert fig.axes[1].get_xlabel() == "time (s)" and readable(fig)
    plt.close(fig)


# --- the data study -----------------------------------------------------------------------

def by_scale(rows):
    return {r["value"]: r for r in rows if r["study"] == "data"}


def test_data_gains_step_by_step():
    scales = by_scale(grid())
    assert chapter.scale_gains(scales) == [(0.125, 0.5, 22.0), (0.5, 1.0, 16.0),
                                           (1.0, 2.0, 12.0)]
    assert chapter.describe_gains(scales) == "1/8 to 1/2: +22.0; 1/2 to 1x: +16.0; 1x to 2x: +12.0"


def test_flatten_verdict_describes_the_tail_without_judging_it():
    assert chapter.flatten_verdict(by_scale(grid())) == "moves by +12.0 points to 2x"
    flat = grid(data=((0.5, 40.0, 1.0), (1.0, 60.0, 2.0), (2.0, 61.0, 3.0), (4.0, 60.5, 1.0)))
    assert chapter.flatten_verdict(by_scale(flat)) == (
        "moves by +1.0 points to 2x, then -0.5 points to 4x")
    stops = grid(data=((0.5, 40.0, 1.0), (1.0, 60.0, 2.0)))
    assert chapter.flatten_verdict(by_scale(stops)).startswith("is not measured")


def test_data_summary_mentions_the_largest_scale_only_beyond_the_split():
    assert chapter.data_summary(by_scale(grid())).endswith(
        "from 22.0 to 60.0 on this profile, and 2x the split gives 72.0")
    stops = grid(data=((0.5, 40.0, 1.0), (1.0, 60.0, 2.0)))
    assert chapter.data_summary(by_scale(stops)).endswith("from 40.0 to 60.0 on this profile")


def fake_record(scale, queries=96, best_epoch=2, epoch_cap=80, patience=10):
    """A training record (ProfileRun.training) of three epochs, batches of 32."""
    curve = [{"epoch": e, "lr": 1e-3, "loss_total": scale / e, "valid_mAP": 10.0 * e * scale}
             for e in (1, 2, 3)]
    return {"curve": curve, "best_epoch": best_epoch, "epoch_cap": epoch_cap,
            "patience": patience, "training_queries": queries, "batch_size": 32,
            "steps_per_epoch": -(-queries // 32)}


def test_training_curves_figure_has_loss_and_validation_panels_over_steps():
    fig = chapter.plot_training_curves({"small": fake_record(0.5, queries=12),
                                        "full": fake_record(1.0)})
    loss, valid = fig.axes
    assert loss.get_yscale() == "log" and len(loss.lines) == 2
    assert len(valid.lines) == 4                        # a curve and a star per run
    assert valid.get_ylabel() == "validation average mAP (%)"
    assert valid.get_xlabel() == loss.get_xlabel() == "optimisation steps"
    # 12 queries in batches of 32: one step an epoch; 96: three
    assert list(valid.lines[0].get_xdata()) == [1, 2, 3]
    assert list(valid.lines[2].get_xdata()) == [3, 6, 9]
    assert list(valid.lines[3].get_xdata()) == [6]       # the full run's kept epoch, 2
    assert list(valid.lines[3].get_ydata()) == [20.0]
    assert [t.get_text() for t in valid.get_legend().get_texts()] == ["small", "full"]
    assert readable(fig)
    plt.close(fig)
    one = chapter.plot_training_curves({"full": fake_record(1.0)})   # the small one missing
    assert len(one.axes[1].lines) == 2
    plt.close(one)


def test_training_numbers_and_how_a_run_stopped():
    assert chapter.training_numbers(fake_record(1.0)) == {
        "best_map": "20.00", "final_loss": "0.33", "queries": 96, "epochs": "2 of 3",
        "budget": "80 epochs, patience 10", "stop": "stopped on a plateau of validation mAP"}
    capped = fake_record(1.0, epoch_cap=3)               # its 3 epochs were all it could take
    assert chapter.training_numbers(capped)["stop"] == "reached its cap"
    patient = fake_record(1.0, epoch_cap=3, patience=1)  # kept epoch 2, patience 1: the
    assert not chapter.reached_cap(patient)              # patience ended it at the cap
    assert "data, not of optimisation" in chapter.optimisation_reading(fake_record(0.5),
                                                                       fake_record(1.0))
    assert "may still be optimisation" in chapter.optimisation_reading(fake_record(0.5),
                                                                       capped)


def test_the_data_curves_paragraph_with_and_without_the_committed_small_run():
    text = chapter.data_curves_text(fake_record(0.5, queries=12), fake_record(1.0))
    assert text.startswith("With 12 training queries instead of 96")
    assert "kept epoch 2 of 3" in text and "data, not of optimisation" in text
    missing = chapter.data_curves_text(None, fake_record(1.0))
    assert "made before training records were kept" in missing


def test_committed_training_is_read_from_the_points_seed_entry():
    record = fake_record(0.5)
    rows = [{"study": "data", "value": 0.125, "method": "am-detr", "per_seed": [
        {"seed": 0, "training": record}, {"seed": 1}]}]
    assert chapter.committed_training(rows, "data", 0.125, seed=0) == record
    assert chapter.committed_training(rows, "data", 0.125, seed=1) is None
    assert chapter.committed_training(rows, "data", 0.125, seed=2) is None


# --- the features study -------------------------------------------------------------------

def test_features_bars_have_spreads_and_seed_counts():
    rows = [r for r in grid() if r["study"] == "features"]
    ax = chapter.plot_features(rows)
    assert len(ax.patches) == 6
    assert [t.get_text() for t in ax.get_xticklabels()] == ["R1@0.5", "R1@0.7", "average mAP"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "contrastive (3 seeds)", "contrastive-untrained (3 seeds)"]
    assert ax.get_ylim() == (0, 100) and readable(ax.figure)
    plt.close(ax.figure)


def fidelity_grid(now, before):
    return [with_queries(point("fidelity", name, mAP=float(np.mean(values))), values)
            for name, values in (("qd-detr", now), ("before-fidelity", before))]


def test_fidelity_table_and_sentence_judge_each_profile_by_the_rule():
    from amr_lib.book.ablations import fidelity_sentence, fidelity_table

    up = fidelity_grid([60.0, 70.0, 80.0, 90.0] * 10, [50.0, 60.0, 70.0, 80.0] * 10)
    same = fidelity_grid([0.0, 100.0] * 20, [100.0, 0.0] * 20)
    grids = {"quick": up, "real-sounds": same}
    table = fidelity_table(grids, metrics=("mAP",))
    assert table.loc[("quick", "mAP"), "verdict"] == "agrees"
    assert table.loc[("quick", "mAP"), "difference"].startswith("+10.00 [+10.00, +10.00]")
    assert table.loc[("real-sounds", "mAP"), "verdict"] == "unresolved"
    said = fidelity_sentence(grids)
    assert said.startswith("on quick, following QD-DETR scores higher, beyond the interval "
                           "(mAP 75.00 against 65.00")
    assert "on real-sounds, no difference is resolved: the interval holds zero" in said


def test_fidelity_training_table_reads_each_seeds_kept_epoch_and_validation_map():
    from amr_lib.book.ablations import fidelity_training_table

    def trained(*valid, kept):
        curve = [{"epoch": e + 1, "valid_mAP": v} for e, v in enumerate(valid)]
        return {"training": {"curve": curve, "best_epoch": kept}}

    now, before = fidelity_grid([50.0], [40.0])
    # the kept epoch's value, not the curve's maximum (a gain under min_delta is not kept)
    now["per_seed"] = [{"seed": 0, **trained(10, 30, 30.2, kept=2)},
                       {"seed": 1, **trained(20, 40, 35, kept=2)}]
    table = fidelity_training_table({"quick": [now, before]})
    assert table.loc[("quick", "following QD-DETR"), "kept epoch / epochs run"] == "2/3, 2/3"
    # mean of 30 and 40 is 35, their sample sd 7.07
    assert table.loc[("quick", "following QD-DETR"), "valid mAP at the kept epoch"] == (
        "35.00 ± 7.07")
    assert table.loc[("quick", "before the changes"), "valid mAP at the kept epoch"] == (
        "not recorded")


def test_a_run_that_never_took_off_is_named_by_rule():
    def seed(number, *valid, test_map=30.0, cap=None):
        curve = [{"epoch": e + 1, "valid_mAP": v} for e, v in enumerate(valid)]
        training = {"curve": curve} | ({"epoch_cap": cap} if cap else {})
        return {"seed": number, "mAP": test_map, "training": training}

    def seeded(value, *seeds, method="am-detr"):
        return {**point("window", value, method=method), "per_seed": list(seeds)}

    rows = [seeded(1.0, seed(0, 5, 30, 40), seed(1, 8, 36), seed(2, 2, 41, 38)),
            seeded(7.0, seed(0, 4, 24, 23, test_map=26.0),
                   seed(1, 5, 11, 9, test_map=8.0, cap=80), seed(2, 6, 26, test_map=20.0)),
            seeded(7.0, seed(0, 1, 2), method="baseline")]
    # median of the 7 s bests is 24: seed 1's best 11 is under half of it; at 1 s none.
    # Test means: (26 + 8 + 20) / 3 = 18 with it, (26 + 20) / 2 = 23 without
    assert chapter.stalled_runs(rows) == [{"value": 7.0, "seed": 1, "best": 11, "epoch": 2,
                                           "epochs": 3, "cap": 80, "median": 24.0,
                                           "mean": 18.0, "mean_without": 23.0}]
    assert chapter.stalled_sentence(rows) == (
        "one AM-DETR run never took off (7 s, seed 1: best validation mAP 11.0 at epoch 2, "
        "under half the 24.0 median of its window's seeds, and early stopping ended it at "
        "epoch 3 of a cap of 80); it stays in its mean, and without it the test average mAP "
        "would be 23.00 instead of 18.00 at 7 s")
    assert chapter.stalled_sentence(rows[:1]).startswith("every AM-DETR run took off")
    # a seed without a curve (a reused point) is not judged, but counts in the means:
    # (40 + 2 + 30) / 3 = 24 with the stalled seed, (40 + 30) / 2 = 35 without it
    reused = [seeded(7.0, {"seed": 0, "mAP": 40.0}, seed(1, 1, test_map=2.0),
                     seed(2, 30))]
    assert chapter.stalled_runs(reused) == [{"value": 7.0, "seed": 1, "best": 1, "epoch": 1,
                                             "epochs": 1, "cap": None, "median": 15.5,
                                             "mean": 24.0, "mean_without": 35.0}]
    assert "at epoch 1, under half the 15.5 median of its window's seeds, and early " \
           "stopping ended it at epoch 1);" in chapter.stalled_sentence(reused)
    # two stalled runs, one of them run to its cap: runs apart by semicolons, plural
    two = [seeded(7.0, seed(0, 30), seed(1, 1, 2, cap=2, test_map=4.0),
                  seed(2, 28), seed(3, 3, test_map=6.0), seed(4, 29))]
    said = chapter.stalled_sentence(two)
    assert said.startswith("2 AM-DETR runs never took off (7 s, seed 1: best validation "
                           "mAP 2.0 at epoch 2, under half the 28.0 median of its window's "
                           "seeds, and it ran to its cap of 2 epochs; 7 s, seed 3:")
    assert said.endswith("they stay in their means, and without them the test average mAP "
                         "would be 30.00 instead of 20.00 at 7 s")
    # a study of named settings (the fidelity study's models) names them as they are
    named = [{**row, "study": "fidelity", "value": "before-fidelity"} for row in two]
    assert chapter.stalled_sentence(named, "fidelity", setting="model").startswith(
        "2 AM-DETR runs never took off (before-fidelity, seed 1: best validation mAP 2.0 at "
        "epoch 2, under half the 28.0 median of its model's seeds")


def test_best_windows_and_window_ends_sentences():
    # grid(): both methods best at 4 s
    assert chapter.best_windows_sentence(grid()) == (
        "both methods score highest with the 4 s window")
    short = grid(detr_windows=(63.0, 60.0, 59.0), base_windows=(30.0, 27.0, 26.0))
    assert chapter.best_windows_sentence(short) == (
        "both methods score highest with the shortest, 1 s window")
    apart = grid(base_windows=(30.0, 27.0, 26.0))
    assert chapter.best_windows_sentence(apart) == (
        "AM-DETR scores highest with the 4 s window and the baseline scores highest with "
        "the shortest, 1 s window")
    assert chapter.window_ends_sentence(short) == (
        "from 1 to 7 s windows, average mAP goes from 63.00 to 59.00 for AM-DETR and from "
        "30.00 to 26.00 for the baseline")


def test_best_against_best_is_the_chapters_comparison_when_both_best_at_its_window():
    detr = with_queries(point("window", 1.0, "am-detr", 40.0), [50.0, 40.0, 30.0])
    base = with_queries(point("window", 1.0, "baseline", 20.0), [30.0, 20.0, 10.0])
    worse = [{**point("window", 7.0, method, 5.0), "per_seed": [
        {"seed": 0, "queries": {"mAP": [5.0, 5.0, 5.0]}}]} for method in ("am-detr",
                                                                          "baseline")]
    sentence = chapter.best_against_best_sentence([detr, base, *worse], 1.0, 3, "Table I")
    # every query's difference is +20, so the interval is a point
    assert sentence == ("Both methods score best with 1 s windows, the profile's own, so "
                        "each method at its best window is Table I again, here on this "
                        "study's 3 seeds: AM-DETR minus the baseline, +20.00 [+20.00, "
                        "+20.00] points of average mAP")
    moved = chapter.best_against_best_sentence([detr, base, *worse], 4.0, 3, "Table I")
    assert moved.startswith("Each method at its own best window asks the paper's central "
                            "claim once more (AM-DETR at 1 s, the baseline at 1 s)")


def test_window_claims_sentence_reads_each_methods_verdict_from_the_board():
    source = "ablations_real-sounds.json"
    board = [{"claim": BASELINE_PREFERS_LONG, "source": source, "verdict": "contradicts"},
             {"claim": SHORT_WINDOWS_SUIT_DETR, "source": source, "verdict": "agrees"},
             {"claim": SHORT_WINDOWS_SUIT_DETR, "source": "ablations_quick.json",
              "verdict": "unresolved"}]
    assert chapter.window_claims_sentence(board, source) == (
        "by the evidence rule, this study agrees with the paper's window finding for "
        "AM-DETR and contradicts its finding for the baseline")
    quick = [*board[2:], {**board[0], "source": "ablations_quick.json",
                          "verdict": "unresolved"}]
    assert chapter.window_claims_sentence(quick, "ablations_quick.json") == (
        "by the evidence rule, this study leaves open the paper's window finding for "
        "AM-DETR and leaves open its finding for the baseline")
    with pytest.raises(KeyError, match=r"ablations_quick\.json"):
        chapter.window_claims_sentence(board, "ablations_quick.json")     # no baseline row
    # the scoreboard scores both claims from each window study
    scored = {(claim.claim, claim.source) for claim in CLAIMS}
    assert {(SHORT_WINDOWS_SUIT_DETR, source), (BASELINE_PREFERS_LONG, source)} <= scored
