"""Chapter 7's verdict helpers on hand-made rows: the search table, intervals, the book's
claims, the gain split figure and its sentence."""

from __future__ import annotations

import numpy as np
import pytest

from amr_lib.book import real_sounds as book
from amr_lib.experiments.prior import gain_split


def row(method, features, *seeds, several=(1, 1, 0, 0)):
    return {"method": method, "features": features, "profile": "real-sounds",
            "several_events": list(several),
            "per_seed": [{"seed": s, "queries": {"mAP": list(v), "lands_on_queried": [
                100.0 if x > 50 else 0.0 for x in v]}} for s, v in enumerate(seeds)]}


ROWS = [row("baseline", "contrastive", [20, 20, 60, 60]),
        row("am-detr", "contrastive", [80, 60, 90, 90], [60, 60, 90, 90]),
        row("am-detr, query-blind", "contrastive", [10, 30, 80, 80], [30, 10, 80, 80]),
        row("constant moment, audio-blind", "none", [0, 0, 40, 40])]

SEARCH = {"chosen": {"preset": "paper", "lr": 3e-4, "train_scale": 1.0}, "points": [
    {"preset": p, "lr": lr, "train_scale": x, "valid": {"mAP": m},
     "training": {"best_epoch": k, "curve": [{"epoch": e, "valid_mAP": m - (k - e) * 0.1}
                                             for e in range(1, k + 11)]}}
    for p, lr, x, m, k in (("quick", 3e-4, 1.0, 36.4, 45), ("paper", 3e-4, 1.0, 43.9, 46),
                           ("paper", 3e-4, 2.0, 44.6, 33))]}


def test_the_search_table_marks_the_chosen_run():
    table = book.search_table(SEARCH)
    assert table["chosen"].tolist() == ["", "yes", ""]
    assert table["epochs run"].tolist() == [55, 56, 43]
    assert table["data"].tolist() == ["1x", "1x", "2x"]
    ax = book.plot_search_curves(SEARCH)
    assert ax.get_xlabel() == "epoch" and len(ax.get_legend().get_texts()) == 3


def test_intervals_and_claims_follow_the_evidence_rule():
    model = ROWS[1]
    whole = book.mean_interval(model, "mAP")
    assert whole.mean == pytest.approx(77.5) and whole.low < 77.5 < whole.high
    assert book.mean_interval(model, "mAP", np.array([1, 1, 0, 0], bool)).mean == 65.0
    table = book.interval_table(ROWS, ["mAP"], several=True)
    assert table.loc[("am-detr", "contrastive"), "mAP"].startswith("65.00 [")
    claims = [book.BookClaim("AM-DETR beats the baseline", ("am-detr", "contrastive"),
                             ("baseline", "contrastive"), "mAP", several=True)]
    difference, verdict = book.judge(claims[0], ROWS)
    assert difference.mean == 45.0 and verdict == "agrees"
    assert book.verdict_table(claims, ROWS).loc[claims[0].claim, "verdict"] == "agrees"
    # every several-event query scores above 50 for AM-DETR: all land; the baseline's none
    assert book.seed_landing(ROWS, "am-detr", "contrastive") == 100.0
    assert book.seed_landing(ROWS, "baseline", "contrastive") == 0.0


def test_the_gain_split_figure_and_sentence():
    splits = [gain_split(ROWS), gain_split(ROWS, subset="several events")]
    ax = book.plot_gain_split(splits)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == ["audio", "baseline", "prior", "words"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "real-sounds, all queries (4)", "real-sounds, several events (2)"]
    said = book.split_sentence(splits[1])
    assert said.startswith("On real-sounds (several events), reading the query adds +45.00")
    assert "the constant moment alone is 0 % of AM-DETR's score" in said


def test_the_training_table_reads_every_trained_seed():
    rows = [dict(r) for r in ROWS]
    rows[1] = {**rows[1], "per_seed": [
        {**entry, "training": {"best_epoch": kept, "epoch_cap": 80, "curve": [
            {"epoch": e, "valid_mAP": 40.0 + e / 10} for e in range(1, last + 1)]}}
        for entry, kept, last in zip(rows[1]["per_seed"], (12, 20), (22, 20), strict=True)]}
    table = book.training_table(rows)
    assert table["seed"].tolist() == [0, 1]      # only the row whose seeds were trained
    assert table["kept epoch"].tolist() == [12, 20]
    assert table["epochs run"].tolist() == [22, 20]
    assert table["valid mAP"].tolist() == ["41.20", "42.00"]
    assert not book.stopped_early(table)         # seed 1 kept its last epoch
    assert book.stopped_early(table.iloc[:1])


def test_the_search_sentence_follows_the_search():
    said = book.search_sentence({**SEARCH, "min_gain": 1.0})
    assert said == ("validation average mAP 43.90, against 36.40 for the best other "
                    "candidate (quick at lr 0.0003); 2x the data gained +0.70 points, "
                    "under the 1 the rule asks for")


def test_the_landing_sentence_reads_the_verdict():
    claim = book.BookClaim("lands", ("am-detr", "contrastive"), ("baseline", "contrastive"),
                           "lands_on_queried", several=True)
    said = book.landing_sentence(claim, ROWS)
    assert said.startswith("AM-DETR minus the baseline +100.00 [")
    assert said.endswith("more often, beyond the interval")


def test_the_early_stops_sentence_names_untrained_runs_cut_short():
    import pandas as pd

    def table(untrained, contrastive):
        return pd.DataFrame(
            [{"features": "contrastive-untrained", "kept epoch": k} for k in untrained]
            + [{"features": "contrastive", "kept epoch": k} for k in contrastive])

    said = book.early_stops_sentence(table([33, 5, 14, 59], [46, 32, 67]))
    assert said.startswith("2 of the 4 runs on the untrained encoder kept an earlier epoch "
                           "than any run on the contrastive one (epochs 5, 14, against 32)")
    assert book.early_stops_sentence(table([40], [32])).startswith(
        "No run on the untrained encoder kept an earlier epoch")
    assert book.early_stops_sentence(table([], [32])) == ""


def test_the_claim_sentence_reads_the_difference_and_the_verdict():
    claim = book.BookClaim("lands", ("am-detr", "contrastive"), ("baseline", "contrastive"),
                           "lands_on_queried", several=True)
    said = book.claim_sentence(claim, ROWS)
    assert said.startswith("+100.00 [")
    assert said.endswith("points of the share landing on the queried event on several-event "
                         "queries (agrees)")
