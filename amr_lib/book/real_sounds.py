"""Chapter 7's verdict on real sounds: the recipe search, Table I with intervals on all
queries and on recordings with several events, the book's own claims under the evidence
rule, and AM-DETR's score split into prior, audio and words.

Every number comes from committed results (``recipe_search_real-sounds.json``,
``table1_<profile>.json``); every sentence is chosen by a rule on those numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from amr_lib.experiments.evidence import Difference, compare_rows, paired_bootstrap, row_queries
from amr_lib.experiments.prior import GainSplit

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

Row = Mapping[str, Any]
LANDS = "lands_on_queried"


def is_chosen(point: Mapping[str, Any], chosen: Mapping[str, Any]) -> bool:
    """Whether a search point is the recipe ``chosen`` (its preset, rate and data size)."""
    return all(point[k] == v for k, v in chosen.items())


def search_table(search: Mapping[str, Any]) -> pd.DataFrame:
    """The committed recipe search, one row per run in the order run: preset, learning
    rate, data, validation average mAP of the kept epoch, kept epoch, epochs run, and which
    one was chosen."""
    import pandas as pd

    chosen = search["chosen"]
    rows = []
    for point in search["points"]:
        training = point["training"]
        rows.append({
            "preset": point["preset"], "learning rate": f"{point['lr']:g}",
            "data": f"{point['train_scale']:g}x",
            "valid mAP": f"{point['valid']['mAP']:.2f}",
            "kept epoch": training["best_epoch"], "epochs run": len(training["curve"]),
            "chosen": "yes" if is_chosen(point, chosen) else ""})
    return pd.DataFrame(rows)


def plot_search_curves(search: Mapping[str, Any], ax: Axes | None = None) -> Axes:
    """Validation average mAP over epochs of every run of the search, each kept epoch
    marked; the chosen run drawn thicker."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 3.6))[1]
    chosen = search["chosen"]
    for point in search["points"]:
        curve = point["training"]["curve"]
        epochs = [row["epoch"] for row in curve]
        values = [row["valid_mAP"] for row in curve]
        picked = is_chosen(point, chosen)
        label = f"{point['preset']}, lr {point['lr']:g}, {point['train_scale']:g}x"
        line, = ax.plot(epochs, values, lw=2.4 if picked else 1.2, label=label)
        kept = point["training"]["best_epoch"]
        ax.plot(kept, values[epochs.index(kept)], "o", color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation average mAP (%)")
    ax.legend(fontsize=8, title="dots: kept epochs", title_fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def mean_interval(row: Row, metric: str, keep: Any = None) -> Difference:
    """``row``'s mean of ``metric`` (over its seeds and the queries ``keep`` marks) with
    the evidence rule's 95 % interval (a paired bootstrap against zero)."""
    values = row_queries(row, metric, keep)
    if values is None:
        raise ValueError(f"the {row['method']} row holds no per-query values of {metric}")
    return paired_bootstrap(values, np.zeros((1, values.shape[1])))


def interval_table(rows: Sequence[Row], metrics: Sequence[str], several: bool = False
                   ) -> pd.DataFrame:
    """Each row's mean ``[95 % interval]`` of ``metrics`` on all test queries, or on
    those whose recording holds several events (``several``)."""
    import pandas as pd

    table = {}
    for row in rows:
        keep = np.asarray(row["several_events"], dtype=bool) if several else None
        table[(row["method"], row["features"])] = {
            metric: interval_text(mean_interval(row, metric, keep), signed=False)
            for metric in metrics}
    return pd.DataFrame(table).T.rename_axis(["method", "features"])


def interval_text(difference: Difference, signed: bool = True) -> str:
    """``+1.23 [+0.40, +2.10]`` (``signed``: a difference, :meth:`Difference.cell`) or
    ``1.23 [0.40, 2.10]`` (a mean and its interval)."""
    if signed:
        return difference.cell(2)
    return f"{difference.mean:.2f} [{difference.low:.2f}, {difference.high:.2f}]"


@dataclass(frozen=True)
class BookClaim:
    """A claim the book makes itself, judged by the evidence rule: ``a`` beats ``b`` on
    ``metric`` (rows picked by (method, features)) over all queries or several-event ones."""

    claim: str
    a: tuple[str, str]
    b: tuple[str, str]
    metric: str
    several: bool = False


def judge(claim: BookClaim, rows: Sequence[Row]) -> tuple[Difference, str]:
    """The difference with its interval and the verdict of ``claim`` on ``rows``."""
    picked = {(row["method"], row["features"]): row for row in rows}
    a, b = picked[claim.a], picked[claim.b]
    keep = np.asarray(a["several_events"], dtype=bool) if claim.several else None
    difference = compare_rows(a, b, claim.metric, keep)
    if difference is None:
        raise ValueError(f"{claim.claim}: the rows hold no per-query values")
    return difference, difference.verdict()


def claim_sentence(claim: BookClaim, rows: Sequence[Row]) -> str:
    """``claim``'s difference, its metric and queries, and the rule's verdict in words."""
    difference, verdict = judge(claim, rows)
    queries = "several-event queries" if claim.several else "all test queries"
    metric = {"mAP": "average mAP", LANDS: "the share landing on the queried event"}.get(
        claim.metric, claim.metric)
    return f"{interval_text(difference)} points of {metric} on {queries} ({verdict})"


def verdict_table(claims: Sequence[BookClaim], rows: Sequence[Row]) -> pd.DataFrame:
    """One line per claim: the queries it is judged on, the metric, ``A - B [95 % CI]``
    and the verdict."""
    import pandas as pd

    table = {}
    for claim in claims:
        difference, verdict = judge(claim, rows)
        table[claim.claim] = {
            "queries": "several events" if claim.several else "all",
            "metric": claim.metric, "difference [95 % CI]": interval_text(difference),
            "verdict": verdict}
    return pd.DataFrame(table).T.rename_axis("claim")


def plot_gain_split(splits: Sequence[GainSplit], ax: Axes | None = None) -> Axes:
    """One horizontal bar per (profile, queries): AM-DETR's mean as prior + audio + words
    (each part its own colour; a negative part is drawn to the left of zero), the words
    part's 95 % interval as a whisker at the bar's end, and the baseline as a black mark."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 0.8 + 0.7 * len(splits)))[1]
    colours = {"prior": "#bbbbbb", "audio": "#6baed6", "words": "#e6550d"}
    for y, split in enumerate(splits):
        left_positive, left_negative = 0.0, 0.0
        for part, value in (("prior", split.prior), ("audio", split.audio.mean),
                            ("words", split.words.mean)):
            if value >= 0:
                ax.barh(y, value, left=left_positive, color=colours[part],
                        label=part if y == 0 else None)
                left_positive += value
            else:
                ax.barh(y, value, left=left_negative, color=colours[part],
                        label=part if y == 0 else None)
                left_negative += value
        end = split.total
        low = max(0.0, end - (split.words.mean - split.words.low))
        high = end + (split.words.high - split.words.mean)
        ax.plot([low, high], [y, y], color="black", lw=1)
        ax.plot(split.baseline, y, marker="|", color="black", markersize=18, mew=2,
                label="baseline" if y == 0 else None)
    ax.set_yticks(range(len(splits)),
                  [f"{s.profile}, {s.subset} ({s.queries})" for s in splits])
    ax.set_xlabel(f"average {splits[0].metric} (%)")
    # outside the axes: inside, it would cover the end of a bar
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return ax


def split_sentence(split: GainSplit) -> str:
    """What the split says, by rule: whether reading the query adds to the score beyond
    the interval, and how the prior compares with the whole."""
    verdict = split.words.verdict()
    reading = {"agrees": "reading the query adds", "contradicts": "reading the query costs",
               "unresolved": "reading the query adds no more than the noise:"}[verdict]
    share = 100 * split.prior / split.total if split.total else 0.0
    return (f"On {split.profile} ({split.subset}), {reading} "
            f"{interval_text(split.words)} points of {split.metric}, and the constant "
            f"moment alone is {share:.0f} % of AM-DETR's score")


def seed_landing(rows: Sequence[Row], method: str, features: str) -> float:
    """The share (percent) of several-event test queries whose top moment lands on the
    queried event, over a row's seeds."""
    row = next(r for r in rows if (r["method"], r["features"]) == (method, features))
    return mean_interval(row, LANDS, np.asarray(row["several_events"], bool)).mean


def training_table(rows: Sequence[Row]) -> pd.DataFrame:
    """One line per AM-DETR training run of a Table I (every trained row's seeds): the
    epoch kept (best validation average mAP), the epochs run before patience or the cap
    stopped it, and that epoch's validation mAP."""
    import pandas as pd

    lines = []
    for row in rows:
        for entry in row.get("per_seed", []):
            training = entry.get("training")
            if not training:
                continue
            curve = {point["epoch"]: point["valid_mAP"] for point in training["curve"]}
            kept = training["best_epoch"]
            lines.append({"features": row["features"], "seed": entry["seed"],
                          "kept epoch": kept, "epochs run": max(curve),
                          "epoch cap": training["epoch_cap"],
                          "valid mAP": f"{curve[kept]:.2f}"})
    return pd.DataFrame(lines)


def stopped_early(table: pd.DataFrame) -> bool:
    """Whether every run of :func:`training_table` kept an epoch before its last."""
    return bool((table["kept epoch"] < table["epochs run"]).all())


def early_stops_sentence(table: pd.DataFrame, untrained: str = "contrastive-untrained",
                         trained: str = "contrastive") -> str:
    """Which runs on the untrained encoder kept an earlier best epoch than any run on the
    contrastive one (:func:`training_table`'s kept epochs), and what early stopping may
    do to their comparison; empty when the table has no runs of either."""
    kept = {name: table.loc[table["features"] == name, "kept epoch"].tolist()
            for name in (untrained, trained)}
    if not kept[untrained] or not kept[trained]:
        return ""
    earliest = min(kept[trained])
    early = sorted(epoch for epoch in kept[untrained] if epoch < earliest)
    if not early:
        return (f"No run on the untrained encoder kept an earlier epoch than the earliest "
                f"run on the contrastive one (epoch {earliest}).")
    epochs = ("epochs " if len(early) > 1 else "epoch ") + ", ".join(map(str, early))
    return (f"{len(early)} of the {len(kept[untrained])} runs on the untrained encoder "
            f"kept an earlier epoch than any run on the contrastive one ({epochs}, against "
            f"{earliest}). On features that say little, validation mAP "
            "can stay flat for a whole patience before it rises, so early stopping may end "
            "such a run before it learns. That favours the contrastive encoder in their "
            "comparison: its verdict is about this recipe, not about the best the "
            "untrained encoder could reach.")


def search_sentence(search: Mapping[str, Any]) -> str:
    """Why the committed search chose what it chose, by its own rule: the chosen recipe's
    validation mAP against the best other one at its data size, and what the last doubling
    of data gained against the search's ``min_gain``."""
    chosen = search["chosen"]
    points = search["points"]
    kept = next(point for point in points if is_chosen(point, chosen))
    # the presets and rates competed at 1x; a later size competed only with its doubling
    rivals = ([p for p in points if p["train_scale"] == 1.0 and not is_chosen(p, chosen)]
              if kept["train_scale"] == 1.0 else [])
    said = [f"validation average mAP {kept['valid']['mAP']:.2f}"]
    if rivals:
        rival = max(rivals, key=lambda p: p["valid"]["mAP"])
        said[0] += (f", against {rival['valid']['mAP']:.2f} for the best other candidate "
                    f"({rival['preset']} at lr {rival['lr']:g})")
    larger = [p for p in points if p["preset"] == chosen["preset"]
              and p["lr"] == chosen["lr"] and p["train_scale"] > chosen["train_scale"]]
    if larger:
        gain = larger[0]["valid"]["mAP"] - kept["valid"]["mAP"]
        said.append(f"{larger[0]['train_scale']:g}x the data gained {gain:+.2f} points, "
                    f"under the {search['min_gain']:g} the rule asks for")
    return "; ".join(said)


def landing_sentence(claim: BookClaim, rows: Sequence[Row]) -> str:
    """The landing claim's difference with its interval and what the rule makes of it."""
    difference, verdict = judge(claim, rows)
    meaning = {"agrees": "more often, beyond the interval",
               "contradicts": "less often, beyond the interval",
               "unresolved": "no difference beyond the interval"}[verdict]
    return f"AM-DETR minus the baseline {interval_text(difference)} points: {meaning}"
