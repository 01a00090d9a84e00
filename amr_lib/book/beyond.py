"""Chapter 9's tables and figures: each beyond-the-paper recipe against AM-DETR as
published, from a committed ``amr experiment beyond`` grid
(:mod:`amr_lib.experiments.beyond`).

Every comparison is the evidence rule's: per-query values (R1, mAP, landings), per-query
presence pairs (an AUROC, :func:`~amr_lib.experiments.evidence.bootstrap_statistic`) and
per-recording SED counts (an F1), resampled with the seeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from amr_lib.book.pages import committed, data_dir
from amr_lib.experiments.beyond import (
    BEYOND,
    FEATURES,
    POINTS,
    auroc_of_pairs,
    f1_of_counts,
    point_key,
)
from amr_lib.experiments.controls import landings, other_event_windows
from amr_lib.experiments.evidence import Difference, bootstrap_statistic, paired_bootstrap
from amr_lib.experiments.results import LiveCheck, live_check, stored_point
from amr_lib.model.recipes import RECIPES
from amr_lib.presence import ABSENT_SHARE, expected_calibration_error, reliability_bins
from amr_lib.profiles import profile_key
from amr_lib.spans import temporal_iou

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
    from amr_lib.profiles import Profile

Row = Mapping[str, Any]
# the absolute bars, by measure: presence AUROC and landings on the queried event (%)
TARGETS = {"auroc": 0.9, "lands": 85.0}
# a collapse of present queries under absent pairs: a mean drop of this many points or more
COLLAPSE_POINTS = 10.0


def row_name(row: Row) -> str:
    """``aware (absent 0.25)`` or ``paper``."""
    share = row["absent_share"]
    return row["recipe"] if share is None else f"{row['recipe']} (absent {share:g})"


def rows_from_points(folder: str | Path, profile: Profile, seeds: Sequence[int],
                     numerics: str) -> list[dict[str, Any]]:
    """The rows of a grid that is still running, from the points it has written so far
    (``OUT/points/`` of :func:`~amr_lib.experiments.beyond.run_beyond`, committed under
    ``grids/``): per recipe and absent share, in the recipes' order, its points of
    ``seeds`` (``n_seeds`` says how many), shaped as the finished grid's ``beyond.json``.
    Only points the grid would keep are shown: made under ``numerics`` (a grid is never
    mixed across numerics), ``profile``'s definition and the recipe's switches as the
    code defines them now."""
    found: dict[tuple[str, float | None], list[dict[str, Any]]] = {}
    for path in sorted(Path(folder).glob("*.json")):
        point = json.loads(path.read_text(encoding="utf-8"))
        name, share = point["recipe"]["name"], point["absent_share"]
        if point["seed"] not in seeds or name not in RECIPES:
            continue
        key = point_key(profile, RECIPES[name], share or 0.0, numerics)
        if stored_point(path, key) is not None:
            found.setdefault((name, share), []).append(point)
    order = list(RECIPES)
    return [{"recipe": name, "absent_share": share, "profile": profile.name,
             "n_seeds": len(points), "per_seed": sorted(points, key=lambda p: p["seed"])}
            for (name, share), points in sorted(
                found.items(), key=lambda item: (order.index(item[0][0]), item[0][1] or 0))]


def seed_count(row: Row) -> int:
    """How many seeds' points the row holds."""
    return len(row["per_seed"])


def whole(row: Row, seeds: int | None) -> bool:
    """Whether the row holds ``seeds`` seeds (any count when ``seeds`` is None): a verdict
    on fewer would leave out the seed-to-seed spread that the evidence rule resamples."""
    return seeds is None or seed_count(row) >= seeds


@dataclass(frozen=True)
class GridSoFar:
    """A beyond grid as far as it has gone: its rows, its features' reference, a phrase
    saying how complete it is, the seeds per recipe it is meant to hold (each row holds
    its own count so far) and, once complete, the command that made it and its
    provenance (a running grid's points share one numerics by construction: empty)."""

    rows: list[Row]
    features: dict[str, Any]
    state: str
    made_by: str | None
    seeds: int
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def holds(self, recipe: str) -> bool:
        """Whether it holds a point of ``recipe``."""
        return any(row["recipe"] == recipe for row in self.rows)

    def whole(self, recipe: str) -> bool:
        """Whether it holds every seed of ``recipe``."""
        return any(row["recipe"] == recipe and whole(row, self.seeds) for row in self.rows)

    @property
    def comparable(self) -> bool:
        """Whether it holds the published model and ``aware``: what the targets compare."""
        return self.holds("paper") and self.holds("aware")

    @property
    def judged(self) -> bool:
        """Whether it holds every seed of both (:func:`whole`)."""
        return self.whole("paper") and self.whole("aware")


def grid_so_far(target: str, profile: Profile, seeds: int = 3,
                share: float = ABSENT_SHARE) -> GridSoFar:
    """The committed grid ``book/data/<target>/`` when it is complete, else what the grid
    still running has written under ``grids/<target>/``: its features' reference (written
    first) and its points of that reference's numerics, of the first ``seeds`` seeds, the
    recipes with absent pairs at ``share`` only. A grid of CPU days spans sessions, and
    the book shows it as it stands. A complete grid is shown whole (``seeds`` and
    ``share`` filter only a running one); its seeds per recipe are the most any row
    holds, so a row of fewer is not judged as whole. A running grid whose features'
    reference was made for another definition of the profile is a ``ValueError``: its
    points would be dropped one by one, and it must be made again."""
    done = committed(f"{target}/{BEYOND}")
    if done is not None:
        features = committed(f"{target}/{FEATURES}")
        if features is None:
            raise FileNotFoundError(f"{done.path.parent}: no {FEATURES} beside {BEYOND}")
        counts = sorted({seed_count(row) for row in done.value})
        per_recipe = " to ".join(str(count) for count in counts)
        return GridSoFar(done.value, features.value,
                         f"complete ({per_recipe} seeds per recipe)", done.made_by,
                         counts[-1], done.provenance)
    grid = data_dir().parents[1] / "grids" / target
    if not (grid / FEATURES).is_file():
        raise FileNotFoundError(f"{grid}: neither a complete grid in book/data/{target} "
                                f"nor a running one's {FEATURES}")
    features = stored_point(grid / FEATURES, {"profile": profile_key(profile)})
    if features is None:
        raise ValueError(f"{grid / FEATURES}: made for another definition of the "
                         f"{profile.name!r} profile than the code gives now; its grid "
                         "must be made again")
    asked = range(profile.seed, profile.seed + seeds)
    rows = [row for row in rows_from_points(grid / POINTS, profile, asked,
                                            features["numerics"])
            if row["absent_share"] in (None, share)]
    made = sum(row["n_seeds"] for row in rows)
    state = (f"still running: {made} of {seeds * len(RECIPES)} points ("
             + ", ".join(f"{row_name(row)}: {row['n_seeds']} of {seeds} seeds"
                         for row in rows) + ")") if rows else (
        f"still running: none of its {seeds * len(RECIPES)} points made under its "
        "numerics yet")
    return GridSoFar(rows, features, state, None, seeds)


def query_values(row: Row, metric: str, several: bool = False) -> np.ndarray:
    """``(S, Q)`` per-query values of ``metric`` over the row's seeds (several-event
    queries only with ``several``)."""
    values = np.array([point["queries"][metric] for point in row["per_seed"]], float)
    if several:
        values = values[:, np.asarray(row["per_seed"][0]["several_events"], dtype=bool)]
    return values


def difference(row: Row, paper: Row, measure: str) -> Difference:
    """``row`` minus ``paper`` on one measure, by the evidence rule: ``R1@0.5``, ``mAP``
    (per query), ``lands`` (several-event queries), ``auroc`` / ``auroc_hard`` (presence
    pairs) or ``sed_f1`` (per recording; F1 x 100)."""
    if measure in ("R1@0.5", "R1@0.7", "mAP"):
        return paired_bootstrap(query_values(row, measure), query_values(paper, measure))
    if measure == "lands":
        return paired_bootstrap(query_values(row, "lands_on_queried", True),
                                query_values(paper, "lands_on_queried", True))
    if measure in ("auroc", "auroc_hard"):
        case = "hard" if measure == "auroc_hard" else "any"
        units = [[np.array(p["presence"][case]["pairs"]) for p in r["per_seed"]]
                 for r in (row, paper)]
        return bootstrap_statistic(*units, auroc_of_pairs)
    if measure == "sed_f1":
        units = [[np.array(p["sed"]["recordings"]) for p in r["per_seed"]]
                 for r in (row, paper)]
        return bootstrap_statistic(*units, lambda counts: 100 * f1_of_counts(counts))
    raise ValueError(f"unknown measure {measure!r}")


MEASURES = {"R1@0.5": "R1@0.5", "mAP": "mAP", "lands": "lands on the queried event (%)",
            "auroc": "presence AUROC", "auroc_hard": "AUROC, nearest class",
            "sed_f1": "SED F1 x 100"}


def value(row: Row, measure: str) -> float:
    """The row's mean of one measure over its seeds (in the units of :data:`MEASURES`)."""
    points = row["per_seed"]
    if measure in ("R1@0.5", "R1@0.7", "mAP"):
        return float(query_values(row, measure).mean())
    if measure == "lands":
        return float(query_values(row, "lands_on_queried", True).mean())
    if measure in ("auroc", "auroc_hard"):
        case = "hard" if measure == "auroc_hard" else "any"
        return float(np.mean([auroc_of_pairs(p["presence"][case]["pairs"])
                              for p in points]))
    if measure == "sed_f1":
        return float(np.mean([100 * f1_of_counts(p["sed"]["recordings"]) for p in points]))
    raise ValueError(f"unknown measure {measure!r}")


def point_values(point: Row) -> dict[str, float]:
    """One grid point's :data:`MEASURES`, AUROCs x 100 (so a tolerance in points holds
    every measure to the same precision)."""
    one = {"per_seed": [point]}
    return {measure: value(one, measure) * (100 if measure.startswith("auroc") else 1)
            for measure in MEASURES}


def live_point_check(rows: Sequence[Row], point: Row, provenance: Mapping[str, Any],
                     profile: Profile) -> LiveCheck:
    """A live :func:`~amr_lib.experiments.beyond.recipe_point` against the committed
    point of its recipe, absent share and seed (exact under the same numerics and
    profile definition; see :class:`~amr_lib.experiments.results.LiveCheck`). The live
    point must be made in a fresh output folder: one that holds the committed point
    would return it unchanged. The committed point is judged by the numerics that made
    it (its own ``numerics``: a grid read back from another machine, or one made before
    grids were kept to one numerics), else the grid's."""
    name = point["recipe"]["name"]          # a point holds its recipe's switches
    row = next((r for r in rows if r["recipe"] == name
                and r["absent_share"] == point["absent_share"]), None)
    committed = None if row is None else next(
        (p for p in row["per_seed"] if p["seed"] == point["seed"]), None)
    if committed is None:
        raise KeyError(f"the committed grid holds no {name} point of seed "
                       f"{point['seed']} (absent share {point['absent_share']})")
    seed = point["seed"]
    if "numerics" in committed:
        provenance = {**provenance, "numerics": {"fingerprint": committed["numerics"]}}
    return live_check(f"{row_name(row)}, seed {seed}", point_values(point),
                      {"per_seed": [{"seed": seed, **point_values(committed)}]}, provenance,
                      seed, metrics=tuple(MEASURES), profiles=[profile])


def comparison_table(rows: Sequence[Row], measures: Sequence[str] = tuple(MEASURES)
                     ) -> pd.DataFrame:
    """Per recipe: its seeds, each measure's mean, and for every recipe but the paper's
    its difference from the paper's ``[95 % CI]``."""
    import pandas as pd

    paper = next(row for row in rows if row["recipe"] == "paper")
    table = {}
    for row in rows:
        cells: dict[str, Any] = {"seeds": seed_count(row)}
        for measure in measures:
            mean = value(row, measure)
            decimals = 3 if measure.startswith("auroc") else 2
            text = f"{mean:.{decimals}f}"
            if row is not paper:
                text += f" ({difference(row, paper, measure).cell(decimals)})"
            cells[MEASURES[measure]] = text
        table[row_name(row)] = cells
    return pd.DataFrame(table).T.rename_axis("recipe")


# a verdict of the evidence rule on "the recipe is higher than AM-DETR", as the book says it
VERDICT_WORDS = {"agrees": "higher", "contradicts": "lower", "unresolved": "unresolved"}
# :data:`MEASURES` as a sentence names them (the table's headers hold units and commas)
MEASURES_SAID = {"R1@0.5": "R1@0.5", "mAP": "mAP", "lands": "landing on the queried event",
                 "auroc": "presence AUROC", "auroc_hard": "AUROC against the nearest class",
                 "sed_f1": "SED F1"}


def listed(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(filter(None, (", ".join(names[:-1]), names[-1]))) if names else ""


def verdicts_said(rows: Sequence[Row], seeds: int | None = None) -> str:
    """One sentence per recipe but the paper's: the measures of :data:`MEASURES` on which
    it stands higher, lower or unresolved against AM-DETR as published by the evidence
    rule; with ``seeds``, a recipe (or a paper row) of fewer seeds gets no verdict, only
    its count. A last sentence names the recipes of :data:`RECIPES` with no row yet."""
    paper = next(row for row in rows if row["recipe"] == "paper")
    said = []
    for row in rows:
        if row is paper:
            continue
        name = f'The recipe "{row_name(row)}"'
        if not (whole(row, seeds) and whole(paper, seeds)):
            said.append(f"{name} holds {seed_count(row)} of {seeds} seeds "
                        f"(the published model {seed_count(paper)}): no verdict yet.")
            continue
        words = {m: VERDICT_WORDS[difference(row, paper, m).verdict()] for m in MEASURES}
        parts = [f"{word} on " + listed([MEASURES_SAID[m] for m in MEASURES
                                         if words[m] == word])
                 for word in VERDICT_WORDS.values() if word in words.values()]
        said.append(f"{name} is " + "; ".join(parts) + ".")
    missing = [name for name in RECIPES if name != "paper"
               and not any(row["recipe"] == name for row in rows)]
    if missing:
        said.append(f"No point yet of {listed(missing)}.")
    return " ".join(said)


def refusal_table(rows: Sequence[Row]) -> pd.DataFrame:
    """Per recipe, what its stored threshold does to test pairs (mean over seeds,
    percent): present queries answered "found", absent texts of any class and of the
    nearest class answered "not found"."""
    import pandas as pd

    cases = {"present kept (%)": ("any", "present_kept"),
             "absent refused (%)": ("any", "absent_refused"),
             "nearest class refused (%)": ("hard", "absent_refused")}
    return pd.DataFrame({
        row_name(row): {name: round(100 * float(np.mean(
            [p["presence"][case][key] for p in row["per_seed"]])), 1)
            for name, (case, key) in cases.items()}
        for row in rows}).T.rename_axis("recipe")


def target_gap(row: Row, measure: str) -> Difference:
    """How far ``row`` stands above its absolute target (:data:`TARGETS`; negative: below),
    with the evidence rule's interval of the measure itself (queries or pairs resampled
    with the seeds): ``lands`` (points) or ``auroc``."""
    if measure == "lands":
        values = query_values(row, "lands_on_queried", True)
        gap = paired_bootstrap(values, np.zeros((1, values.shape[1])))
    elif measure == "auroc":
        gap = bootstrap_statistic([np.array(p["presence"]["any"]["pairs"])
                                   for p in row["per_seed"]], None, auroc_of_pairs)
    else:
        raise ValueError(f"no absolute target for {measure!r}")
    bar = TARGETS[measure]
    return Difference(round(gap.mean - bar, 4), round(gap.low - bar, 4),
                      round(gap.high - bar, 4))


def targets_table(rows: Sequence[Row], recipe: str = "aware", seeds: int | None = None
                  ) -> pd.DataFrame:
    """The issue's targets for ``recipe``'s rows, each with the measure, where it stands
    against the bar ``[95 % CI]`` and whether it is met: presence AUROC and landings at
    least their bar (the mean); R1@0.5 and mAP not below AM-DETR's interval (the
    difference's interval reaches no lower than 0: not "contradicts"); SED F1 above
    AM-DETR's (the interval excludes 0: "agrees"). With ``seeds``, a row or a paper row
    of fewer seeds is judged "pending": its interval leaves out the seeds' spread."""
    import pandas as pd

    paper = next(row for row in rows if row["recipe"] == "paper")
    table = {}
    bars = {"auroc": ("presence AUROC >= {:g}", 3),
            "lands": ("lands on the queried event >= {:g} %", 2)}
    for row in (r for r in rows if r["recipe"] == recipe):
        checks = {label.format(TARGETS[measure]): (
            measure, target_gap(row, measure), value(row, measure) >= TARGETS[measure],
            decimals) for measure, (label, decimals) in bars.items()}
        versus = {m: difference(row, paper, m) for m in ("R1@0.5", "mAP", "sed_f1")}
        checks |= {
            "R1@0.5 not below AM-DETR's": (
                "R1@0.5", versus["R1@0.5"], versus["R1@0.5"].verdict() != "contradicts", 2),
            "mAP not below AM-DETR's": (
                "mAP", versus["mAP"], versus["mAP"].verdict() != "contradicts", 2),
            "SED F1 above AM-DETR's": (
                "sed_f1", versus["sed_f1"], versus["sed_f1"].verdict() == "agrees", 2)}
        short = not (whole(row, seeds) and whole(paper, seeds))
        pending = (f"pending (seeds: {recipe} {seed_count(row)}, paper "
                   f"{seed_count(paper)} of {seeds})")
        for target, (measure, gap, met, decimals) in checks.items():
            table[row_name(row), target] = {
                "value": f"{value(row, measure):.{decimals}f}",
                "against the bar [95 % CI]": gap.cell(decimals),
                "met": pending if short else "met" if met else "not met"}
    return pd.DataFrame(table).T.rename_axis(["recipe", "target"])


@dataclass(frozen=True)
class ShareSweep:
    """What the absent-share study says for one present-query measure: the lowest mean over
    the ``recipe`` rows, the shares that reach it (a tie: several), the paper's mean and
    each of those shares' difference from the paper (the same mean, its own interval);
    then, over every share, those whose difference's interval lies wholly above zero
    (``gained_at``) and those whose interval lies wholly below it (``losses``)."""

    measure: str
    lowest: float
    paper: float
    drops: dict[float, Difference]
    gained_at: tuple[float, ...] = ()    # the shares whose interval lies wholly above zero
    losses: dict[float, Difference] = field(default_factory=dict)

    @property
    def at(self) -> list[float]:
        """The shares of the lowest mean."""
        return list(self.drops)

    @property
    def drop(self) -> Difference:
        """The least favourable of the drops: the one whose interval lies lowest (its
        upper end first)."""
        return min(self.drops.values(), key=lambda d: (d.high, d.low))

    @property
    def lost_at(self) -> list[float]:
        """The shares of :attr:`losses`."""
        return list(self.losses)

    @property
    def collapsed_at(self) -> list[float]:
        """The shares whose loss is a collapse: a mean drop of :data:`COLLAPSE_POINTS` or
        more (with its interval wholly below zero)."""
        return [share for share, d in self.losses.items() if d.mean <= -COLLAPSE_POINTS]


def share_sweep(rows: Sequence[Row], measure: str, recipe: str = "aware") -> ShareSweep:
    """The absent-share study's worst case on ``measure`` (``R1@0.5`` or ``mAP``): ``rows``
    hold the paper's row and ``recipe`` at several absent shares."""
    paper = next((row for row in rows if row["recipe"] == "paper"), None)
    swept = [row for row in rows if row["recipe"] == recipe]
    if paper is None or not swept:
        raise ValueError(f"the share study needs a paper row and {recipe} rows; it holds "
                         f"{[row_name(row) for row in rows]}")
    means = [value(row, measure) for row in swept]
    differences = [difference(row, paper, measure) for row in swept]
    least = min(means)

    def shares(verdict: str) -> dict[float, Difference]:
        return {row["absent_share"]: d for row, d in zip(swept, differences, strict=True)
                if d.verdict() == verdict}

    return ShareSweep(measure, least, value(paper, measure), {
        row["absent_share"]: d
        for row, mean, d in zip(swept, means, differences, strict=True) if mean == least},
        gained_at=tuple(shares("agrees")), losses=shares("contradicts"))


def shares_said(sweeps: Sequence[ShareSweep]) -> str:
    """One clause on the sweeps: at which shares the difference's interval lies wholly
    below zero, and which of those losses are collapses; then at which it lies wholly
    above zero, if any."""
    def named(shares_of: Callable[[ShareSweep], Sequence[float]]) -> list[str]:
        return [f"{s.measure} at " + listed([f"{100 * share:g} %" for share in shares_of(s)])
                for s in sweeps if shares_of(s)]

    lost, collapsed = named(lambda s: s.lost_at), named(lambda s: s.collapsed_at)
    gained = named(lambda s: s.gained_at)
    if not lost:
        said = "no share costs present queries beyond the interval"
    else:
        said = "the difference's interval lies wholly below zero for " + listed(lost)
        if not collapsed:
            said += ", a loss, though not a collapse"
        elif collapsed == lost:
            said += ", a collapse"
        else:
            said += f", a collapse for {listed(collapsed)} only"
    if gained:
        said += (", and wholly above zero" if lost else
                 ", and the difference's interval lies wholly above zero")
        said += f" for {listed(gained)}"
    return said


def numerics_said(provenance: Mapping[str, Any]) -> str:
    """Whether a committed grid's points come from one machine's numerics, from its
    provenance's ``point_numerics``, and what a mix would mean."""
    if len(provenance.get("point_numerics", [])) > 1:
        return ("Its points come from several kinds of machine, and each trains its own "
                "contrastive encoder, so a difference between its rows mixes what the "
                "rows change with the encoders' difference; the next regeneration "
                "remakes it under one machine's numerics.")
    return "Its points all come from one machine's numerics."


def features_row(features: Mapping[str, Any]) -> Row:
    """The features' reference (:func:`~amr_lib.experiments.beyond.features_presence`) as
    a one-seed row whose presence AUROCs :func:`difference` and :func:`value` read."""
    return {"recipe": "features", "absent_share": None,
            "per_seed": [{"presence": {case: features[case] for case in ("any", "hard")}}]}


def features_table(rows: Sequence[Row], features: Mapping[str, Any]) -> pd.DataFrame:
    """Presence AUROC (absent texts of any class, and of the nearest class) of the
    features' best window similarity, and of each recipe with its difference from it
    ``[95 % CI]``: what training added to what the features already told."""
    import pandas as pd

    reference = features_row(features)
    table: dict[str, dict[str, Any]] = {"features: best window similarity": {
        "seeds": "-", **{MEASURES[m]: f"{value(reference, m):.3f}"
                         for m in ("auroc", "auroc_hard")}}}
    for row in rows:
        table[row_name(row)] = {"seeds": seed_count(row), **{
            MEASURES[m]: f"{value(row, m):.3f} ({difference(row, reference, m).cell(3)})"
            for m in ("auroc", "auroc_hard")}}
    return pd.DataFrame(table).T.rename_axis("presence score")


def plot_reliability(rows: Sequence[Row], ax: Axes | None = None) -> Axes:
    """Reliability of each recipe's calibrated presence probability on its test pairs
    (absent texts of any class; all seeds pooled): the share of present pairs against the
    mean probability per bin, the diagonal being perfect calibration. The legend gives each
    recipe's expected calibration error over the same pooled pairs and bins."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(4.6, 4.2))[1]
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="calibrated")
    for row in rows:
        pairs = np.concatenate([np.array(p["presence"]["any"]["pairs"])
                                for p in row["per_seed"]])
        probability = np.concatenate([pairs[:, 0], pairs[:, 1]])
        present = np.repeat([True, False], len(pairs))
        bins = reliability_bins(probability, present)
        ece = expected_calibration_error(probability, present)
        ax.plot([b["probability"] for b in bins], [b["present"] for b in bins], "o-",
                label=f"{row_name(row)} (ECE {ece:.3f})", ms=4)
    ax.set_xlabel("presence probability (bin mean)")
    ax.set_ylabel("share of pairs whose sound is there")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    return ax


def plot_sed_curves(rows: Sequence[Row], ax: Axes | None = None) -> Axes:
    """Zero-shot SED F1 on the test recordings against the threshold (seed 0 of each row;
    each row's own grid of validation quantiles)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 3.6))[1]
    for row in rows:
        curve = row["per_seed"][0]["sed"]["curve"]
        ax.plot(curve["threshold"], curve["f1"], label=row_name(row))
    ax.set_xlabel("threshold on the moment score")
    ax.set_ylabel("frame F1 (test)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def most_confident_absent(top: np.ndarray, present: np.ndarray) -> int:
    """The index (into the pairs) of the absent pair whose top moment scores highest: the
    published model's most confident answer about a sound that is not there."""
    absent = np.flatnonzero(~np.asarray(present, dtype=bool))
    if not len(absent):
        raise ValueError("no absent pair to choose from")
    return int(absent[np.argmax(np.asarray(top)[absent])])


def clearest_wrong_event(annotations: Sequence[MomentAnnotation],
                         predictions: Sequence[MomentPrediction]) -> int | None:
    """The index of the query whose top moment lands on *another* event of its recording
    (:func:`~amr_lib.experiments.controls.landings`) most squarely: the highest IoU with
    that event (ties: the higher score); ``None`` when no top moment lands elsewhere."""
    outcomes = landings(annotations, predictions)
    wrong = [i for i, outcome in enumerate(outcomes) if outcome == "other"]
    if not wrong:
        return None
    others = other_event_windows(annotations)

    def squareness(i: int) -> tuple[float, float]:
        top = predictions[i].pred_relevant_windows[0]
        return float(temporal_iou(top[None, :2], others[i]).max()), float(top[2])

    return max(wrong, key=squareness)


def plot_answer(audio: np.ndarray, sample_rate: int, events: Sequence[MomentAnnotation],
                asked: str, moments: np.ndarray, shown: int = 3, ax: Axes | None = None
                ) -> Axes:
    """A recording's spectrogram with its true events (dashed, each named by its query)
    and the model's ``shown`` best moments for the text ``asked`` (shaded, with scores)."""
    import matplotlib.pyplot as plt

    from amr_lib.viz import plot_spectrogram

    ax = ax or plt.subplots(figsize=(9, 3.2))[1]
    windows = [window for event in events for window in event.relevant_windows]
    plot_spectrogram(audio, sample_rate, ax=ax, moments_xx=windows,
                     moment_label="true events")
    top = ax.get_ylim()[1]
    # each event named from its edge nearer the middle, one line lower than the event
    # before: captions of neighbouring events would otherwise overlap or leave the axes
    middle = len(audio) / sample_rate / 2
    for line, event in enumerate(events):
        for start, end in event.relevant_windows:
            left = start < middle
            ax.text(start if left else end, top * (0.94 - 0.08 * line), event.query,
                    color="white", ha="left" if left else "right", va="top", fontsize=8,
                    clip_on=True)
    for rank, (start, end, score) in enumerate(moments[:shown]):
        ax.axvspan(start, end, color="tab:orange", alpha=0.35 if rank == 0 else 0.15)
        ax.text(start, top * (0.08 + 0.1 * rank), f"{rank + 1}: {score:.2f}",
                color="black", fontsize=8, backgroundcolor="white")
    ax.set_title(f"asked: {asked!r}", loc="left", fontsize=10)
    return ax
