"""The prior / audio / words split of AM-DETR's score, on hand-made Table I rows."""

from __future__ import annotations

import numpy as np
import pytest

from amr_lib.experiments.evidence import paired_bootstrap
from amr_lib.experiments.prior import gain_split


def row(method: str, features: str, *seeds: list[float]) -> dict:
    return {"method": method, "features": features, "profile": "quick",
            "several_events": [1, 1, 0, 0],
            "per_seed": [{"seed": s, "queries": {"mAP": list(v)}}
                         for s, v in enumerate(seeds)]}


ROWS = [row("baseline", "contrastive", [20, 20, 60, 60]),
        row("am-detr", "contrastive", [80, 60, 90, 90], [60, 60, 90, 90]),
        row("am-detr, query-blind", "contrastive", [10, 30, 80, 80], [30, 10, 80, 80]),
        row("constant moment, audio-blind", "none", [0, 0, 40, 40])]


def test_the_three_parts_add_up_to_am_detrs_score():
    split = gain_split(ROWS)
    # prior 20, query-blind 50, AM-DETR 77.5 (mean over both seeds and all queries)
    assert (split.prior, split.audio.mean, split.words.mean) == (20.0, 30.0, 27.5)
    assert split.total == 77.5 and split.baseline == 40.0 and split.queries == 4
    # each part carries the evidence rule's interval of its own difference
    model, blind, prior = (np.array([s["queries"]["mAP"] for s in r["per_seed"]])
                           for r in ROWS[1:])
    assert split.words == paired_bootstrap(model, blind)
    assert split.audio == paired_bootstrap(blind, prior)


def test_on_several_event_recordings_the_prior_and_the_audio_alone_fall_away():
    split = gain_split(ROWS, subset="several events")
    assert split.queries == 2
    # there the constant moment scores 0 and the query-blind model 20: reading is 50
    assert (split.prior, split.audio.mean, split.words.mean) == (0.0, 20.0, 45.0)
    assert split.words.verdict() == "agrees" and split.baseline == 20.0
    assert split.to_json()["words"] == split.words.to_json()


def test_rows_without_what_the_split_needs_are_refused():
    with pytest.raises(ValueError, match="subset must be"):
        gain_split(ROWS, subset="some")
    with pytest.raises(KeyError, match="query-blind"):
        gain_split([r for r in ROWS if r["method"] != "am-detr, query-blind"])
    legacy = [{**r, "per_seed": [{"seed": 0}]} for r in ROWS]
    with pytest.raises(ValueError, match="no per-query values"):
        gain_split(legacy)
    with pytest.raises(ValueError, match="mask of the row's 4 queries"):
        gain_split([{**r, "several_events": [1, 0]} for r in ROWS], subset="several events")
