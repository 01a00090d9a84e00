import numpy as np
import pytest

from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.metrics import score_queries
from amr_lib.viz import plot_iou, plot_moments, plot_precision_recall


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
