"""How much of AM-DETR's score is a prior, how much is listening, how much is reading.

Three rows of one Table I (:mod:`amr_lib.experiments.table1`) answer it, on the same test
queries:

- **prior**: the best constant moment of the training labels (audio-blind and query-blind:
  where and how long events usually are);
- **audio**: AM-DETR reading a query of another recording, minus the prior (what hearing
  the recording adds when the words are wrong);
- **words**: AM-DETR with its own query, minus the query-blind AM-DETR (what reading the
  query adds).

The three parts add up to AM-DETR's score. Both differences carry the evidence rule's
interval (:func:`~amr_lib.experiments.evidence.compare_rows`), on all test queries or only
on those whose recording holds other events too, where the prior cannot tell which event
is asked. The words part is a lower bound of what reading is worth: a donor query may name
a sound that the recording also holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from amr_lib.experiments.evidence import Difference, compare_rows, row_queries

PRIOR = ("constant moment, audio-blind", "none")
BLIND = ("am-detr, query-blind", "contrastive")
MODEL = ("am-detr", "contrastive")
BASELINE = ("baseline", "contrastive")
SUBSETS = ("all queries", "several events")


@dataclass(frozen=True)
class GainSplit:
    """AM-DETR's mean ``metric`` (points) on ``subset`` of ``profile``'s test queries as
    ``prior + audio.mean + words.mean``, with the baseline's mean beside it."""

    profile: str
    subset: str
    metric: str
    queries: int
    prior: float
    audio: Difference
    words: Difference
    baseline: float

    @property
    def total(self) -> float:
        return self.prior + self.audio.mean + self.words.mean

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "subset": self.subset, "metric": self.metric,
                "queries": self.queries, "prior": self.prior,
                "audio": self.audio.to_json(), "words": self.words.to_json(),
                "baseline": self.baseline, "total": round(self.total, 4)}


def _row(rows: Sequence[Mapping[str, Any]], key: tuple[str, str]) -> Mapping[str, Any]:
    for row in rows:
        if (row["method"], row["features"]) == key:
            return row
    raise KeyError(f"the Table I rows hold no {key[0]} row with {key[1]} features")


def _mean(row: Mapping[str, Any], metric: str, keep: Any) -> float:
    values = row_queries(row, metric, keep)
    if values is None:
        raise ValueError(f"the {row['method']} row holds no per-query values of {metric} "
                         "(a Table I written before they were recorded)")
    return round(float(values.mean()), 4)


def gain_split(rows: Sequence[Mapping[str, Any]], metric: str = "mAP",
               subset: str = "all queries") -> GainSplit:
    """:class:`GainSplit` of a Table I's rows (``subset``: one of :data:`SUBSETS`; the
    several-event queries come from the rows' ``several_events`` mask)."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    prior, blind, model = _row(rows, PRIOR), _row(rows, BLIND), _row(rows, MODEL)
    keep = None
    if subset == "several events":
        if "several_events" not in model:
            raise ValueError("the Table I rows carry no several_events mask")
        keep = np.asarray(model["several_events"], dtype=bool)
    audio, words = compare_rows(blind, prior, metric, keep), compare_rows(model, blind,
                                                                         metric, keep)
    if audio is None or words is None:
        raise ValueError(f"the Table I rows hold no per-query values of {metric}")
    count = len(model["per_seed"][0]["queries"][metric]) if keep is None else int(keep.sum())
    return GainSplit(model["profile"], subset, metric, count, _mean(prior, metric, keep),
                     audio, words, _mean(_row(rows, BASELINE), metric, keep))
