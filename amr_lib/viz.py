"""Figures for the book: moments on a timeline, IoU, precision-recall, audio, trimming and
the sliding-window baseline.

Each function draws on a matplotlib ``Axes`` it is given (or a new one) and returns it, so
chapters compose them into their own layouts. Times are in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from scipy.signal import stft

from amr_lib.audio import mean_power, power_to_db
from amr_lib.metrics import interpolated_precision
from amr_lib.spans import generalized_temporal_iou_paired, temporal_iou_paired

GROUND_TRUTH_COLOR = "#2a9d8f"
PREDICTION_COLOR = "#e76f51"


def plot_moments(
    ground_truth_xx: Sequence[Sequence[float]],
    predictions: Sequence[Sequence[float]] = (),
    duration: float = 60.0,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Ground-truth moments as shaded bands, predictions ``(start, end, score)`` as bars.

    Predictions are drawn one per row in the order given (rank 1 at the top), labelled with
    their score.
    """
    ax = ax or plt.subplots(figsize=(8, 0.6 + 0.35 * max(len(predictions), 1)))[1]
    _shade(ax, ground_truth_xx)
    for rank, (start, end, score) in enumerate(predictions):
        y = len(predictions) - rank
        ax.plot([start, end], [y, y], color=PREDICTION_COLOR, lw=5, solid_capstyle="butt")
        ax.annotate(f"{score:.2f}", (end, y), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set(xlim=(0, duration), ylim=(0.3, len(predictions) + 0.7), xlabel="time (s)",
           yticks=range(1, len(predictions) + 1),
           yticklabels=[f"#{len(predictions) - i}" for i in range(len(predictions))])
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    return ax


def plot_iou(span_a_xx: Sequence[float], span_b_xx: Sequence[float],
             ax: Axes | None = None) -> Axes:
    """Two spans, their intersection and their hull, with IoU and gIoU in the title."""
    ax = ax or plt.subplots(figsize=(8, 1.8))[1]
    a, b = np.asarray(span_a_xx, float), np.asarray(span_b_xx, float)
    ax.plot(a, [2, 2], color=GROUND_TRUTH_COLOR, lw=8, solid_capstyle="butt", label="A")
    ax.plot(b, [1, 1], color=PREDICTION_COLOR, lw=8, solid_capstyle="butt", label="B")
    low, high = max(a[0], b[0]), min(a[1], b[1])
    if high > low:
        ax.axvspan(low, high, color="0.5", alpha=0.3, lw=0, label="A ∩ B")
    hull = (min(a[0], b[0]), max(a[1], b[1]))
    ax.annotate("", xy=(hull[0], 0.4), xytext=(hull[1], 0.4),
                arrowprops={"arrowstyle": "<->", "color": "0.3"})
    ax.text(np.mean(hull), 0.55, "hull", ha="center", fontsize=8, color="0.3")
    iou = float(temporal_iou_paired(a, b))
    giou = float(generalized_temporal_iou_paired(a, b))
    margin = 0.05 * (hull[1] - hull[0] or 1.0)
    ax.set(xlim=(hull[0] - margin, hull[1] + margin), ylim=(0, 2.6), yticks=[],
           xlabel="time (s)", title=f"IoU = {iou:.3f}    gIoU = {giou:.3f}")
    ax.legend(loc="upper right", fontsize=8, ncol=3, frameon=False)
    return ax


def plot_precision_recall(true_positive: np.ndarray, num_ground_truth: int,
                          ax: Axes | None = None, label: str = "") -> Axes:
    """Precision-recall of one ranked list (``(K,)`` bool hits) and its interpolated envelope.

    The shaded area under the envelope is the query's average precision.
    """
    ax = ax or plt.subplots(figsize=(4, 3))[1]
    hits = np.asarray(true_positive, bool)
    ranks = np.arange(1, len(hits) + 1)
    precision = np.cumsum(hits) / ranks
    recall = np.cumsum(hits) / num_ground_truth
    envelope = interpolated_precision(hits, np.ones_like(hits))
    ap = float((envelope * hits).sum() / num_ground_truth)
    line = ax.plot(recall, precision, "o", alpha=0.6)[0]
    steps_recall = np.concatenate([[0.0], recall[hits]])
    steps_precision = np.concatenate([envelope[hits], [0.0]])
    ax.step(steps_recall, steps_precision, where="post", color=line.get_color(),
            label=f"{label} AP = {ap:.3f}".strip())
    ax.fill_between(steps_recall, steps_precision, step="post", color=line.get_color(),
                    alpha=0.15)
    ax.set(xlim=(0, 1.05), ylim=(0, 1.05), xlabel="recall", ylabel="precision")
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_waveform(audio: np.ndarray, sample_rate: int, ax: Axes | None = None,
                  moments_xx: Sequence[Sequence[float]] = ()) -> Axes:
    """``(N,)`` waveform against time in seconds, with moments shaded."""
    ax = ax or plt.subplots(figsize=(9, 1.8))[1]
    time = np.arange(len(audio)) / sample_rate
    ax.plot(time, audio, lw=0.3, color="0.25")
    _shade(ax, moments_xx)
    ax.set(xlim=(0, len(audio) / sample_rate), ylabel="amplitude", xlabel="time (s)")
    return ax


def plot_spectrogram(audio: np.ndarray, sample_rate: int, ax: Axes | None = None,
                     moments_xx: Sequence[Sequence[float]] = (), window_s: float = 0.032,
                     hop_s: float = 0.016, max_hz: float | None = None,
                     colorbar: bool = True, moment_label: str = "true moment") -> Axes:
    """Log-power STFT spectrogram (dB relative to its peak, 60 dB range) with a colour bar,
    and the start and end of each moment as dashed lines, labelled once in a legend."""
    ax = ax or plt.subplots(figsize=(9, 2.6))[1]
    window = round(window_s * sample_rate)
    frequencies, times, spectrum = stft(audio, fs=sample_rate, nperseg=window,
                                        noverlap=window - round(hop_s * sample_rate))
    level = power_to_db(np.abs(spectrum) ** 2)
    level = level - level.max()
    top = max_hz or sample_rate / 2
    image = ax.imshow(level, origin="lower", aspect="auto", cmap="magma",
                      extent=(times[0], times[-1], frequencies[0], frequencies[-1]),
                      vmin=-60, vmax=0)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, pad=0.01, label="level (dB re peak)")
    for index, (start, end) in enumerate(moments_xx):
        for edge in (start, end):
            ax.axvline(edge, color="white", lw=1.2, ls="--",
                       label=moment_label if index == 0 and edge == start else None)
    if len(moments_xx):
        ax.legend(loc="upper right", fontsize=8, framealpha=0.7)
    ax.set(ylim=(0, top), ylabel="frequency (Hz)", xlabel="time (s)")
    return ax


def plot_trimming(audio: np.ndarray, sample_rate: int, span_s: tuple[float, float],
                  thresholds_db: dict[str, float], ax: Axes | None = None) -> Axes:
    """Per-second power of a clip (bars), its mean power minus each threshold (lines), and
    the kept span ``span_s`` (shaded)."""
    ax = ax or plt.subplots(figsize=(8, 2.6))[1]
    num_seconds = len(audio) // sample_rate
    seconds = audio[: num_seconds * sample_rate].reshape(num_seconds, sample_rate)
    levels = power_to_db(np.mean(seconds.astype(np.float64) ** 2, axis=1))
    mean_level = power_to_db(mean_power(audio))
    ax.bar(np.arange(num_seconds) + 0.5, levels - levels.min() + 1, bottom=levels.min() - 1,
           width=0.9, color="0.6", label="power of each whole second")
    for (label, threshold), style in zip(thresholds_db.items(), ("-", "--", ":"), strict=False):
        ax.axhline(mean_level - threshold, color="black", ls=style, lw=1.2,
                   label=f"{label}: mean - {threshold:g} dB")
    ax.axvspan(*span_s, color=GROUND_TRUTH_COLOR, alpha=0.25, lw=0, label="kept span")
    ax.set(xlabel="time in clip (s)", ylabel="power (dB)", xlim=(0, len(audio) / sample_rate))
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


MAX_SPECTROGRAM_FRAMES = 4000     # columns drawn; longer recordings get a coarser hop


def plot_found_moments(audio: np.ndarray, sample_rate: int,
                       moments: Sequence[Sequence[float]], query: str | None = None,
                       ax: Axes | None = None) -> Axes:
    """The recording's spectrogram with found ``moments`` ``(start_s, end_s, score)``
    (best first) as bands labelled with their rank and score. The STFT hop grows with the
    recording so that at most :data:`MAX_SPECTROGRAM_FRAMES` columns are computed."""
    ax = ax or plt.subplots(figsize=(10, 3))[1]
    duration = len(audio) / sample_rate
    hop_s = max(0.016, duration / MAX_SPECTROGRAM_FRAMES)
    plot_spectrogram(audio, sample_rate, ax=ax, window_s=max(0.032, 2 * hop_s), hop_s=hop_s)
    for rank, (start, end, score) in enumerate(moments, start=1):
        ax.axvspan(start, end, color=PREDICTION_COLOR, alpha=0.3 if rank == 1 else 0.15,
                   lw=0)
        ax.annotate(f"#{rank} {score:.2f}", (start, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2, -2 - 11 * ((rank - 1) % 3)), textcoords="offset points",
                    va="top", fontsize=8, color="white")
    if query:
        ax.set_title(f"moments for {query!r}", loc="left", fontsize=10)
    return ax


def plot_similarity_steps(similarity: np.ndarray, threshold: float, marks: np.ndarray,
                          filtered: np.ndarray, hop_s: float,
                          ground_truth_xx: Sequence[Sequence[float]] = (),
                          axes: Sequence[Axes] | None = None) -> Sequence[Axes]:
    """The baseline's middle steps on two axes: the ``(T,)`` similarity per frame with the
    threshold, then the frames' marks before and after the median filter (two rows)."""
    if axes is None:
        axes = plt.subplots(2, 1, figsize=(9, 3.2), sharex=True)[1]
    curve_ax, marks_ax = axes
    edges = np.arange(len(similarity) + 1) * hop_s
    for ax in axes:
        _shade(ax, ground_truth_xx)
    curve_ax.stairs(similarity, edges, color="#264653", lw=1.5, label="similarity")
    curve_ax.axhline(threshold, color=PREDICTION_COLOR, ls="--", lw=1.2,
                     label=f"threshold {threshold:.3f}")
    curve_ax.set(ylabel="cosine")
    curve_ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    for row, values in enumerate((filtered, marks)):      # filtered below, raw above
        for start, stop in zip(edges[:-1][values], edges[1:][values], strict=True):
            marks_ax.fill_between([start, stop], row + 0.15, row + 0.85, color="#264653",
                                  lw=0)
    marks_ax.set(ylim=(0, 2), yticks=[0.5, 1.5], yticklabels=["filtered", "thresholded"],
                 xlim=(0, edges[-1]), xlabel="time (s)")
    return axes


def plot_grid(scores: np.ndarray, thresholds: np.ndarray, filter_lengths: Sequence[int],
              best: tuple[float, int] | None = None, ax: Axes | None = None,
              label: str = "average mAP (%)") -> Axes:
    """A heat map of ``scores (F, H)`` over thresholds (x) and filter lengths (y), with a
    colour bar, and the chosen ``(threshold, filter length)`` marked by a star."""
    ax = ax or plt.subplots(figsize=(9, 3))[1]
    step = (thresholds[-1] - thresholds[0]) / max(len(thresholds) - 1, 1)
    image = ax.imshow(scores, origin="lower", aspect="auto", cmap="viridis",
                      extent=(thresholds[0] - step / 2, thresholds[-1] + step / 2,
                              -0.5, len(filter_lengths) - 0.5))
    ax.figure.colorbar(image, ax=ax, pad=0.01, label=label)
    ax.set(yticks=range(len(filter_lengths)), yticklabels=[str(n) for n in filter_lengths],
           xlabel="threshold (cosine similarity)", ylabel="median filter (frames)")
    if best is not None:
        ax.plot(best[0], list(filter_lengths).index(best[1]), marker="*", ms=14,
                color="white", mec="black", ls="none", label="chosen")
        ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    return ax


METHOD_STYLES = {"am-detr": ("AM-DETR", "#264653", "o"),
                 "baseline": ("baseline", "#e76f51", "s")}


def plot_study(rows: Sequence[dict], metric: str = "mAP", ax: Axes | None = None,
               log2_x: bool = False, live: dict[str, tuple[float, float]] | None = None
               ) -> Axes:
    """One ablation study as the paper's Fig. 3: ``metric`` against the rows' ``value``,
    one line per method, error bars of one standard deviation over seeds (none for a
    method of one run per point, such as the deterministic baseline). ``live`` maps a
    method to one ``(value, metric)`` point of this run, drawn as an open marker."""
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    for method in dict.fromkeys(row["method"] for row in rows):
        label, color, marker = METHOD_STYLES.get(method, (method, "#555555", "^"))
        mine = [row for row in rows if row["method"] == method]
        seeds = max(row.get("n_seeds", 1) for row in mine)
        # a deterministic method (one run per point) has no spread to claim
        spread = f"mean ± sd over {seeds} seeds" if seeds > 1 else "one run, deterministic"
        ax.errorbar([row["value"] for row in mine], [row[metric] for row in mine],
                    yerr=([row[f"{metric}_std"] for row in mine] if seeds > 1 else None),
                    color=color, marker=marker, capsize=3, lw=1.5,
                    label=f"{label} ({spread})")
        if live and method in live:
            ax.plot(*live[method], marker=marker, ms=11, mfc="none", mec=color, mew=1.5,
                    ls="none", label=f"{label}, this run")
    if log2_x:
        ax.set_xscale("log", base=2)
        values = sorted({row["value"] for row in rows})
        ax.set_xticks(values, [f"{v:g}" if v >= 1 else f"1/{round(1 / v)}" for v in values])
        ax.minorticks_off()
    ax.set(ylabel=f"{metric} (%)" if metric.startswith(("R1", "mAP")) else metric)
    ax.legend(fontsize=8, frameon=False)
    return ax


def _shade(ax: Axes, moments_xx: Sequence[Sequence[float]]) -> None:
    for start, end in moments_xx:
        ax.axvspan(start, end, color=GROUND_TRUTH_COLOR, alpha=0.25, lw=0)
