"""Chapter 6 (ablations): the committed grid it reads, the example it shows (chosen by
rule), the measures it reads off similarity curves, the verdicts it glues into the prose,
and its figures and tables.

A row is one point of an ``ablations.json`` (:func:`amr_lib.experiments.ablations.
read_ablations`): ``study``, ``value`` (window seconds, data scale or encoder name),
``method``, ``features``, ``n_seeds`` and each metric in percent with its ``_std``. A curve
is a ``(T,)`` cosine similarity per frame, one frame every ``hop_s`` seconds; a moment is
``(start, end)`` in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from amr_lib.book.pages import Committed, committed, spread_cell, spread_cells
from amr_lib.experiments.ablations import study_rows
from amr_lib.experiments.evidence import compare_rows
from amr_lib.experiments.results import mean_and_spread
from amr_lib.experiments.scoreboard import BASELINE_PREFERS_LONG, SHORT_WINDOWS_SUIT_DETR
from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.viz import plot_spectrogram

Row = Mapping[str, Any]
TABLE_METRICS = ("R1@0.5", "R1@0.7", "mAP")
WINDOW_COLORS = {1.0: "#264653", 4.0: "#2a9d8f", 7.0: "#e9c46a"}   # by window seconds
CURVE_COLOR, MOMENT_COLOR = "#264653", "#e76f51"
SHORT_EVENT_S = 3.0          # the longest event the window example may show
INNER_MARGIN_S = 4.0         # preferred distance of that event from both ends
METHOD_NAMES = {"am-detr": "AM-DETR", "baseline": "the baseline"}


# --- the committed grid -------------------------------------------------------------------

def committed_grid(profile: str) -> tuple[Committed, bool]:
    """``ablations_<profile>.json`` with its provenance, and ``True``: the live points can
    be compared with it. Without one, the quick profile's grid (saying so) and ``False``."""
    grid = committed(f"ablations_{profile}.json")
    if grid is not None:
        return grid, True
    print(f"no committed ablations for the {profile!r} profile (make them with: amr "
          f"experiment ablations --profile {profile} --out DIR); the figures show the "
          "quick profile's, and the live points are not compared with them")
    quick = committed("ablations_quick.json")
    if quick is None:
        raise FileNotFoundError("no committed ablations_quick.json in book/data")
    return quick, False


def scale_label(value: float) -> str:
    """A data scale as the chapter writes it: ``1/8`` below the split, ``2x`` from it."""
    return f"{value:g}x" if value >= 1 else f"1/{round(1 / value)}"


def setting_label(row: Row) -> str:
    """A row's setting: ``4 s`` (window), ``1/8`` or ``2x`` (data), the encoder name."""
    value = row["value"]
    if row["study"] == "data":
        return scale_label(value)
    return f"{value:g} s" if row["study"] == "window" else value


def grid_table(rows: Sequence[Row], metrics: Sequence[str] = TABLE_METRICS) -> pd.DataFrame:
    """Every point as ``mean ± sd`` cells (the mean alone for one run), indexed by study,
    setting, method and number of seeds, in file order."""
    labelled = [{**row, "setting": setting_label(row)} for row in rows]
    table = pd.DataFrame(spread_cells(labelled, ("study", "setting", "method", "n_seeds"),
                                      metrics)).T
    table.index.names = ["study", "setting", "method", "seeds"]
    return table


def point_row(rows: Sequence[Row], study: str, value: float | str, method: str) -> Row:
    """The row of one point; ``KeyError`` when the grid lacks it."""
    for row in rows:
        if row["study"] == study and row["value"] == value and row["method"] == method:
            return row
    raise KeyError(f"no {method} point at {value!r} in the {study} study")


# --- comparing points ---------------------------------------------------------------------

def best_row(rows: Sequence[Row], method: str, study: str = "window") -> Row:
    """``method``'s point of ``study`` with the highest average mAP (the first of equals)."""
    return max(study_rows(rows, study, method), key=lambda row: row["mAP"])


def row_at(rows: Sequence[Row], method: str, value: float | str, study: str = "window"
           ) -> Row:
    """``method``'s point of ``study`` at ``value``."""
    return next(row for row in study_rows(rows, study, method) if row["value"] == value)


def window_label(rows: Sequence[Row], value: float) -> str:
    """``the shortest, 1 s window`` for the study's shortest window, else ``the 4 s
    window``."""
    shortest = min(row["value"] for row in study_rows(rows, "window"))
    return f"the shortest, {value:g} s window" if value == shortest else f"the {value:g} s window"


def window_verdict(rows: Sequence[Row], name: str, method: str) -> str:
    """Which window ``method`` (called ``name`` in the sentence) scores highest with; no
    verdict on the paper's finding here: that is the evidence rule's, in the claims table
    (:func:`amr_lib.book.pages.claims_table`)."""
    return f"{name} scores highest with {window_label(rows, best_row(rows, method)['value'])}"


def window_claims_sentence(board: Sequence[Mapping[str, Any]], source: str) -> str:
    """The evidence rule's verdicts on the paper's two window findings, as scored on the
    scoreboard (``board``: :func:`amr_lib.experiments.scoreboard.scoreboard`'s rows) from
    the window study in ``source``."""
    words = {"agrees": "agrees with", "contradicts": "contradicts",
             "unresolved": "leaves open"}
    scored = {row["claim"]: row for row in board if row["source"] == source}
    missing = {SHORT_WINDOWS_SUIT_DETR, BASELINE_PREFERS_LONG} - set(scored)
    if missing:
        raise KeyError(f"the scoreboard has no row from {source} for {sorted(missing)}")
    detr, base = scored[SHORT_WINDOWS_SUIT_DETR], scored[BASELINE_PREFERS_LONG]
    return (f"by the evidence rule, this study {words[detr['verdict']]} the paper's window "
            f"finding for AM-DETR and {words[base['verdict']]} its finding for the baseline")


def window_summary(rows: Sequence[Row]) -> str:
    """How far apart each method's best and worst windows lie in average mAP (points), and
    which window is its best."""
    parts = []
    for method, name in METHOD_NAMES.items():
        maps = [r["mAP"] for r in study_rows(rows, "window", method)]
        best = best_row(rows, method)["value"]
        unit = "" if parts else " points"
        parts.append(f"{np.ptp(maps):.1f}{unit} for {name} (best at {best:g} s)")
    return ("across 1 to 7 s windows, average mAP spans " + " and ".join(parts)
            + " here")


def stalled_runs(rows: Sequence[Row], study: str = "window", ratio: float = 0.5
                 ) -> list[dict[str, Any]]:
    """AM-DETR runs of ``study`` whose best validation mAP stayed under ``ratio`` times
    the median best of their setting's seeds: runs the early stop ended before they took
    off. Each: the setting's ``value``, ``seed``, ``best`` (validation mAP), its ``epoch``,
    the ``epochs`` run and their ``cap``, the setting's ``median`` best, and its test
    average mAP over all its seeds (``mean``) and over those that did not stall
    (``mean_without``). Seeds without a training curve are not judged."""
    found = []
    for row in study_rows(rows, study, "am-detr"):
        seeds = row.get("per_seed") or []
        bests = {}
        for point in seeds:
            training = point.get("training") or {}
            if curve := training.get("curve"):
                top = max(curve, key=lambda epoch: epoch["valid_mAP"])
                bests[point["seed"]] = (top["valid_mAP"], top["epoch"], len(curve),
                                        training.get("epoch_cap"))
        if len(bests) < 2:
            continue
        median = float(np.median([best for best, *_ in bests.values()]))
        stalled = {seed for seed, (best, *_) in bests.items() if best < ratio * median}
        kept = [point["mAP"] for point in seeds if point["seed"] not in stalled]
        found += [{"value": row["value"], "seed": seed, "best": best, "epoch": epoch,
                   "epochs": epochs, "cap": cap, "median": median,
                   "mean": float(np.mean([point["mAP"] for point in seeds])),
                   "mean_without": float(np.mean(kept)) if kept else None}
                  for seed, (best, epoch, epochs, cap) in sorted(bests.items())
                  if seed in stalled]
    return found


def _value_text(value: float | str, unit: str) -> str:
    """A study's setting in a sentence: ``7 s`` for a number, the name itself otherwise."""
    return f"{value:g}{unit}" if isinstance(value, int | float) else str(value)


def _stalled_run_text(run: Mapping[str, Any], unit: str, setting: str) -> str:
    """One stalled run, without semicolons (they separate runs)."""
    ended = (f"it ran to its cap of {run['cap']} epochs" if run["cap"] and
             run["epochs"] >= run["cap"] else
             f"early stopping ended it at epoch {run['epochs']}"
             + (f" of a cap of {run['cap']}" if run["cap"] else ""))
    return (f"{_value_text(run['value'], unit)}, seed {run['seed']}: best validation mAP "
            f"{run['best']:.1f} at epoch {run['epoch']}, under half the {run['median']:.1f} "
            f"median of its {setting}'s seeds, and {ended}")


def stalled_sentence(rows: Sequence[Row], study: str = "window", unit: str = " s",
                     setting: str = "window") -> str:
    """Names the :func:`stalled_runs` of ``study`` (they stay in the means) and what each
    affected setting's test mean would be without them, or says there are none.
    ``setting`` names a point of the study in the sentence."""
    stalled = stalled_runs(rows, study)
    if not stalled:
        return ("every AM-DETR run took off: no seed's best validation mAP is under half "
                f"the median of its {setting}'s seeds")
    named = "; ".join(_stalled_run_text(run, unit, setting) for run in stalled)
    by_value = {run["value"]: run for run in stalled if run["mean_without"] is not None}
    effect = " and ".join(f"{run['mean_without']:.2f} instead of {run['mean']:.2f} at "
                          f"{_value_text(value, unit)}" for value, run in by_value.items())
    one = len(stalled) == 1
    runs, stay = (("one AM-DETR run", "it stays in its mean") if one else
                  (f"{len(stalled)} AM-DETR runs", "they stay in their means"))
    return (f"{runs} never took off ({named}); {stay}"
            + (f", and without {'it' if one else 'them'} the test average mAP would be "
               f"{effect}" if effect else ""))


def best_windows_sentence(rows: Sequence[Row]) -> str:
    """Which window each method scores highest with, in one clause when they agree."""
    best = {method: best_row(rows, method)["value"] for method in METHOD_NAMES}
    if len(set(best.values())) > 1:
        return " and ".join(window_verdict(rows, name, method)
                            for method, name in METHOD_NAMES.items())
    return f"both methods score highest with {window_label(rows, next(iter(best.values())))}"


def window_ends_sentence(rows: Sequence[Row]) -> str:
    """Each method's average mAP at the shortest and the longest window of the study."""
    ends = {method: window_ends(rows, method) for method in METHOD_NAMES}
    short, long = next(iter(ends.values()))
    moves = " and ".join(f"from {first['mAP']:.2f} to {last['mAP']:.2f} for {name}"
                         for (first, last), name in zip(ends.values(), METHOD_NAMES.values(),
                                                        strict=True))
    return (f"from {short['value']:g} to {long['value']:g} s windows, average mAP goes "
            + moves)


def best_against_best_sentence(rows: Sequence[Row], own_window_s: float, seeds: int,
                               own_comparison: str) -> str:
    """Each method at its own best window, AM-DETR minus the baseline in average mAP over
    test queries and seeds: ``own_comparison`` (the chapter's Table I, made with the
    profile's ``own_window_s``) again when both best windows are that one, here on the
    study's ``seeds``."""
    detr, base = best_row(rows, "am-detr"), best_row(rows, "baseline")
    difference = compare_rows(detr, base, "mAP")
    measured = (f"{difference.cell(2)} points" if difference else
                "not available (the rows hold no per-query values)")
    if detr["value"] == base["value"] == own_window_s:
        return (f"Both methods score best with {own_window_s:g} s windows, the profile's "
                f"own, so each method at its best window is {own_comparison} again, here "
                f"on this study's {seeds} seed{'s' * (seeds != 1)}: AM-DETR minus the "
                f"baseline, {measured} of average mAP")
    return ("Each method at its own best window asks the paper's central claim once more "
            f"(AM-DETR at {detr['value']:g} s, the baseline at {base['value']:g} s). The "
            "best windows were chosen on the test curve above, after seeing it, so the "
            "comparison is information, not a verdict: AM-DETR minus the baseline, "
            f"{measured} of average mAP over the test queries and seeds")


def window_ends(rows: Sequence[Row], method: str) -> tuple[Row, Row]:
    """``method``'s points at the shortest and the longest window of the study."""
    points = study_rows(rows, "window", method)
    return (min(points, key=lambda row: row["value"]),
            max(points, key=lambda row: row["value"]))


def baseline_peak_sentence(rows: Sequence[Row]) -> str:
    """When the baseline's best window lies inside the study (neither the shortest nor the
    longest), what the ends-of-the-study claim misses: the best window against the shortest
    by the evidence rule, named as a comparison chosen after seeing the curve. Empty
    otherwise, or when the rows hold no per-query values."""
    best = best_row(rows, "baseline")
    shortest, longest = window_ends(rows, "baseline")
    if best is shortest or best is longest:
        return ""
    difference = compare_rows(best, shortest, "mAP")
    if difference is None:
        return ""
    ends = compare_rows(longest, shortest, "mAP")
    if ends.verdict() == "unresolved":
        tail = f"while {longest['value']:g} s is not told apart from it ({ends.cell()})"
    else:
        side = "still beats it" if ends.mean > 0 else "falls below it"
        tail = f"while {longest['value']:g} s {side} ({ends.cell()})"
    return (f"The window claims compare the ends of the study, for both methods; the "
            f"baseline's curve peaks in between, at {best['value']:g} s, which beats "
            f"{shortest['value']:g} s by {difference.cell()} points of average mAP by the "
            f"same rule, {tail}. So a longer window helps the baseline up to a point on "
            f"this profile; that comparison was chosen after seeing the curve, so it is not "
            f"counted as a verdict.")


STRICTNESS = ("mAP@0.5", "mAP@0.75", "mAP")     # a loose threshold, a strict one, all ten


def window_gains_by_strictness(rows: Sequence[Row], method: str) -> list[float]:
    """Points of mAP that ``method``'s shortest window gains over its longest, at each of
    :data:`STRICTNESS` (IoU 0.5, IoU 0.75, averaged over IoU 0.5 to 0.95)."""
    short, long = window_ends(rows, method)
    return [short[metric] - long[metric] for metric in STRICTNESS]


def strictness_sentence(rows: Sequence[Row]) -> str:
    """The window study split by IoU threshold for both methods, and, for each method whose
    shorter window fares better the stricter the threshold, what that says: a longer window
    that costs more at strict thresholds blurs edges more than it hides events; one that
    helps at IoU 0.5 finds more events, a help the strict thresholds take back."""
    gains = {m: window_gains_by_strictness(rows, m) for m in METHOD_NAMES}
    listed = " and ".join(f"{' / '.join(f'{g:+.1f}' for g in gains[m])} for "
                          f"{METHOD_NAMES[m]}" for m in METHOD_NAMES)
    text = ("from the longest window to the shortest, mAP at IoU 0.5 / at IoU 0.75 / "
            f"averaged over IoU 0.5 to 0.95 changes by {listed}")
    readings = []
    for method, (loose, strict, average) in gains.items():
        if not loose < strict < average:
            continue
        name = METHOD_NAMES[method]
        if loose >= 0:
            readings.append(f"for {name}, the longer window costs more the stricter the "
                            "threshold: it blurs where an event's edges fall more than it "
                            "hides the event")
        else:
            taken = "is gone" if average >= 0 else "shrinks"
            readings.append(f"for {name}, the longer window helps at IoU 0.5 (it finds "
                            f"more events), and that help {taken} at the strict thresholds")
    return text + (": " + "; ".join(readings) if readings else "")


def loss_phrase(gains: Mapping[str, float]) -> str:
    """``loses 58.2 points of R1@0.7 and 44.6 of average mAP`` from the gains (points) of
    the trained encoder over the untrained one; signed when either is not a loss."""
    r07, average = gains["R1@0.7"], gains["mAP"]
    if r07 >= 0 and average >= 0:
        return f"loses {r07:.1f} points of R1@0.7 and {average:.1f} of average mAP"
    return (f"changes by {-r07:+.1f} points of R1@0.7 and {-average:+.1f} of average "
            "mAP")


# --- the example recording and its curves -------------------------------------------------

def inside_frames(moment: Sequence[float], frames: int, hop_s: float) -> np.ndarray:
    """``(frames,)`` bool: the frames that overlap ``moment``."""
    start, end = moment
    inside = np.zeros(frames, bool)
    inside[int(start / hop_s) : int(np.ceil(end / hop_s))] = True
    return inside


def clarity(curve: np.ndarray, moment: Sequence[float], hop_s: float) -> float:
    """How far a curve's highest frame inside ``moment`` stands above its highest outside."""
    inside = inside_frames(moment, len(curve), hop_s)
    return curve[inside].max() - curve[~inside].max()


def is_short(annotation: MomentAnnotation, margin_s: float = 0.0) -> bool:
    """Does the first true window last at most 3 s and lie ``margin_s`` from both ends?"""
    start, end = annotation.relevant_windows[0]
    return (end - start <= SHORT_EVENT_S and margin_s <= start
            and end <= annotation.duration - margin_s)


def short_events(annotations: Sequence[MomentAnnotation], margin_s: float = 0.0
                 ) -> list[int]:
    """Indices of the queries whose event is short (:func:`is_short`)."""
    return [i for i, a in enumerate(annotations) if is_short(a, margin_s)]


def clearest_short_event(annotations: Sequence[MomentAnnotation],
                         similarities: Sequence[np.ndarray], hop_s: float) -> int:
    """The window example: among the short events at least 4 s from both ends of their
    recording (all short events when there is none), the one whose ``(T,)`` 1 s curve in
    ``similarities`` stands out most clearly inside it (:func:`clarity`)."""
    short = short_events(annotations)
    inner = short_events(annotations, margin_s=INNER_MARGIN_S)   # blur shows on both sides
    return max(inner or short, key=lambda i: clarity(
        similarities[i], annotations[i].relevant_windows[0], hop_s))


def peak_width(curve: np.ndarray, hop_s: float) -> float:
    """Seconds of the run of frames around the peak above half its height (half-way
    between the curve's median and its maximum)."""
    level = (np.median(curve) + curve.max()) / 2
    peak = int(np.argmax(curve))
    first, last = peak, peak
    while first > 0 and curve[first - 1] > level:
        first -= 1
    while last + 1 < len(curve) and curve[last + 1] > level:
        last += 1
    return (last - first + 1) * hop_s


def peak_table(widths: Mapping[float, float], heights: Mapping[float, float]
               ) -> pd.DataFrame:
    """Peak width (s) and height above the median (3 decimals) per window (s)."""
    return pd.DataFrame({
        "peak width (s)": widths,
        "peak above median": {w: round(h, 3) for w, h in heights.items()},
    }).rename_axis("window (s)")


def contrast(curve: np.ndarray, moment: Sequence[float], hop_s: float) -> float:
    """Mean of the frames inside ``moment`` minus the mean of the others, in standard
    deviations of the whole curve (1 when it is flat)."""
    inside = inside_frames(moment, len(curve), hop_s)
    spread = curve.std() or 1.0
    return (curve[inside].mean() - curve[~inside].mean()) / spread


def _stairs(ax: Axes, curve: np.ndarray, hop_s: float, **style: Any) -> None:
    ax.stairs(curve, np.arange(len(curve) + 1) * hop_s, baseline=None, lw=1.8, **style)


def plot_window_blur(mixture: np.ndarray, sample_rate: int,
                     curves: Mapping[float, np.ndarray], hop_s: float,
                     moment: Sequence[float]) -> Figure:
    """The mixture's spectrogram with the true moment, and below it the ``(T,)`` curve of
    every window length (seconds, the keys of ``curves``) over the shaded moment."""
    start, end = moment
    fig, axes = plt.subplots(2, 1, figsize=(9, 5), sharex=True, layout="constrained",
                             height_ratios=[1.3, 1])
    plot_spectrogram(mixture, sample_rate, ax=axes[0], moments_xx=[[start, end]])
    for window, curve in curves.items():
        _stairs(axes[1], curve, hop_s, color=WINDOW_COLORS[window],
                label=f"{window:g} s window")
    axes[1].axvspan(start, end, color=MOMENT_COLOR, alpha=0.15, lw=0, label="true moment")
    axes[1].set(xlabel="time (s)", ylabel="cosine similarity")
    axes[1].legend(fontsize=8, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                   frameon=False)
    axes[0].set_xlabel("")
    return fig


def plot_feature_curves(curves: Mapping[str, np.ndarray], hop_s: float,
                        moment: Sequence[float]) -> Figure:
    """One panel per encoder (the keys of ``curves``): its ``(T,)`` curve over the
    shaded true moment, all on the same vertical scale."""
    start, end = moment
    fig, axes = plt.subplots(len(curves), 1, figsize=(9, 4), sharex=True, sharey=True,
                             layout="constrained")
    for ax, (name, curve) in zip(axes, curves.items(), strict=True):
        _stairs(ax, curve, hop_s, color=CURVE_COLOR)
        ax.axvspan(start, end, color=MOMENT_COLOR, alpha=0.15, lw=0)
        ax.set_ylabel("cosine")
        ax.set_title(f"{name} encoder", loc="left", fontsize=10)
    axes[-1].set_xlabel("time (s)")
    return fig


# --- the data study -----------------------------------------------------------------------

def scale_gains(by_scale: Mapping[float, Row]) -> list[tuple[float, float, float]]:
    """``(smaller, larger, gain)`` for each step between neighbouring data scales; the
    gain in points of average mAP."""
    scales = sorted(by_scale)
    return [(lo, hi, by_scale[hi]["mAP"] - by_scale[lo]["mAP"]) for lo, hi in pairwise(scales)]


def describe_gains(by_scale: Mapping[float, Row]) -> str:
    """``1/8 to 1/4: +3.8; ...``, every step's gain (points of average mAP)."""
    return "; ".join(f"{scale_label(lo)} to {scale_label(hi)}: {gain:+.1f}"
                     for lo, hi, gain in scale_gains(by_scale))


def flatten_verdict(by_scale: Mapping[float, Row]) -> str:
    """What the curve does beyond the profile's split (scale 1), in points of average mAP
    (whether that is more than noise is the evidence rule's, in the claims table)."""
    beyond = [(hi, gain) for lo, hi, gain in scale_gains(by_scale) if lo >= 1]
    if not beyond:
        return ("is not measured: this grid stops at the profile's split (the same command "
                "with --data-scales 2,4 continues it)")
    return "moves by " + ", then ".join(f"{gain:+.1f} points to {scale_label(hi)}"
                                       for hi, gain in beyond)


def data_summary(by_scale: Mapping[float, Row]) -> str:
    """Average mAP from the smallest share to the whole split, and at the largest scale
    when the grid went beyond it."""
    scales = sorted(by_scale)
    largest = by_scale[scales[-1]]
    more = (f", and {scale_label(scales[-1])} the split gives {largest['mAP']:.1f}"
            if scales[-1] > 1 else "")
    return ("from one eighth of the simulated recordings to all of them, AM-DETR's average "
            f"mAP goes from {by_scale[scales[0]]['mAP']:.1f} to {by_scale[1.0]['mAP']:.1f} "
            f"on this profile{more}")


def plot_training_curves(records: Mapping[str, Mapping[str, Any]],
                         colors: Sequence[str] = ("#e9c46a", "#264653")) -> Figure:
    """Training loss (log scale, left) and validation average mAP (%, right) of each run
    (a training record, :attr:`~amr_lib.runs.chain.ProfileRun.training`) against its
    optimisation steps (epochs of different amounts of data compare by the steps they
    took), a star at the kept epoch."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.3), layout="constrained")
    for (name, record), color in zip(records.items(), colors, strict=False):
        curve = pd.DataFrame(record["curve"])
        steps = curve["epoch"] * record["steps_per_epoch"]
        axes[0].plot(steps, curve["loss_total"], color=color, label=name)
        axes[1].plot(steps, curve["valid_mAP"], color=color, label=name)
        axes[1].plot(record["best_epoch"] * record["steps_per_epoch"], kept_valid_map(record),
                     marker="*", ms=12, color=color)
    axes[0].set(xlabel="optimisation steps", ylabel="training loss (log scale)",
                yscale="log")
    axes[1].set(xlabel="optimisation steps", ylabel="validation average mAP (%)")
    axes[1].legend(frameon=False, fontsize=8)
    return fig


def committed_training(rows: Sequence[Row], study: str, value: float | str, seed: int
                       ) -> dict[str, Any] | None:
    """The training record of one AM-DETR point's seed in a committed grid (``None`` for a
    grid made before records were kept)."""
    for entry in point_row(rows, study, value, "am-detr").get("per_seed", ()):
        if entry["seed"] == seed:
            return entry.get("training")
    return None


def kept_valid_map(record: Mapping[str, Any]) -> float:
    """A training record's validation average mAP (%) at its kept epoch."""
    return next(epoch["valid_mAP"] for epoch in record["curve"]
                if epoch["epoch"] == record["best_epoch"])


def training_numbers(record: Mapping[str, Any]) -> dict[str, Any]:
    """A training record's kept validation mAP and last training loss (2 decimals, text),
    its number of training queries, its kept and last epochs, cap and patience, and how
    it stopped."""
    curve = pd.DataFrame(record["curve"]).set_index("epoch")
    return {"best_map": f"{kept_valid_map(record):.2f}",
            "final_loss": f"{curve['loss_total'].iloc[-1]:.2f}",
            "queries": record["training_queries"],
            "epochs": f"{record['best_epoch']} of {len(curve)}",
            "budget": f"{record['epoch_cap']} epochs, patience {record['patience']}",
            "stop": ("reached its cap" if reached_cap(record) else
                     "stopped on a plateau of validation mAP")}


def reached_cap(record: Mapping[str, Any]) -> bool:
    """Whether the run was stopped by its epoch cap, not by its patience (so it may still
    have been gaining)."""
    epochs, patience = len(record["curve"]), record["patience"]
    return epochs >= record["epoch_cap"] and (
        patience is None or epochs - record["best_epoch"] < patience)


def optimisation_reading(small: Mapping[str, Any], full: Mapping[str, Any]) -> str:
    """What the two runs' stopping says about the small run's deficit."""
    if reached_cap(small) or reached_cap(full):
        return ("at least one of them reached its cap, so part of the small run's deficit "
                "may still be optimisation")
    return "so the small run's deficit is one of data, not of optimisation"


def data_curves_text(small: Mapping[str, Any] | None, full: Mapping[str, Any]) -> str:
    """The paragraph under the training curves: the small run (committed, seed 0)
    against the whole split's (live), or why the small one is missing."""
    whole = training_numbers(full)
    if small is None:
        return (f"The committed grid was made before training records were kept, so only "
                f"the whole split's run is drawn (kept epoch {whole['epochs']}, validation "
                f"mAP {whole['best_map']}); regenerating the grid with the command under "
                f"its table adds the one-eighth run.")
    part = training_numbers(small)
    return (f"With {part['queries']} training queries instead of {whole['queries']}, the "
            f"model ends training at a loss of {part['final_loss']} against "
            f"{whole['final_loss']} and keeps an epoch of validation mAP {part['best_map']} "
            f"against {whole['best_map']}. Its epochs are shorter, so its budget is "
            f"{part['budget']} (the whole split's: {whole['budget']}): about the same "
            f"number of steps. It {part['stop']} (kept epoch {part['epochs']}) and the "
            f"whole split's run {whole['stop']} (kept epoch {whole['epochs']}), "
            f"{optimisation_reading(small, full)}; exercise 2 shows what a budget counted "
            f"in epochs would have hidden.")


# --- the features study -------------------------------------------------------------------

def plot_features(rows: Sequence[Row], metrics: Sequence[str] = TABLE_METRICS,
                  ax: Axes | None = None) -> Axes:
    """Bars of ``metrics`` (%, one standard deviation as error bars) for the two points of
    the features study: the contrastive encoder and the same network untrained."""
    ax = ax or plt.subplots(figsize=(7, 3.2), layout="constrained")[1]
    width = 0.38
    for offset, row, color in zip((-width / 2, width / 2), rows, ("#264653", "#bbbbbb"),
                                  strict=True):
        ax.bar(np.arange(len(metrics)) + offset, [row[m] for m in metrics], width,
               yerr=[row[m + "_std"] for m in metrics], capsize=3, color=color,
               label=f"{row['features']} ({row['n_seeds']} seeds)")
    ax.set(xticks=range(len(metrics)),
           xticklabels=[m if m != "mAP" else "average mAP" for m in metrics],
           ylabel="test score (%)", ylim=(0, 100))
    ax.legend(frameon=False, fontsize=8)
    return ax


# --- the fidelity study -------------------------------------------------------------------

FIDELITY_NAMES = {"qd-detr": "following QD-DETR", "before-fidelity": "before the changes"}


def fidelity_points(rows: Sequence[Row]) -> tuple[Row, Row]:
    """The fidelity study's two AM-DETR points: following QD-DETR, and before the changes."""
    now, before = (point_row(rows, "fidelity", name, "am-detr") for name in FIDELITY_NAMES)
    return now, before


def fidelity_table(grids: Mapping[str, Sequence[Row]], metrics: Sequence[str] = TABLE_METRICS
                   ) -> pd.DataFrame:
    """Per profile (``grids``: profile name -> the rows of its fidelity study) and metric:
    AM-DETR following QD-DETR and before the fidelity changes (mean ± sd over seeds), and
    their difference with the evidence rule's interval and verdict on "following QD-DETR
    scores higher"."""
    lines = []
    for profile, rows in grids.items():
        now, before = fidelity_points(rows)
        for metric in metrics:
            difference = compare_rows(now, before, metric)
            lines.append({
                "profile": profile, "metric": metric, "seeds": now["n_seeds"],
                **{name: spread_cell(row, metric)
                   for name, row in zip(FIDELITY_NAMES.values(), (now, before), strict=True)},
                "difference": difference.cell() if difference else "no per-query values",
                "verdict": difference.verdict() if difference else "unresolved"})
    return pd.DataFrame(lines).set_index(["profile", "metric"])


def fidelity_sentence(grids: Mapping[str, Sequence[Row]], metric: str = "mAP") -> str:
    """What the fidelity changes did to ``metric`` on each profile, by the evidence rule."""
    said = []
    for profile, rows in grids.items():
        now, before = fidelity_points(rows)
        difference = compare_rows(now, before, metric)
        if difference is None:
            said.append(f"on {profile}, the committed grid holds no per-query values")
            continue
        outcome = {"agrees": "following QD-DETR scores higher, beyond the interval",
                   "contradicts": "following QD-DETR scores lower, beyond the interval",
                   "unresolved": "no difference is resolved: the interval holds zero"
                   }[difference.verdict()]
        said.append(f"on {profile}, {outcome} "
                    f"({metric} {now[metric]:.2f} against {before[metric]:.2f}, "
                    f"difference {difference.cell()})")
    return "; ".join(said)


def fidelity_training_table(grids: Mapping[str, Sequence[Row]]) -> pd.DataFrame:
    """Per profile and model of the fidelity study: each seed's kept epoch and epochs run
    (``kept/run``), and the validation average mAP at the kept epoch (mean ± sd over
    seeds): how each model trained, beside what it scored on the test split."""
    lines = []
    for profile, rows in grids.items():
        for point, name in zip(fidelity_points(rows), FIDELITY_NAMES.values(), strict=True):
            records = [entry["training"] for entry in point.get("per_seed") or []
                       if entry.get("training")]
            kept = [kept_valid_map(record) for record in records]
            lines.append({
                "profile": profile, "model": name, "seeds": len(records),
                "kept epoch / epochs run": ", ".join(
                    f"{record['best_epoch']}/{len(record['curve'])}" for record in records),
                "valid mAP at the kept epoch": (
                    "{:.2f} ± {:.2f}".format(*mean_and_spread(kept)) if kept
                    else "not recorded")})
    return pd.DataFrame(lines).set_index(["profile", "model"])
