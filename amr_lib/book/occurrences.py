"""Chapter 8 (zero, one or several moments; AMR as sound event detection): the examples
it shows, chosen by rule, and its figures, tables and glued values.

Moments are ``(K, 3)`` ``[start_s, end_s, score]`` rows and true windows ``(W, 2)``
``[start_s, end_s]``, in seconds. An SED frame matrix is ``(F, C)``: 1 s frames of one
recording by class prompts (:mod:`amr_lib.sed.scoring`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from amr_lib import config
from amr_lib.experiments.occurrences import found_windows
from amr_lib.lighthouse_jsonl import MomentAnnotation, read_annotations
from amr_lib.sed.scoring import SedTask
from amr_lib.spans import temporal_iou
from amr_lib.viz import plot_moments, plot_spectrogram

PRESENT_COLOR, ABSENT_COLOR = "#2a9d8f", "#e76f51"
SERIES_COLORS = ("#264653", "#e9c46a")          # moment statistics: simulated, CASTELLA
MODEL_NAMES = {"paper": "paper's (single moments)", "mixed": "several moments"}
CASTELLA_VALIDATION = Path("annotations") / "castella_val_release.jsonl"
CUT_S = 60                                       # moment lengths and gaps shown up to this
SED_LABELS = {"am-detr": "AM-DETR (paper's)", "am-detr-absent": "AM-DETR (absent pairs)",
              "supervised": "linear probe (supervised)",
              "crnn": "CRNN (supervised, log-mels)",
              "sliding-window": "sliding window (cosine, median filter)"}
SED_COLORS = {"am-detr": "#264653", "am-detr-absent": "#2a9d8f", "supervised": "#e76f51",
              "crnn": "#9b2226", "sliding-window": "#e9c46a"}
SED_KEYS = {"am-detr": "detr", "am-detr-absent": "absent", "sliding-window": "sliding",
            "supervised": "supervised", "crnn": "crnn"}   # detector -> glued names' part
SED_TABLE_KEY = ("default, tuned: thresholds; F1, P, R: at the default threshold\n"
                 "flat: share of thresholds with F1 within 90 % of the best\n"
                 "of CRNN, of probe: tuned F1 as a share of each supervised reference's")


# 8.1 Is the sound there at all?

def plot_presence_scores(top: np.ndarray, present: np.ndarray, ax: Axes | None = None
                         ) -> Axes:
    """Histograms of the ``(P,)`` top scores of present and absent pairs (``present``
    ``(P,)`` bool), in 40 equal bins from the lowest score, rounded down to 0.01, up to 1
    (the scores crowd near 1)."""
    ax = ax or plt.subplots(figsize=(7, 3), layout="constrained")[1]
    bins = np.linspace(np.floor(top.min() * 100) / 100, 1, 41)
    ax.hist(top[present], bins, alpha=0.7, color=PRESENT_COLOR, label="present")
    ax.hist(top[~present], bins, alpha=0.7, color=ABSENT_COLOR, label="absent")
    ax.set(xlabel="top score of the ten moments", ylabel="test pairs")
    ax.legend(loc="upper left")
    return ax


def presence_table(rows: Mapping[str, Mapping[str, Any]], absent_share: float
                   ) -> pd.DataFrame:
    """One row per training (``"paper"``, ``"absent"``) of the committed presence study:
    AUROC, the shares kept and refused at the stored threshold ("-" for a model without
    one), R1@0.5 and mAP (percent)."""
    names = {"paper": "as in the paper", "absent": f"with {absent_share:.0%} absent pairs"}

    def share(row: Mapping[str, Any], key: str) -> str:
        return f"{row[key]:.0%}" if "threshold" in row else "-"

    table = pd.DataFrame({names[name]: {"AUROC present vs absent": f"{row['test_auroc']:.3f}",
                                        "present kept": share(row, "test_present_kept"),
                                        "absent refused": share(row, "test_absent_refused"),
                                        "R1@0.5": f"{row['R1@0.5']:.1f}",
                                        "mAP": f"{row['mAP']:.1f}"}
                          for name, row in rows.items()}).T
    return table.rename_axis("AM-DETR trained")


# 8.2 Several moments per query

def castella_validation() -> tuple[list[MomentAnnotation] | None, str]:
    """CASTELLA's released validation annotations under ``AMR_DATA_ROOT``, with ``""``;
    or ``None`` and a sentence that says why they are not shown."""
    try:
        return read_annotations(config.data_root() / CASTELLA_VALIDATION), ""
    except (LookupError, FileNotFoundError) as missing:
        return None, f"CASTELLA not shown: {missing}"


def plot_moment_statistics(arrays: Mapping[str, Mapping[str, np.ndarray]]) -> Figure:
    """Three panels per named set of :func:`~amr_lib.simulation.benchmark_stats.moment_arrays`
    (at most two sets): the share of queries with 1 to 6 moments, and the densities of
    moment lengths and of gaps between moments of a query (seconds, cut at 60)."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2), layout="constrained")
    width = 0.8 / len(arrays)
    for k, (name, got) in enumerate(arrays.items()):
        counts = np.bincount(got["counts"], minlength=7)[1:7] / len(got["counts"])
        offset = (k - (len(arrays) - 1) / 2) * width
        axes[0].bar(np.arange(1, 7) + offset, counts, width, color=SERIES_COLORS[k],
                    label=name)
        for ax, key in ((axes[1], "lengths"), (axes[2], "gaps")):
            ax.hist(np.clip(got[key], 0, CUT_S), np.linspace(0, CUT_S, 25), density=True,
                    histtype="step", lw=2, color=SERIES_COLORS[k])
    axes[0].set(xlabel="moments per query", ylabel="share of queries")
    axes[1].set(xlabel=f"moment length (s, cut at {CUT_S})", ylabel="density")
    # on two lines: on one it runs past the figure's right edge
    axes[2].set(xlabel=f"gap between moments of a query\n(s, cut at {CUT_S})",
                ylabel="density")
    axes[0].legend(loc="upper right", fontsize=8)
    return fig


def mean_recording_duration(annotations: Sequence[MomentAnnotation]) -> float:
    """Mean duration (s) of the recordings the queries are about, each counted once."""
    durations = {a.vid: a.duration for a in annotations}
    return float(np.mean(list(durations.values())))


def several_scores_table(several: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Queries, R1@0.5, R1@0.7 and mAP (percent, one decimal) of each model of the
    committed several-moments study on each part of the test split (single, multi, all)."""
    table = pd.DataFrame({(MODEL_NAMES[name], part): {"queries": scores["queries"],
                                                      "R1@0.5": scores["R1@0.5"],
                                                      "R1@0.7": scores["R1@0.7"],
                                                      "mAP": scores["mAP"]}
                          for name, result in several.items()
                          for part, scores in result["scores"].items()}).T
    table["queries"] = table["queries"].astype(int)
    return table.rename_axis(["AM-DETR trained on", "test queries"]).round(1)


def counting_table(several: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """How each model counts moments on each part of the test split: its score
    threshold, the mean true and asserted counts, and the shares counted exactly and with
    every true window found."""
    table = pd.DataFrame({(MODEL_NAMES[name], part): {
                              "threshold": c["threshold"], "true moments": c["true_mean"],
                              "moments asserted": c["asserted_mean"],
                              "counted exactly": f"{c['exact_share']:.0%}",
                              "all found": f"{c['all_found_share']:.0%}"}
                          for name, result in several.items()
                          for part, c in result["counting"].items()}).T
    return table.rename_axis(["AM-DETR trained on", "test queries"])


def several_values(several: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The prose's numbers of the committed several-moments study: per model (``paper``,
    ``mixed``) the mAP on multi- and single-moment queries, the share of multi-moment
    queries with every moment found and the mean count asserted; and the mean true count
    of the multi-moment queries (``true_multi``, the same queries for both models)."""
    values = {}
    for name in ("paper", "mixed"):
        multi = several[name]["counting"]["multi"]
        values |= {f"{name}_multi_map": f"{several[name]['scores']['multi']['mAP']:.1f}",
                   f"{name}_all_found": f"{multi['all_found_share']:.0%}",
                   f"{name}_asserted": f"{multi['asserted_mean']:.2f}",
                   f"{name}_single_map": f"{several[name]['scores']['single']['mAP']:.1f}"}
    return values | {"true_multi": f"{several['mixed']['counting']['multi']['true_mean']:.2f}"}


def found_share(annotation: MomentAnnotation, moments: np.ndarray) -> float:
    """Share of the query's true windows that a distinct ``(M, 3)`` moment finds (IoU of
    at least 0.5, one moment per window)."""
    return found_windows(annotation.relevant_windows, moments) / len(annotation.relevant_windows)


def mean_best_iou(annotation: MomentAnnotation, moments: np.ndarray) -> float:
    """Mean over the query's true windows of the IoU of its best-overlapping moment
    ``(M, 3)``."""
    return float(temporal_iou(annotation.relevant_windows, moments[:, :2]).max(axis=1).mean())


def choose_examples(annotations: Sequence[MomentAnnotation],
                    asserted: Sequence[np.ndarray]) -> dict[str, int]:
    """Two multi-moment queries by rule, as indices into ``annotations`` (and into
    ``asserted``, each query's distinct moments): ``"all found"``, the one with the most
    true windows all found (ties: the highest mean IoU, then the first), when some query
    has all found; and ``"fewest found"``, the first with the smallest share found."""
    multi = [i for i, a in enumerate(annotations) if len(a.relevant_windows) > 1]

    def share(i: int) -> float:
        return found_share(annotations[i], asserted[i])

    complete = [i for i in multi if share(i) == 1]
    examples = {}
    if complete:
        examples["all found"] = max(complete, key=lambda i: (
            len(annotations[i].relevant_windows), mean_best_iou(annotations[i], asserted[i])))
    examples["fewest found"] = min(multi, key=share)
    return examples


def plot_several_examples(examples: Mapping[str, int], annotations: Sequence[MomentAnnotation],
                          mixtures: Mapping[str, np.ndarray], sample_rate: int,
                          asserted: Mapping[str, Sequence[np.ndarray]],
                          thresholds: Mapping[str, float]) -> Figure:
    """Per example (``{title: query index}``, its mixture in ``mixtures[title]``): the
    spectrogram with the true moments, then for each model of ``asserted`` (``{model:
    distinct moments of every query}``) the moments it asserts above its threshold;
    3.6 inches high per example."""
    rows = 1 + len(asserted)
    fig, axes = plt.subplots(rows * len(examples), 1, figsize=(9, 3.6 * len(examples)),
                             layout="constrained",
                             height_ratios=([2] + [1] * len(asserted)) * len(examples))
    for block, (what, index) in enumerate(examples.items()):
        a = annotations[index]
        ax = axes[rows * block]
        plot_spectrogram(mixtures[what], sample_rate, ax=ax,
                         moments_xx=a.relevant_windows.tolist())
        ax.set_title(f"{what}: {a.query!r}", loc="left", fontsize=10)
        for row, name in enumerate(asserted, start=1):
            plot_moments(a.relevant_windows.tolist(), asserted[name][index].tolist(),
                         duration=a.duration, ax=axes[rows * block + row],
                         title=f"{MODEL_NAMES[name]} model: moments above "
                               f"{thresholds[name]:.2f}")
    return fig


# 8.3 From moments to frames

def classes_in(task: SedTask, vid: str) -> set[str]:
    """The classes with an event in recording ``vid``."""
    return {event.label for event in task.events if event.vid == vid}


def busiest_recording(task: SedTask) -> str:
    """The recording with the most distinct classes (ties: the last ``vid``)."""
    return max(task.vids, key=lambda vid: (len(classes_in(task, vid)), vid))


def shown_classes(task: SedTask, vid: str, absent: int = 3) -> tuple[list[str], list[str]]:
    """The classes present in ``vid`` (sorted) and the first ``absent`` of the task's
    classes that are not."""
    present = classes_in(task, vid)
    return sorted(present), [c for c in task.labels if c not in present][:absent]


def recording_frames(task: SedTask, vid: str) -> slice:
    """The rows of recording ``vid`` in the task's stacked ``(N, C)`` frame matrices."""
    offsets = np.cumsum([0] + [task.frames(v) for v in task.vids])
    row = task.vids.index(vid)
    return slice(int(offsets[row]), int(offsets[row + 1]))


def covered_scores(scores: np.ndarray) -> np.ndarray:
    """Frame scores with the ``-inf`` of frames no moment covers shown as 0."""
    return np.where(np.isfinite(scores), scores, 0)


def plot_sed_frames(mixture: np.ndarray, sample_rate: int, reference: np.ndarray,
                    scores: np.ndarray, present: Sequence[str], absent: Sequence[str]
                    ) -> Figure:
    """One SED recording: its spectrogram, the ``(F, C)`` bool reference and the ``(F, C)``
    frame scores (``-inf``: no moment) of the classes ``present + absent``, in that column
    order."""
    labels = [*present, *absent]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True, layout="constrained",
                             height_ratios=[1.4, 1, 1])
    plot_spectrogram(mixture, sample_rate, ax=axes[0])
    extent = (0, len(reference), len(labels) - 0.5, -0.5)
    axes[1].imshow(reference.T, aspect="auto", cmap="Greys", extent=extent,
                   interpolation="nearest")
    axes[1].set_title("reference: active frames per class", loc="left", fontsize=10)
    image = axes[2].imshow(covered_scores(scores).T, aspect="auto", cmap="viridis", vmin=0,
                           vmax=1, extent=extent, interpolation="nearest")
    axes[2].set_title("AM-DETR (paper's): best score of a moment covering the frame",
                      loc="left", fontsize=10)
    for ax in axes[1:]:
        ax.set_yticks(range(len(labels)),
                      [c + (" (absent)" if c in absent else "") for c in labels], fontsize=8)
        ax.set_ylabel("class prompt")
    axes[2].set_xlabel("time (s, 1 s frames)")
    fig.colorbar(image, ax=axes[2], label="moment score")
    return fig


# 8.4 F1 against the threshold

def plot_f1_curves(methods: Mapping[str, Mapping[str, Any]]) -> Figure:
    """Test F1 against the threshold of every detector of the committed SED run, the
    sliding window (a cosine threshold) on its own panel, each with its tuned threshold
    dotted."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, layout="constrained")
    for name, report in methods.items():
        ax = axes[1] if name == "sliding-window" else axes[0]
        curve = report["curve"]
        ax.plot(curve["threshold"], curve["f1"], "o-", ms=3, color=SED_COLORS[name],
                label=SED_LABELS[name])
        ax.axvline(report["tuned_threshold"], color=SED_COLORS[name], ls=":", lw=1)
    axes[0].set(xlabel="score threshold", ylabel="test F1 (micro, one frame a second)")
    axes[1].set(xlabel="cosine similarity threshold")
    fig.legend(loc="outside lower center", ncols=3, fontsize=8)
    return fig


def sed_table(methods: Mapping[str, Mapping[str, Any]],
              share_of: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Per detector: default and tuned thresholds, F1, precision and recall at the
    default, F1 at the tuned one, the flat share and the tuned F1 as a share of each
    supervised reference's (``share_of[reference][detector]``; columns explained by
    :data:`SED_TABLE_KEY`)."""

    def share(reference: str, name: str) -> str:
        value = share_of.get(reference, {}).get(name)
        return f"{value:.0%}" if value is not None else "-"

    table = pd.DataFrame({SED_LABELS[name]: {
                              "default": f"{r['default_threshold']:.2f}",
                              "F1": f"{r['default']['f1']:.3f}",
                              "P": f"{r['default']['precision']:.3f}",
                              "R": f"{r['default']['recall']:.3f}",
                              "tuned": f"{r['tuned_threshold']:.2f}",
                              "F1 tuned": f"{r['tuned']['f1']:.3f}",
                              "flat": f"{r['f1_flat_share']:.2f}",
                              "of CRNN": share("crnn", name),
                              "of probe": share("supervised", name)}
                          for name, r in methods.items()}).T
    return table.rename_axis("detector")


def sed_values(result: Mapping[str, Any]) -> dict[str, Any]:
    """The prose's numbers of the committed SED run: per detector (``sed_<key>_...``,
    keys of :data:`SED_KEYS`) F1 at the default and tuned thresholds, the flat share and
    the share of the CRNN's tuned F1 (``_share``) and of the linear probe's
    (``_share_probe``); the paper's AM-DETR's precision and recall; the flattest detector,
    the CRNN's best epoch, and the numbers of classes and test recordings."""
    methods, share_of = result["methods"], result["share_of"]
    values: dict[str, Any] = {}
    for name, key in SED_KEYS.items():
        r = methods[name]
        values |= {f"sed_{key}_default": f"{r['default']['f1']:.3f}",
                   f"sed_{key}_tuned": f"{r['tuned']['f1']:.3f}",
                   f"sed_{key}_flat": f"{r['f1_flat_share']:.2f}"}
        if name in share_of["crnn"]:
            values[f"sed_{key}_share"] = f"{share_of['crnn'][name]:.0%}"
            values[f"sed_{key}_share_probe"] = f"{share_of['supervised'][name]:.0%}"
    detr = methods["am-detr"]["default"]
    flattest = max(methods, key=lambda name: methods[name]["f1_flat_share"])
    return values | {"sed_detr_precision": f"{detr['precision']:.3f}",
                     "sed_detr_recall": f"{detr['recall']:.3f}",
                     "sed_classes": result["classes"], "flattest": SED_LABELS[flattest],
                     "sed_crnn_epoch": f"{result['crnn']['best_epoch']} of "
                                       f"{result['crnn']['epochs']}",
                     "sed_recordings": result["recordings"]["test"]}
