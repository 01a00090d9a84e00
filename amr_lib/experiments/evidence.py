"""One rule for every verdict: a paired bootstrap of the difference "A minus B".

A claim "A beats B" (the paper's, or the book's own) is judged on the per-query values of
one metric on one test split: ``a (S_a, Q)`` and ``b (S_b, Q)``, a row per training seed
(one row for a deterministic method), a column per test query, the same queries in the
same order. Each of :data:`RESAMPLES` resamples draws the queries with replacement (the
same draw for A and B: the comparison is paired) and, where a method has several seeds,
its seeds with replacement; the statistic is the difference of the two means. The 95 %
interval is the 2.5th and 97.5th percentile of those differences, from a fixed generator
seed, so a verdict repeats exactly:

- ``agrees``: the interval excludes 0 on the side the claim states;
- ``contradicts``: it excludes 0 on the other side;
- ``unresolved``: it holds 0.

Per-query values are those of :mod:`amr_lib.metrics` (Lighthouse's R1 hit and AP per query,
in percent), so the mean over queries of a row is the reported metric.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.metrics import score_queries

RESAMPLES = 2000
LEVEL = 0.95
BOOTSTRAP_SEED = 0
VERDICTS = ("agrees", "contradicts", "unresolved")


@dataclass(frozen=True)
class Difference:
    """``mean`` of A minus B (points) and its bootstrap interval ``[low, high]``."""

    mean: float
    low: float
    high: float

    def verdict(self, direction: int = 1) -> str:
        """Against a claim that A beats B (``direction=1``) or that B beats A (``-1``)."""
        if direction not in (1, -1):
            raise ValueError(f"direction must be 1 (A > B) or -1 (A < B), got {direction}")
        low, high = sorted((direction * self.low, direction * self.high))
        if low > 0:
            return "agrees"
        if high < 0:
            return "contradicts"
        return "unresolved"

    def cell(self, decimals: int = 2) -> str:
        """``+1.23 [+0.40, +2.10]``. A bound that excludes 0 never prints as zero: the
        cell takes more decimals (up to four more) until it shows the verdict's sign."""
        places = decimals
        if self.verdict() != "unresolved":       # both bounds on one side of 0
            nearest = min(abs(self.low), abs(self.high))
            while round(nearest, places) == 0 and places < decimals + 4:
                places += 1
        return (f"{self.mean:+.{places}f} [{self.low:+.{places}f}, "
                f"{self.high:+.{places}f}]")

    def to_json(self) -> dict[str, float]:
        return {"mean": self.mean, "ci_low": self.low, "ci_high": self.high}


def _rows(values: Any, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.size == 0 or not np.isfinite(array).all():
        raise ValueError(f"{what} must be a non-empty finite (seeds, queries) array, got "
                         f"shape {array.shape}")
    return array


def paired_bootstrap(a: Any, b: Any, resamples: int = RESAMPLES, level: float = LEVEL,
                     seed: int = BOOTSTRAP_SEED) -> Difference:
    """The difference of means ``a - b`` with its interval (see the module docstring).
    ``a (S_a, Q)`` and ``b (S_b, Q)`` (or ``(Q,)`` for one seed); ``ValueError`` when the
    query counts differ."""
    a, b = _rows(a, "A"), _rows(b, "B")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"A and B must be scored on the same queries: {a.shape[1]} vs "
                         f"{b.shape[1]}")
    if not 0 < level < 1 or resamples < 1:
        raise ValueError(f"need 0 < level < 1 and resamples >= 1, got {level}, {resamples}")
    rng = np.random.default_rng(seed)
    queries = rng.integers(0, a.shape[1], (resamples, a.shape[1]))

    def resampled_means(values: np.ndarray) -> np.ndarray:
        seeds = rng.integers(0, len(values), (resamples, len(values)))
        by_query = values[seeds].mean(axis=1)                           # (R, Q)
        return np.take_along_axis(by_query, queries, axis=1).mean(axis=1)

    differences = resampled_means(a) - resampled_means(b)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    return Difference(round(float(a.mean() - b.mean()), 4), round(float(low), 4),
                      round(float(high), 4))


def bootstrap_statistic(a: Sequence[np.ndarray], b: Sequence[np.ndarray] | None,
                        statistic: Callable[[np.ndarray], float],
                        resamples: int = RESAMPLES, level: float = LEVEL,
                        seed: int = BOOTSTRAP_SEED) -> Difference:
    """The evidence rule for a statistic that is not a mean over queries (an AUROC over
    pairs, an F1 over recordings' counts): ``a`` and ``b`` hold one ``(U, ...)`` array per
    seed, a row per unit (the same units in the same order everywhere); each resample
    draws the units (shared by A and B) and each method's seeds as
    :func:`paired_bootstrap` does, and the statistic of a method is its mean over the drawn
    seeds. With ``statistic`` the mean of a ``(U,)`` column it equals
    :func:`paired_bootstrap`. With ``b`` None, the interval is of A's statistic itself
    (its difference from 0), for a comparison with a fixed bar."""
    zero = b is None
    a = [np.asarray(x, dtype=np.float64) for x in a]
    b = a[:1] if zero else [np.asarray(x, dtype=np.float64) for x in b]
    units = {len(x) for x in a + b}
    if not a or not b or len(units) != 1:
        raise ValueError(f"every seed of A and B must hold the same units, got {units}")
    count = units.pop()
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, count, (resamples, count))
    seeds_a = rng.integers(0, len(a), (resamples, len(a)))
    seeds_b = rng.integers(0, len(b), (resamples, len(b)))

    def method(values: list[np.ndarray], seeds: np.ndarray) -> np.ndarray:
        cache: dict[tuple[int, int], float] = {}
        out = np.empty(resamples)
        for r in range(resamples):
            parts = []
            for s in seeds[r]:
                if (r, s) not in cache:
                    cache[r, s] = statistic(values[s][draws[r]])
                parts.append(cache[r, s])
            out[r] = np.mean(parts)
        return out

    differences = method(a, seeds_a) - (0.0 if zero else method(b, seeds_b))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    mean = np.mean([statistic(x) for x in a]) - (
        0.0 if zero else np.mean([statistic(x) for x in b]))
    return Difference(round(float(mean), 4), round(float(low), 4), round(float(high), 4))


def per_query(annotations: Sequence[MomentAnnotation],
              predictions: Sequence[MomentPrediction],
              metrics: Sequence[str]) -> dict[str, np.ndarray]:
    """``{metric: (Q,) percent}`` per query, in annotation order: ``R1@t`` (0 or 100),
    ``mAP@t`` (AP x 100) and ``mAP`` (AP averaged over Lighthouse's thresholds)."""
    scores = score_queries(annotations, predictions)
    column = {f"{t:g}": index for index, t in enumerate(scores.thresholds)}
    values = {}
    for metric in metrics:
        name, _, threshold = metric.partition("@")
        if metric == "mAP":
            values[metric] = scores.average_precision.mean(axis=1) * 100
        elif name in ("R1", "mAP") and threshold in column:
            source = scores.recall_at_1 if name == "R1" else scores.average_precision
            values[metric] = source[:, column[threshold]].astype(np.float64) * 100
        else:
            raise ValueError(f"no per-query value for metric {metric!r}")
    return values


def row_queries(row: Mapping[str, Any], metric: str, keep: Any = None) -> np.ndarray | None:
    """``(S, Q)`` per-query values of ``metric`` from a committed result row's ``per_seed``
    entries (``None`` for a row written before they were recorded); with ``keep`` (a
    ``(Q,)`` boolean mask, e.g. a Table I row's ``several_events``) those queries only."""
    seeds = [entry.get("queries", {}).get(metric) for entry in row.get("per_seed", ())]
    if not seeds or any(values is None for values in seeds):
        return None
    values = np.asarray(seeds, dtype=np.float64)
    if keep is not None:
        mask = np.asarray(keep, dtype=bool)
        if mask.shape != (values.shape[1],):
            raise ValueError(f"keep must be a mask of the row's {values.shape[1]} queries, "
                             f"got shape {mask.shape}")
        values = values[:, mask]
    return values


def compare_rows(a: Mapping[str, Any], b: Mapping[str, Any], metric: str, keep: Any = None
                 ) -> Difference | None:
    """:func:`paired_bootstrap` of two committed rows on ``metric`` (over the queries
    ``keep`` marks, default all); ``None`` when either row holds no per-query values."""
    first, second = row_queries(a, metric, keep), row_queries(b, metric, keep)
    if first is None or second is None:
        return None
    return paired_bootstrap(first, second)
