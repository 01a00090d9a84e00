"""The evidence rule: a paired bootstrap of A minus B over queries (and seeds), its
verdicts on constructed cases, per-query values that average to the reported metrics,
and the scoreboard built from committed rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from amr_lib.experiments.evidence import (
    Difference,
    compare_rows,
    paired_bootstrap,
    per_query,
    row_queries,
)
from amr_lib.experiments.results import METRICS, seed_entry
from amr_lib.experiments.scoreboard import CLAIMS, Claim, score, scoreboard
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.metrics import evaluate


def test_verdicts_follow_the_side_the_interval_excludes():
    assert Difference(3.0, 1.0, 5.0).verdict() == "agrees"
    assert Difference(3.0, 1.0, 5.0).verdict(-1) == "contradicts"
    assert Difference(-3.0, -5.0, -1.0).verdict() == "contradicts"
    assert Difference(-3.0, -5.0, -1.0).verdict(-1) == "agrees"
    assert Difference(0.5, -1.0, 2.0).verdict() == "unresolved"
    assert Difference(1.0, 0.0, 2.0).verdict() == "unresolved"     # 0 is inside
    assert Difference(1.234, 0.5, 2.0).cell() == "+1.23 [+0.50, +2.00]"
    # a bound that decides the verdict shows its sign; an unresolved one keeps its places
    assert Difference(0.035, 0.0004, 0.069).cell(3) == "+0.0350 [+0.0004, +0.0690]"
    assert Difference(-0.5, -1.0, -0.001).cell() == "-0.500 [-1.000, -0.001]"
    assert Difference(0.5, -0.001, 1.0).cell() == "+0.50 [-0.00, +1.00]"
    with pytest.raises(ValueError, match="direction"):
        Difference(0, 0, 0).verdict(0)


def test_a_clear_gain_agrees_and_noise_is_unresolved():
    rng = np.random.default_rng(0)
    b = rng.choice([0.0, 100.0], size=400)
    better = np.where(rng.random(400) < 0.3, 100.0, b)        # A hits 30 % more often
    clear = paired_bootstrap(better, b)
    assert clear.low > 0 and clear.verdict() == "agrees"
    assert clear.mean == pytest.approx(better.mean() - b.mean())
    same = paired_bootstrap(b, b)                               # one seed each: exactly 0
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)
    noise = paired_bootstrap(rng.permutation(b), b)
    assert noise.verdict() == "unresolved"


def test_pairing_cancels_what_both_methods_share():
    rng = np.random.default_rng(1)
    hard = rng.normal(50, 30, 300)                   # per-query difficulty, shared
    a, b = hard + 1.0 + rng.normal(0, 0.5, 300), hard + rng.normal(0, 0.5, 300)
    paired = paired_bootstrap(a, b)
    assert paired.verdict() == "agrees"              # +1 on every query: clearly above 0
    assert paired.high - paired.low < 0.5
    # unpaired, the same means would drown in the difficulty spread
    shuffled = paired_bootstrap(a, rng.permutation(b))
    assert shuffled.high - shuffled.low > 5


def test_seeds_widen_the_interval_and_the_result_repeats():
    rng = np.random.default_rng(2)
    queries = rng.normal(50, 10, 200)
    spread = np.stack([queries + shift for shift in (-6.0, 0.0, 6.0)])   # seed effects
    one_seed = paired_bootstrap(spread[1:2], queries - 1.0)
    three = paired_bootstrap(spread, queries - 1.0)
    assert three.high - three.low > one_seed.high - one_seed.low
    assert paired_bootstrap(spread, queries) == paired_bootstrap(spread, queries)
    with pytest.raises(ValueError, match="same queries"):
        paired_bootstrap(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        paired_bootstrap(np.array([np.nan]), np.zeros(1))


def test_per_query_values_average_to_lighthouses_metrics():
    rng = np.random.default_rng(3)
    annotations, predictions = [], []
    for qid in range(40):
        start = float(rng.integers(0, 50))
        annotations.append(MomentAnnotation(qid, "q", 60.0, f"v{qid}",
                                            np.array([[start, start + 8.0]])))
        starts = rng.uniform(0, 55, 5)
        rows = np.column_stack([starts, starts + rng.uniform(2, 12, 5), rng.random(5)])
        predictions.append(MomentPrediction(qid, "q", f"v{qid}", rows))
    values = per_query(annotations, predictions, METRICS)
    report = evaluate(annotations, predictions)
    for metric in METRICS:
        assert values[metric].shape == (40,)
        assert values[metric].mean() == pytest.approx(report[metric], abs=0.006)
    assert set(np.unique(values["R1@0.5"])) <= {0.0, 100.0}
    with pytest.raises(ValueError, match="no per-query value"):
        per_query(annotations, predictions, ["R5@0.5"])


def table_row(method, features, values_by_seed, seeds=None):
    seeds = seeds or list(range(len(values_by_seed)))
    return {"method": method, "features": features, "per_seed": [
        seed_entry(seed, {m: float(np.mean(v)) for m in METRICS},
                   {m: v for m in METRICS})
        for seed, v in zip(seeds, values_by_seed, strict=True)]}


def test_scoreboard_rows_from_committed_tables(tmp_path):
    rng = np.random.default_rng(4)
    hits = rng.choice([0.0, 100.0], size=(3, 300), p=[0.3, 0.7])
    misses = rng.choice([0.0, 100.0], size=(1, 300), p=[0.7, 0.3])
    rows = [table_row("am-detr", "contrastive", hits),
            table_row("baseline", "contrastive", misses, seeds=[None]),
            table_row("am-detr", "contrastive-untrained", hits[:, ::-1])]
    (tmp_path / "table1_quick.json").write_text(json.dumps(rows))
    assert row_queries(rows[0], "mAP").shape == (3, 300)
    assert compare_rows(rows[0], {"per_seed": [{"seed": 0}]}, "mAP") is None
    board = {(r["claim"], r["profile"], r["metric"]): r for r in scoreboard(tmp_path)}
    beats = board["AM-DETR beats the sliding-window baseline", "quick", "mAP"]
    assert beats["verdict"] == "agrees" and beats["ci_low"] > 0
    assert beats["ours"] == pytest.approx(hits.mean() - misses.mean(), abs=1e-3)
    # the real-sounds table is not committed here: unresolved, and says why
    missing = board["AM-DETR beats the sliding-window baseline", "real-sounds", "mAP"]
    assert missing["verdict"] == "unresolved" and "not committed" in missing["reason"]
    untestable = [r for r in board.values() if r["verdict"] == "not tested here"]
    assert untestable and all(r["reason"] and r["ours"] is None for r in untestable)
    # a claim the data contradicts says so
    reversed_claim = Claim("the baseline beats AM-DETR", "-", "-", "mAP",
                           "table1_quick.json", ("baseline", "contrastive"),
                           ("am-detr", "contrastive"))
    assert score(reversed_claim, tmp_path)["verdict"] == "contradicts"
    # a table from before per-query values were recorded
    legacy = [{k: v for k, v in row.items() if k != "per_seed"} for row in rows]
    (tmp_path / "table1_quick.json").write_text(json.dumps(legacy))
    assert "no per-query values" in score(CLAIMS[0], tmp_path)["reason"]


def test_the_scoreboard_command_writes_rows_and_provenance(tmp_path, capsys):
    from amr_lib.cli import main

    assert main(["experiment", "scoreboard", "--data", str(tmp_path), "--out",
                 str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "scoreboard.json").read_text())
    assert len(rows) == len(CLAIMS)
    assert {"claim", "paper_section", "paper_value", "profile", "ours", "ci_low", "ci_high",
            "verdict"} <= set(rows[0])
    made = json.loads((tmp_path / "scoreboard.provenance.json").read_text())
    assert made["command"].startswith("amr experiment scoreboard")
    assert "not tested here" in capsys.readouterr().out
    assert main(["experiment", "scoreboard", "--data", str(tmp_path / "none")]) == 2


def test_the_committed_scoreboard_is_what_the_committed_results_give():
    from pathlib import Path

    from amr_lib.experiments.scoreboard import markdown

    data = Path(__file__).resolve().parents[1] / "book" / "data"
    committed = json.loads((data / "scoreboard.json").read_text())
    assert committed == json.loads(json.dumps(scoreboard(data))), (
        "book/data/scoreboard.json is stale: run `amr experiment scoreboard`")
    assert (data / "scoreboard.md").read_text() == markdown(committed)


def test_a_statistic_bootstrap_of_a_mean_is_the_paired_bootstrap():
    from amr_lib.experiments.evidence import bootstrap_statistic, paired_bootstrap

    rng = np.random.default_rng(4)
    a = rng.normal(1.0, 1.0, (3, 50))
    b = rng.normal(0.0, 1.0, (2, 50))
    generic = bootstrap_statistic(list(a), list(b), np.mean, resamples=300)
    assert generic == paired_bootstrap(a, b, resamples=300)
    with pytest.raises(ValueError, match="the same units"):
        bootstrap_statistic([a[0]], [b[0][:10]], np.mean)
    # without B: the interval of A's statistic itself, as against a B that is always 0
    alone = bootstrap_statistic(list(a), None, np.mean, resamples=300)
    assert alone == bootstrap_statistic(list(a), [np.zeros(50)], np.mean, resamples=300)
    assert alone.low < a.mean() < alone.high
    assert alone == paired_bootstrap(a, np.zeros((1, 50)), resamples=300)


def test_an_auroc_difference_gets_an_interval_over_resampled_pairs():
    from sklearn.metrics import roc_auc_score

    from amr_lib.experiments.evidence import bootstrap_statistic

    rng = np.random.default_rng(5)
    present = np.repeat([1.0, 0.0], 100)

    def units(separation: float) -> np.ndarray:
        return np.stack([present, present * separation + rng.normal(0, 1, 200)], axis=1)

    def auroc(rows: np.ndarray) -> float:
        return roc_auc_score(rows[:, 0], rows[:, 1])

    good, poor = [units(3.0) for _ in range(2)], [units(0.2) for _ in range(2)]
    difference = bootstrap_statistic(good, poor, auroc, resamples=200)
    assert difference.verdict() == "agrees" and difference.low > 0.2
    same = bootstrap_statistic(good, [units(3.0) for _ in range(2)], auroc, resamples=200)
    assert same.verdict() == "unresolved"
