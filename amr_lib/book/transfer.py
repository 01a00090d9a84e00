"""Chapter 7 (real recordings): this run's live part of the transfer study, the examples it
shows (chosen by rule), and its tables, figures and quoted phrases.

With the real data, :func:`live_transfer` runs the live part once; without it a chapter
takes the same rows from the committed study (:func:`seed0_rows`). Example indices are
positions in a test split's query order, which every prediction set for it shares.
Lengths and times are in seconds, recalls in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from amr_lib import config
from amr_lib.book.pages import spread_cells
from amr_lib.config import TRANSFER_PROFILES
from amr_lib.corpora.esc50 import CAPTION_PHRASINGS
from amr_lib.experiments.paraphrases import PARAPHRASES
from amr_lib.experiments.results import LiveCheck, live_check
from amr_lib.experiments.transfer import (
    MIX,
    PROFILES,
    Key,
    TransferStudy,
    run_transfer,
    true_lengths,
)
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction, read_annotations
from amr_lib.profiles import load_profile
from amr_lib.simulation.benchmark_stats import describe
from amr_lib.simulation.clotho_moment import SimulatedSplit
from amr_lib.spans import temporal_iou
from amr_lib.viz import plot_moments, plot_spectrogram

if TYPE_CHECKING:
    from amr_lib.features.text import TextEncoder

QUICK, REAL = "quick", "real-sounds"
KEYS = ("method", "trained_on", "tested_on", "queries")   # one cell of the study
SHOWN = ("R1@0.5", "R1@0.7", "mAP")                        # the metrics a table shows
SHORT = {QUICK: "q", REAL: "r", MIX: "b"}                  # in glued names: detr_qr_ma
TRUE_COLOUR = "#e76f51"
MODEL_COLOURS = {QUICK: "#264653", REAL: "#2a9d8f", MIX: "#8d99ae"}
NEEDS_DATA = "(needs AMR_DATA_ROOT)"
Rows = dict[str, list[dict[str, Any]]]     # a study's rows: cells, classes, lengths


@dataclass
class LiveTransfer:
    """This run's part of the study: the quick model (seed 0) and baseline on both test
    splits, and the real-sounds models' predictions read from files."""

    study: TransferStudy
    from_files: list[Key]        # the prediction sets read from files
    rate: int                    # Hz, of the real-sounds recordings
    rows: Rows                   # ``study.rows()``

    @property
    def read_back(self) -> int:
        """How many AM-DETR prediction sets came from the files."""
        return sum(key[0] == "am-detr" for key in self.from_files)

    @property
    def real_test(self) -> SimulatedSplit:
        """The real-sounds test split: its recipes and annotations."""
        return self.study.tests[QUICK, REAL].prepared.simulated

    def asked(self, trained: str, tested: str, wording: str = "captions"
              ) -> list[MomentAnnotation]:
        """The queries ``tested``'s test split asked the models of ``trained``."""
        return self.study.asked[trained, tested, wording]

    def detr(self, trained: str, tested: str, wording: str = "captions"
             ) -> list[MomentPrediction]:
        """AM-DETR's (seed 0) answers to :meth:`asked`, in its order."""
        return self.study.predictions["am-detr", trained, tested, wording, 0]

    def render(self, annotation: MomentAnnotation) -> np.ndarray:
        """``(N,)`` float32: the real-sounds test recording ``annotation`` is about."""
        return self.real_test.render(annotation.vid)

    def benchmarks(self, folder: str | Path | None = None) -> dict[str, dict[str, Any]]:
        """:func:`describe` of every released annotation file in ``folder`` (default: the
        data's ``annotations``), named without ``_release.jsonl``, then of both simulated
        test splits."""
        folder = Path(folder) if folder else config.data_root() / "annotations"
        described = {path.name.removesuffix("_release.jsonl"): describe(read_annotations(path))
                     for path in sorted(folder.glob("*.jsonl"))}
        for name in (QUICK, REAL):
            described[f"{name} test (simulated)"] = describe(
                self.study.questions(name, "captions"))
        return described


def live_transfer(predictions: str | Path) -> LiveTransfer:
    """Run the quick model (seed 0, from the cache) and baseline on both test splits, and
    add the real-sounds model's prediction files of ``predictions``."""
    profiles = {name: load_profile(name) for name in PROFILES}
    study = run_transfer(seeds=1, profiles=profiles, mix=False, trained_on=[QUICK])
    from_files = study.read_predictions(predictions)
    return LiveTransfer(study, from_files, profiles[REAL].simulation.sample_rate,
                        study.rows())


def seed0_rows(study: Mapping[str, Sequence[dict[str, Any]]]) -> Rows:
    """A committed study's rows of seed 0 and of the baseline (no seed): what the live
    part would make."""
    return {part: [row for row in found if row.get("seed") in (None, 0)]
            for part, found in study.items()}


def find_cell(rows: Sequence[Mapping[str, Any]], **where: Any) -> Mapping[str, Any]:
    """The first row whose fields equal ``where``; ``KeyError`` when none does."""
    for row in rows:
        if all(row[key] == value for key, value in where.items()):
            return row
    raise KeyError(f"no row with {where}")


def mean_text(rows: Sequence[Mapping[str, Any]], method: str, trained_on: str,
              tested_on: str, metric: str = "mAP", queries: str = "captions") -> str:
    """One cell's mean of ``metric`` over seeds (percent), 1 decimal."""
    row = find_cell(rows, method=method, trained_on=trained_on, tested_on=tested_on,
                    queries=queries)
    return f"{row[metric]:.1f}"


def pair_name(trained: str, tested: str) -> str:
    """A (trained on, tested on) pair in glued names: ``qr`` is quick on real-sounds."""
    return SHORT[trained] + SHORT[tested]


def seed_checks(cells: Sequence[dict[str, Any]], committed_cells: Sequence[dict[str, Any]],
                provenance: Mapping[str, Any], keys: Sequence[str] = KEYS,
                seed: int = 0) -> list[LiveCheck]:
    """A :class:`~amr_lib.experiments.results.LiveCheck` of each live AM-DETR cell of
    ``seed`` against the committed cell of the same ``keys`` and seed."""
    checks = []
    for cell in cells:
        if cell["method"] == "am-detr" and cell["seed"] == seed:
            where = {key: cell[key] for key in keys}
            row = find_cell(committed_cells, **where, seed=seed)
            what = ", ".join(str(cell[key]) for key in keys)
            # every cell depends on both profiles' definitions (their models, test
            # splits and encoders meet in the study)
            checks.append(live_check(what, cell, row, provenance, seed=None, profiles=[
                load_profile(name) for name in TRANSFER_PROFILES]))
    return checks


def live_check_text(checks: Sequence[LiveCheck], run: LiveTransfer | None) -> str:
    """What the prose says of the live check of the seed-0 cells."""
    if run is None:
        return "none (no AMR_DATA_ROOT)"
    if not checks:
        return "none (no AM-DETR seed-0 cell in this run)"
    if all(check.passed for check in checks):
        return (f"all {len(checks)} repeat their committed values ({run.read_back} of them "
                "scored from the prediction files)")
    return (f"{len(checks)} cells compared for information only: the committed study was "
            "made under other numerics, so they cannot repeat it bit for bit")


def result_table(rows: Sequence[Mapping[str, Any]], index: Sequence[str],
                 **where: str) -> pd.DataFrame:
    """The rows whose fields equal ``where`` as ``mean ± sd`` cells of :data:`SHOWN`
    (1 decimal; the mean alone for one run), indexed by ``index`` (``_`` read as a
    space)."""
    chosen = [row for row in rows if all(row[k] == v for k, v in where.items())]
    table = pd.DataFrame(spread_cells(chosen, index, SHOWN, decimals=1)).T
    table.index.names = [name.replace("_", " ") for name in index]
    return table


def median_length_query(annotations: Sequence[MomentAnnotation]) -> MomentAnnotation:
    """The query whose first moment is closest in length to the median true moment (the
    first of them on a tie)."""
    median = np.median(true_lengths(annotations))
    return min(annotations, key=lambda a: abs(np.diff(a.relevant_windows[0])[0] - median))


def plot_recording(audio: np.ndarray, sample_rate: int, annotation: MomentAnnotation
                   ) -> Figure:
    """The ``(N,)`` recording's spectrogram with the true moments, titled by the query."""
    fig, ax = plt.subplots(figsize=(9, 2.8), layout="constrained")
    plot_spectrogram(audio, sample_rate, ax=ax, moments_xx=annotation.relevant_windows.tolist())
    ax.set_title(f"query: {annotation.query!r}", loc="left", fontsize=10)
    return fig


def top_moment(prediction: MomentPrediction) -> np.ndarray:
    """``(3,)`` start, end and score of the highest-scored moment."""
    windows = prediction.pred_relevant_windows
    return windows[np.argmax(windows[:, 2])]


def covered_queries(annotations: Sequence[MomentAnnotation],
                    predictions: Sequence[MomentPrediction]) -> list[tuple[float, int]]:
    """``(IoU, index)`` of every query with one true moment that its top moment contains
    whole, in query order."""
    covered = []
    for index, (a, p) in enumerate(zip(annotations, predictions, strict=True)):
        top = top_moment(p)
        start, end = a.relevant_windows[0]
        if len(a.relevant_windows) == 1 and top[0] <= start and top[1] >= end:
            covered.append((temporal_iou(top[None, :2], a.relevant_windows).max(), index))
    return covered


def covered_values(covered: Sequence[tuple[float, int]]) -> dict[str, Any]:
    """The glued ``covered_iou`` (the lowest IoU of :func:`covered_queries`) and
    ``covered_count``; placeholders when there are none (or no data)."""
    if not covered:
        return {"covered_iou": NEEDS_DATA, "covered_count": NEEDS_DATA}
    return {"covered_iou": f"{min(covered)[0]:.2f}", "covered_count": len(covered)}


def plot_top_moments(audio: np.ndarray, sample_rate: int, annotation: MomentAnnotation,
                     predictions: Mapping[str, MomentPrediction]) -> Figure:
    """The recording's spectrogram with the true moment, then one row per model (its
    name: its prediction for ``annotation``) with its top three moments and scores."""
    truth = annotation.relevant_windows.tolist()
    fig, axes = plt.subplots(1 + len(predictions), 1, figsize=(9, 1.8 + 1.7 * len(predictions)),
                             sharex=True, layout="constrained",
                             height_ratios=[2] + [1] * len(predictions))
    plot_spectrogram(audio, sample_rate, ax=axes[0], moments_xx=truth)
    axes[0].set_title(f"query: {annotation.query!r}", loc="left", fontsize=10)
    for ax, (name, prediction) in zip(axes[1:], predictions.items(), strict=True):
        plot_moments(truth, prediction.pred_relevant_windows[:3], annotation.duration, ax=ax,
                     title=f"{name} model, top 3")
    for ax in axes[:-1]:
        ax.set_xlabel("")
    return fig


def top_quantiles(cells: Sequence[Mapping[str, Any]], committed: Sequence[Mapping[str, Any]]
                  ) -> dict[tuple[str, str], list[float]]:
    """AM-DETR's top-moment length quantiles (s, 10/25/50/75/90 %) with captions per
    ``(trained on, tested on)``: from ``cells`` where they have the pair, else the
    committed seed-0 cell."""
    def captions(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list[float]]:
        return {(c["trained_on"], c["tested_on"]): c["top1_s"] for c in rows
                if c["method"] == "am-detr" and c["queries"] == "captions"}

    return captions([c for c in committed if c["seed"] == 0]) | captions(cells)


def box_stats(quantiles: Sequence[float], label: str) -> dict[str, Any]:
    """A box of :meth:`~matplotlib.axes.Axes.bxp` from five quantiles (whiskers, quartiles,
    median)."""
    low, q1, median, q3, high = quantiles
    return {"label": label, "whislo": low, "q1": q1, "med": median, "q3": q3, "whishi": high}


def plot_length_prior(true_s: Mapping[str, Sequence[float]],
                      top_s: Mapping[tuple[str, str], Sequence[float]],
                      tested: Sequence[str] = (QUICK, REAL),
                      models: Sequence[str] = (QUICK, REAL, MIX)) -> Figure:
    """One panel per test split (log scale): boxes of the true moment lengths
    (``true_s[tested]``) and of each model's top moments (``top_s[model, tested]``),
    all as five quantiles."""
    fig, axes = plt.subplots(1, len(tested), figsize=(9, 3.4), sharey=True,
                             layout="constrained", squeeze=False)
    colours = [TRUE_COLOUR, *(MODEL_COLOURS[model] for model in models)]
    for ax, name in zip(axes[0], tested, strict=True):
        stats = [box_stats(true_s[name], "true"),
                 *(box_stats(top_s[model, name], f"{model} model") for model in models)]
        parts = ax.bxp(stats, showfliers=False, patch_artist=True,
                       medianprops={"color": "black"})
        for patch, colour in zip(parts["boxes"], colours, strict=True):
            patch.set_facecolor(colour)
        ax.set_yscale("log")
        ax.set_yticks([1, 2, 5, 10, 20, 50], ["1", "2", "5", "10", "20", "50"])
        ax.minorticks_off()
        ax.set_title(f"tested on {name}", loc="left", fontsize=10)
        ax.tick_params(axis="x", labelrotation=20)
    axes[0, 0].set_ylabel("moment length (s)")
    return fig


def class_recall(class_rows: Sequence[Mapping[str, Any]], trained_on: str, tested_on: str,
                 queries: str = "captions") -> tuple[pd.DataFrame, pd.Series]:
    """R1@0.5 per sound class (rows, sorted by AM-DETR's) and method (columns), mean over
    seeds; and each class's number of test queries."""
    classes = pd.DataFrame(class_rows)
    mine = classes[(classes["trained_on"] == trained_on) & (classes["tested_on"] == tested_on)
                   & (classes["queries"] == queries)]
    per_class = mine.groupby(["class", "method"])["R1@0.5"].mean().unstack("method")
    counts = mine.groupby("class")["n"].first()
    return per_class.sort_values("am-detr"), counts


def plot_class_recall(per_class: pd.DataFrame, counts: pd.Series) -> Figure:
    """AM-DETR's R1@0.5 per class as bars and the baseline's as dots, one row per class
    of :func:`class_recall` (bottom to top), labelled with its number of queries."""
    fig, ax = plt.subplots(figsize=(8, 10.5), layout="constrained")
    y = np.arange(len(per_class))
    ax.barh(y, per_class["am-detr"], color="#2a9d8f", label="AM-DETR")
    ax.plot(per_class["baseline"], y, "o", color="#264653", ms=4, label="baseline")
    ax.set_yticks(y, [f"{c} ({counts[c]})" for c in per_class.index], fontsize=8)
    ax.set(xlabel="R1@0.5 (%)", ylabel="ESC-50 class (test queries)", xlim=(0, 103),
           ylim=(-0.7, len(per_class) - 0.3))
    ax.legend(loc="lower right")
    return fig


def percent_list(values: pd.Series) -> str:
    """``"dog (100 %), rain (80 %)"``: each label with its value in percent."""
    return ", ".join(f"{label} ({value:.0f} %)" for label, value in values.items())


def class_example(labels: Sequence[str], ious: np.ndarray, label: str, found: bool) -> int:
    """The query of class ``label`` with the highest (``found``) or lowest top IoU; the
    first on a tie."""
    mine = np.asarray(labels) == label
    pick = np.argmax if found else np.argmin
    return int(np.flatnonzero(mine)[pick(np.asarray(ious)[mine])])


def answer_text(what: str, annotation: MomentAnnotation, prediction: MomentPrediction) -> str:
    """The query, its true moments and the model's first-ranked moment, in two lines."""
    top = prediction.pred_relevant_windows[0]
    true = ", ".join(f"{s:g}-{e:g} s" for s, e in annotation.relevant_windows)
    return (f"{what}: {annotation.query!r}\n  true {true}; top moment "
            f"{top[0]:g}-{top[1]:g} s (score {top[2]:.2f})")


def wording_recall(class_rows: Sequence[Mapping[str, Any]], trained_on: str,
                   tested_on: str) -> pd.DataFrame:
    """AM-DETR's R1@0.5 per sound class (rows) and wording (columns: ``captions``,
    ``paraphrases``), mean over seeds."""
    classes = pd.DataFrame(class_rows)
    mine = classes[(classes["trained_on"] == trained_on) & (classes["tested_on"] == tested_on)
                   & (classes["method"] == "am-detr")]
    return mine.groupby(["class", "queries"])["R1@0.5"].mean().unstack("queries")


def template_similarity(encoder: TextEncoder, labels: Sequence[str],
                        paraphrases: Mapping[str, str] = PARAPHRASES,
                        templates: Mapping[str, Sequence[str]] = CAPTION_PHRASINGS
                        ) -> pd.Series:
    """Per class: the cosine between its paraphrase and the nearest of its template
    phrasings, in the sentence ``encoder``'s (L2-normalised) space."""
    nearest = {}
    for label in labels:
        vectors = encoder.sentence_embeddings([paraphrases[label], *templates[label]])
        nearest[label] = float((vectors[1:] @ vectors[0]).max())
    return pd.Series(nearest)


def plot_paraphrases(by_wording: pd.DataFrame) -> Figure:
    """Per class (:func:`wording_recall` with a ``similarity`` column): R1@0.5 with the
    paraphrase against with the captions, coloured by similarity; the three largest
    losses and two largest gains are named."""
    fig, ax = plt.subplots(figsize=(6.5, 5.2), layout="constrained")
    dots = ax.scatter(by_wording["captions"], by_wording["paraphrases"],
                      c=by_wording["similarity"], cmap="viridis", s=28)
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--")
    change = by_wording["paraphrases"] - by_wording["captions"]
    for label in [*change.nsmallest(3).index, *change.nlargest(2).index]:
        ax.annotate(label, (by_wording.loc[label, "captions"],
                            by_wording.loc[label, "paraphrases"]),
                    xytext=(4, 3), textcoords="offset points", fontsize=8)
    ax.set(xlabel="R1@0.5 with the template captions (%)",
           ylabel="R1@0.5 with the paraphrase (%)", xlim=(-3, 103), ylim=(-3, 103))
    fig.colorbar(dots, ax=ax, label="cosine to the nearest template (all-MiniLM-L6-v2)")
    return fig


def lost_text(by_wording: pd.DataFrame, labels: Sequence[str]) -> str:
    """Each class with its paraphrase and its R1@0.5 with the captions and with it."""
    return "; ".join(f"{c} ({PARAPHRASES[c]!r}, {by_wording.loc[c, 'captions']:.0f} -> "
                     f"{by_wording.loc[c, 'paraphrases']:.0f} %)" for c in labels)


def paraphrased(label: str) -> str:
    """A class with its paraphrase: ``dog ('a canine yapping')``."""
    return f"{label} ({PARAPHRASES[label]!r})"


def similarity_verdict(correlation: float) -> str:
    """What a correlation between similarity and recall change says (threshold 0.3)."""
    if correlation >= 0.3:
        return "closer paraphrases tend to keep more of the recall"
    return ("closeness in the sentence encoder's own space predicts little of which "
            "paraphrases survive")


def wording_example(caption_ious: Sequence[float], paraphrase_ious: Sequence[float],
                    both: bool) -> int | None:
    """The query found (IoU >= 0.5) with its caption and, with ``both``, with its
    paraphrase too (else: missed with it) whose caption IoU is highest; ``None`` if none."""
    found = [index for index, (c, p) in enumerate(zip(caption_ious, paraphrase_ious,
                                                      strict=True))
             if c >= 0.5 and (p >= 0.5) == both]
    return max(found, key=lambda index: caption_ious[index]) if found else None


def said_text(what: str, said: Sequence[tuple[MomentAnnotation, float]]) -> str:
    """``what``, then each query with its top IoU on a line of its own."""
    return f"{what}:" + "".join(f"\n  {a.query!r} (IoU {iou:.2f})" for a, iou in said)


def benchmark_table(described: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per annotation set of :meth:`LiveTransfer.benchmarks`: queries, recordings,
    mean length, moments per query, share of several moments, median moment."""
    return pd.DataFrame({
        name: {"queries": d["queries"], "recordings": d["recordings"],
               "length (s)": round(d["duration_s"]["mean"], 1),
               "moments": round(d["moments_per_query"], 2),
               "multi": f"{100 * d['multi_moment_share']:.0f} %",
               "moment (s)": round(d["moment_s"]["median"], 1)}
        for name, d in described.items()}).T


def castella_values(described: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The glued facts of CASTELLA's validation split; placeholders without the data
    (nothing ``described``)."""
    keys = ("castella_multi", "castella_moment", "castella_length")
    if not described:
        return dict.fromkeys(keys, NEEDS_DATA)
    castella = described["castella_val"]
    return dict(zip(keys, (f"{100 * castella['multi_moment_share']:.0f} %",
                           f"{castella['moment_s']['median']:.1f}",
                           f"{castella['duration_s']['mean']:.0f}"), strict=True))
