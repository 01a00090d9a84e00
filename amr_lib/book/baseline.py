"""Chapter 5 (baseline and evaluation): the examples it shows, chosen by rule, and its
figures and tables.

Every chooser returns indices into the test split's query order, the order of
``annotations`` and of both methods' predictions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from amr_lib.baseline import BaselineParams, active_frames
from amr_lib.book.pages import spread_cells
from amr_lib.experiments.controls import (
    Discrimination,
    other_event_windows,
    top_ious,
    top_moment_lands,
)
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.viz import plot_moments, plot_similarity_steps, plot_spectrogram

DETR_COLOR, BASELINE_COLOR, TRUE_COLOR = "#264653", "#e76f51", "#2a9d8f"
LANDING = {"queried": "on the queried event", "other": "on another event",
           "neither": "on no event"}


def filter_example(similarities: Sequence[np.ndarray],
                   predictions: Sequence[MomentPrediction],
                   annotations: Sequence[MomentAnnotation],
                   params: BaselineParams) -> tuple[int, float]:
    """The query to show the baseline on, step by step, and its top IoU: one whose median
    filter changes some marks (when any query's does), then the highest top IoU, then
    the last such query."""
    ious = top_ious(annotations, predictions)
    steps = [(bool(filter_changes(curve, params)), iou, index)
             for index, (curve, iou) in enumerate(zip(similarities, ious, strict=True))]
    _, iou, index = max(steps)
    return index, float(iou)


def filter_changes(curve: np.ndarray, params: BaselineParams) -> int:
    """How many of a ``(T,)`` curve's thresholded marks the median filter flips."""
    raw = np.asarray(curve) > params.threshold
    kept = active_frames(curve, params.threshold, params.filter_frames)
    return int((raw != kept).sum())


def fallback_share(similarities: Sequence[np.ndarray], params: BaselineParams) -> float:
    """Percent of curves in which no frame survives threshold and filter (the baseline
    then answers with its best single frame)."""
    return 100 * float(np.mean([not active_frames(c, params.threshold,
                                                  params.filter_frames).any()
                                for c in similarities]))


def plot_baseline_steps(mixture: np.ndarray, sample_rate: int, curve: np.ndarray,
                        params: BaselineParams, hop_s: float,
                        annotation: MomentAnnotation, moments: np.ndarray) -> Figure:
    """The baseline on one query: spectrogram with the true moment, the similarity curve
    with its threshold, the marks before and after the median filter, and the ranked
    moments ``(K, 3)`` against the truth."""
    true_xx = annotation.relevant_windows.tolist()
    fig, axes = plt.subplots(4, 1, figsize=(9, 7), sharex=True, layout="constrained",
                             height_ratios=[2, 1.4, 0.8, 0.4 + 0.3 * len(moments)])
    plot_spectrogram(mixture, sample_rate, ax=axes[0], moments_xx=true_xx)
    raw = curve > params.threshold
    kept = active_frames(curve, params.threshold, params.filter_frames)
    plot_similarity_steps(curve, params.threshold, raw, kept, hop_s, true_xx, axes=axes[1:3])
    plot_moments(true_xx, moments, annotation.duration, ax=axes[3])
    axes[3].set_ylabel("moments")
    for ax in axes[:3]:
        ax.set_xlabel("")
    return fig


def seed_table(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> pd.DataFrame:
    """Table I rows as ``mean ± sd`` cells (the mean alone for single runs), indexed by
    method, features and number of seeds."""
    table = pd.DataFrame(spread_cells(rows, ("method", "features", "n_seeds"), metrics)).T
    table.index.names = ["method", "features", "seeds"]
    return table


def plot_discrimination(shares: Mapping[str, Discrimination], ax: Axes | None = None) -> Axes:
    """One stacked bar per method: the share of top moments on the queried event, on
    another event of the recording, or on neither (percent; labelled from 6 %)."""
    ax = ax or plt.subplots(figsize=(8, 2.2), layout="constrained")[1]
    colors = {"on_queried": TRUE_COLOR, "on_other": BASELINE_COLOR, "on_neither": "#bbbbbb"}
    for row, share in enumerate(shares.values()):
        left = 0.0
        for field, color in colors.items():
            value = getattr(share, field)
            ax.barh(row, value, left=left, color=color,
                    label=field.replace("_", " ") + " event" if row == 0 else None)
            if value >= 6:
                ax.text(left + value / 2, row, f"{value:.0f} %", ha="center", va="center",
                        fontsize=9)
            left += value
    ax.set(yticks=range(len(shares)), yticklabels=list(shares), xlim=(0, 100),
           xlabel="share of queries on recordings with several events (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, frameon=False,
              fontsize=8)
    return ax


def head_to_head(detr_ious: np.ndarray, baseline_ious: np.ndarray) -> dict[str, int]:
    """The query where AM-DETR's top moment beats the baseline's by the largest IoU
    margin, and the one where the baseline wins by most (only when it ever wins)."""
    margin = np.asarray(detr_ious) - np.asarray(baseline_ious)
    picks = {"AM-DETR wins": int(np.argmax(margin))}
    if margin.min() < 0:
        picks["baseline wins"] = int(np.argmin(margin))
    return picks


def plot_head_to_head(picks: Mapping[str, int], annotations: Sequence[MomentAnnotation],
                      mixtures: Mapping[str, np.ndarray], sample_rate: int,
                      detr: Sequence[MomentPrediction],
                      baseline: Sequence[MomentPrediction]) -> Figure:
    """Per pick: the spectrogram with the queried event (the recording's other events
    lightly shaded) and both methods' top moments as bars over the true windows."""
    fig, axes = plt.subplots(2 * len(picks), 1, figsize=(9, 3.4 * len(picks)),
                             layout="constrained", height_ratios=[2, 0.7] * len(picks))
    for number, (title, index) in enumerate(picks.items()):
        annotation = annotations[index]
        spec, bars = axes[2 * number], axes[2 * number + 1]
        plot_spectrogram(mixtures[title], sample_rate, ax=spec,
                         moments_xx=annotation.relevant_windows.tolist())
        for start, end in other_windows(annotations, annotation):
            spec.axvspan(start, end, color="white", alpha=0.15, lw=0)
        spec.set_title(f"{title}: {annotation.query!r}", loc="left", fontsize=10)
        for row, predictions in enumerate((detr, baseline)):
            start, end = predictions[index].pred_relevant_windows[0, :2]
            bars.plot([start, end], [row, row], lw=6, solid_capstyle="butt",
                      color=(DETR_COLOR, BASELINE_COLOR)[row])
        for start, end in annotation.relevant_windows:
            bars.axvspan(start, end, color=TRUE_COLOR, alpha=0.25, lw=0)
        bars.set(yticks=[0, 1], yticklabels=["AM-DETR", "baseline"], ylim=(-0.6, 1.6),
                 xlim=spec.get_xlim(), xlabel="time (s)")
    return fig


def other_windows(annotations: Sequence[MomentAnnotation],
                  annotation: MomentAnnotation) -> np.ndarray:
    """``(M, 2)`` the first window of every other query on ``annotation``'s recording."""
    rows = [o.relevant_windows[0] for o in annotations
            if o.vid == annotation.vid and o.qid != annotation.qid]
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def where_top_lands(predictions: Sequence[MomentPrediction],
                    annotations: Sequence[MomentAnnotation], index: int) -> str:
    """"on the queried event", "on another event" or "on no event" for one query."""
    return LANDING[top_moment_lands(predictions[index], annotations[index],
                                    other_event_windows(annotations)[index])]


def quartile_rates(frame: pd.DataFrame, column: str, methods: Sequence[str]
                   ) -> tuple[pd.Series, pd.DataFrame]:
    """Cut ``frame[column]`` into quarters: each quarter's median of the column, and
    each method's hit rate there (percent; the methods' columns hold 0/1 hits)."""
    groups = pd.qcut(frame[column], 4, duplicates="drop")
    rates = 100 * frame.groupby(groups, observed=True)[list(methods)].mean()
    return frame.groupby(groups, observed=True)[column].median(), rates


def quartile_trend(frame: pd.DataFrame, column: str, method: str) -> float:
    """Percentage points from the lowest to the highest quarter of ``column``."""
    groups = pd.qcut(frame[column], 4, duplicates="drop")
    rates = frame.groupby(groups, observed=True)[method].mean()
    return float(100 * (rates.iloc[-1] - rates.iloc[0]))


def plot_quartile_rates(frame: pd.DataFrame, columns: Sequence[str],
                        metric: str = "R1@0.7") -> Figure:
    """One panel per column: AM-DETR's and the baseline's hit rate per quarter."""
    fig, axes = plt.subplots(1, len(columns), figsize=(10, 3.2), layout="constrained",
                             sharey=True, squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        centres, rates = quartile_rates(frame, column, ["baseline", "AM-DETR"])
        for name, color in (("AM-DETR", DETR_COLOR), ("baseline", BASELINE_COLOR)):
            ax.plot(centres, rates[name], marker="o", color=color, label=name)
        ax.set(xlabel=f"{column}, group median", ylim=(0, 100))
    axes[0, 0].set_ylabel(f"{metric} (%)")
    axes[0, 0].legend(frameon=False)
    return fig
