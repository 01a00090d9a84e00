import matplotlib.pyplot as plt
import numpy as np
import pytest

from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.metrics import score_queries
from amr_lib.viz import (
    plot_grid,
    plot_iou,
    plot_moments,
    plot_precision_recall,
    plot_similarity_steps,
    plot_spectrogram,
    plot_study,
    plot_trimming,
    plot_waveform,
)


def test_plot_iou_reports_the_library_values():
    ax = plot_iou([0, 10], [5, 15])
    assert ax.get_title() == "IoU = 0.333    gIoU = 0.333"
    assert plot_iou([0, 10], [30, 40]).get_title() == "IoU = 0.000    gIoU = -0.500"


def test_plot_moments_draws_one_row_per_prediction():
    ax = plot_moments([[12, 17]], [[12, 17, 0.9], [30, 40, 0.2]], duration=60)
    assert len(ax.lines) == 2 and ax.get_xlim() == (0, 60)
    assert [t.get_text() for t in ax.texts] == ["0.90", "0.20"]


def test_precision_recall_area_is_the_average_precision():
    gt = [[0.0, 10.0], [20.0, 30.0], [40.0, 50.0]]
    pred = [[20.0, 30.0, 0.9], [55.0, 58.0, 0.8], [0.0, 10.0, 0.7]]
    scores = score_queries([MomentAnnotation("a", "q", 60, "v", gt)],
                           [MomentPrediction("a", "q", "v", pred)])
    hits = scores.true_positive[0, 0]
    ax = plot_precision_recall(hits, 3)
    label = ax.get_legend().get_texts()[0].get_text()
    assert label == f"AP = {scores.average_precision[0, 0]:.3f}"
    assert scores.average_precision[0, 0] == pytest.approx((1 + 2 / 3) / 3)
    np.testing.assert_array_equal(hits, [True, False, True])


def test_trimming_figure_draws_each_second_and_each_threshold():
    rate = 1_000
    audio = np.concatenate([0.01 * np.ones(2 * rate), np.ones(3 * rate), 0.01 * np.ones(rate)])
    ax = plot_trimming(audio, rate, (2.0, 5.0), {"code": 5.0, "paper": 20.0})
    assert len(ax.patches) == 6 + 1  # six whole seconds and the kept span
    levels = sorted(line.get_ydata()[0] for line in ax.lines)
    assert levels[1] - levels[0] == pytest.approx(15.0)


def test_waveform_and_spectrogram_cover_the_recording():
    rate = 8_000
    audio = np.sin(2 * np.pi * 1_000 * np.arange(2 * rate) / rate)
    assert plot_waveform(audio, rate, moments_xx=[[0.5, 1.0]]).get_xlim() == (0, 2.0)
    ax = plot_spectrogram(audio, rate, moments_xx=[[0.5, 1.0]])
    image = ax.get_images()[0].get_array()
    peak_row = int(np.argmax(image.mean(axis=1)))
    assert abs(peak_row * (rate / 2) / (image.shape[0] - 1) - 1_000) < 40  # the tone's bin
    assert len(ax.lines) == 2
    # the dashed lines are named in a legend, and the levels have a colour bar
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["true moment"]
    colorbar = ax.get_images()[0].colorbar
    assert colorbar is not None and "dB" in colorbar.ax.get_ylabel()


def test_baseline_figures_draw_marks_and_the_chosen_setting():
    similarity = np.array([0.1, 0.8, 0.1, 0.7, 0.9, 0.2])
    marks = similarity > 0.5
    filtered = np.array([False, False, False, True, True, False])
    curve_ax, marks_ax = plot_similarity_steps(similarity, 0.5, marks, filtered, 1.0,
                                               [[3, 5]])
    assert curve_ax.get_legend_handles_labels()[1] == ["similarity", "threshold 0.500"]
    # one filled box per marked frame: 3 thresholded, 2 filtered
    assert len(marks_ax.collections) == 5
    assert marks_ax.get_xlim() == (0.0, 6.0)
    ax = plot_grid(np.arange(6.0).reshape(2, 3), np.array([0.1, 0.2, 0.3]), (1, 3),
                   best=(0.3, 3))
    star = ax.lines[0]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (0.3, 1)
    assert ax.figure.axes[-1].get_ylabel() == "average mAP (%)"
    plt.close("all")


def test_study_plot_draws_a_line_with_error_bars_per_method_and_the_live_point():
    rows = [{"method": m, "value": v, "mAP": 10 * v + k, "mAP_std": 1.0 if m == "am-detr"
             else 0.0, "n_seeds": 3 if m == "am-detr" else 1}
            for k, m in enumerate(("am-detr", "baseline")) for v in (0.125, 0.5, 1.0, 4.0)]
    ax = plot_study(rows, log2_x=True, live={"baseline": (0.5, 7.0)})
    lines = [line for line in ax.lines if line.get_linestyle() == "-"]   # not the caps
    assert len(lines) == 2
    np.testing.assert_allclose(np.asarray(lines[0].get_ydata(), float), [1.25, 5, 10, 40])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1/8", "1/2", "1", "4"]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "mAP (%)"
    live = [line for line in ax.lines if line.get_markerfacecolor() == "none"]
    assert [(line.get_xdata()[0], line.get_ydata()[0]) for line in live] == [(0.5, 7.0)]
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    # the deterministic baseline claims no spread (and draws no error bars)
    assert legend == {"AM-DETR (mean ± sd over 3 seeds)", "baseline (one run, deterministic)",
                      "baseline, this run"}
    plt.close(ax.figure)
