"""Chapter 9's comparison helpers on hand-made grid rows."""

from __future__ import annotations

import numpy as np
import pytest

from amr_lib.book import beyond as book


def point(seed, r1, lands, present_p, absent_p, counts):
    queries = len(r1)
    return {"seed": seed, "several_events": [1] * (queries // 2) + [0] * (queries - queries // 2),
            "queries": {"R1@0.5": r1, "R1@0.7": r1, "mAP": r1, "lands_on_queried": lands},
            "presence": {case: {"pairs": np.stack([present_p, absent_p], 1).tolist()}
                         for case in ("any", "hard")},
            "sed": {"recordings": counts,
                    "curve": {"threshold": [0.1, 0.5, 0.9], "f1": [0.2, 0.4, 0.3]}}}


rng = np.random.default_rng(0)
Q = 40
PAPER = {"recipe": "paper", "absent_share": None, "per_seed": [
    point(s, list(rng.choice([0.0, 100.0], Q)), [100.0] * 10 + [0.0] * 10 + [0.0] * 20,
          rng.uniform(0.4, 0.9, Q), rng.uniform(0.3, 0.8, Q), [[5, 5, 5]] * 10)
    for s in range(2)]}
AWARE = {"recipe": "aware", "absent_share": 0.25, "per_seed": [
    point(s, PAPER["per_seed"][s]["queries"]["R1@0.5"], [100.0] * 19 + [0.0] + [0.0] * 20,
          rng.uniform(0.8, 1.0, Q), rng.uniform(0.0, 0.2, Q), [[9, 1, 1]] * 10)
    for s in range(2)]}


def test_values_by_hand():
    assert book.value(AWARE, "auroc") == 1.0                 # every present above absent
    assert book.value(AWARE, "lands") == 95.0                # 19 of 20 several-event
    assert book.value(AWARE, "sed_f1") == pytest.approx(100 * 18 / 20)
    assert book.value(PAPER, "sed_f1") == pytest.approx(50.0)
    assert book.row_name(AWARE) == "aware (absent 0.25)" and book.row_name(PAPER) == "paper"


def test_differences_and_targets():
    same = book.difference(AWARE, PAPER, "R1@0.5")
    assert same.mean == 0.0 and same.verdict() == "unresolved"   # the same per-query hits
    assert book.difference(AWARE, PAPER, "auroc").verdict() == "agrees"
    assert book.difference(AWARE, PAPER, "sed_f1").mean == pytest.approx(40.0)
    table = book.comparison_table([PAPER, AWARE])
    assert table.loc["paper", "presence AUROC"].count("[") == 0
    assert "[" in table.loc["aware (absent 0.25)", "presence AUROC"]
    assert table["seeds"].tolist() == [2, 2]
    targets = book.targets_table([PAPER, AWARE])
    assert targets.loc["aware (absent 0.25)", "met"].tolist() == ["met"] * 5
    # a grid of two seeds per recipe holding both: judged; holding one of either: pending
    assert book.targets_table([PAPER, AWARE], seeds=2)["met"].tolist() == ["met"] * 5
    one_seed = {**AWARE, "per_seed": AWARE["per_seed"][:1]}
    assert book.targets_table([PAPER, one_seed], seeds=2)["met"].tolist() == [
        "pending (seeds: aware 1, paper 2 of 2)"] * 5
    short_paper = {**PAPER, "per_seed": PAPER["per_seed"][:1]}
    assert book.targets_table([short_paper, AWARE], seeds=2)["met"].tolist() == [
        "pending (seeds: aware 2, paper 1 of 2)"] * 5
    # 19 of 20 several-event queries land: 10 points above the 85 % bar; AUROC 1 is 0.1
    # above 0.9 in every resample
    lands = book.target_gap(AWARE, "lands")
    assert lands.mean == pytest.approx(10.0) and lands.low < 10.0 < lands.high
    assert book.target_gap(AWARE, "auroc") == book.Difference(0.1, 0.1, 0.1)
    below = targets_of(PAPER)
    assert below["presence AUROC >= 0.9"] == "not met"
    assert below["lands on the queried event >= 85 %"] == "not met"
    with pytest.raises(ValueError, match="no absolute target"):
        book.target_gap(AWARE, "mAP")
    with pytest.raises(ValueError, match="unknown measure"):
        book.value(AWARE, "speed")


def test_the_share_sweep_names_the_worst_share_and_its_drop():
    """Hand-made shares: aware at 0.1 hits half the queries the paper hits (a collapse),
    at 0.5 the same ones (no drop): the worst is 0.1, 25 points below."""
    hits = [100.0] * 20 + [0.0] * 20
    half = [100.0] * 10 + [0.0] * 30

    def row(recipe, share, r1):
        return {"recipe": recipe, "absent_share": share, "per_seed": [
            point(0, r1, [0.0] * Q, [0.5] * Q, [0.5] * Q, [[1, 1, 1]])]}

    study = [row("paper", None, hits), row("aware", 0.1, half), row("aware", 0.5, hits)]
    sweep = book.share_sweep(study, "R1@0.5")
    assert (sweep.lowest, sweep.at, sweep.paper) == (25.0, [0.1], 50.0)
    assert sweep.drop.mean == pytest.approx(-25.0) and sweep.lost_at == [0.1]
    assert sweep.collapsed_at == [0.1]
    assert book.shares_said([sweep]) == ("the difference's interval lies wholly below "
                                         "zero for R1@0.5 at 10 %, a collapse")
    even = book.share_sweep([study[0], study[2], row("aware", 0.25, hits)], "R1@0.5")
    assert even.at == [0.5, 0.25] and not even.lost_at   # a tie names every share
    assert book.shares_said([even]) == "no share costs present queries beyond the interval"
    # a share above the paper beyond its interval is said too
    more = [100.0] * 40
    up = book.share_sweep([study[0], row("aware", 0.1, more), row("aware", 0.5, hits)],
                          "R1@0.5")
    assert up.at == [0.5] and up.gained_at == (0.1,)
    assert book.shares_said([up]) == ("no share costs present queries beyond the interval"
                                      ", and the difference's interval lies wholly above "
                                      "zero for R1@0.5 at 10 %")
    # a loss at a share that is not the lowest is said too: 0.5 misses 4 of the paper's
    # 20 hits and nothing else (40 %: its interval lies below zero; 10 points, a
    # collapse), 0.1 trades 10 hits for 5 others (37.5 %, the lowest, but its interval
    # holds zero)
    four_fewer = [100.0] * 16 + [0.0] * 24
    traded = [100.0] * 10 + [0.0] * 10 + [100.0] * 5 + [0.0] * 15
    lost = book.share_sweep([study[0], row("aware", 0.1, traded),
                             row("aware", 0.5, four_fewer)], "R1@0.5")
    assert lost.at == [0.1] and lost.drop.verdict() == "unresolved"
    assert lost.lost_at == [0.5] and lost.collapsed_at == [0.5]
    assert book.shares_said([lost]) == ("the difference's interval lies wholly below zero "
                                        "for R1@0.5 at 50 %, a collapse")
    # a collapse is judged on the losses: a small loss beside a lowest mean far down
    # whose interval holds zero is no collapse
    small = book.ShareSweep("R1@0.5", 35.0, 50.0, {0.1: book.Difference(-15.0, -40.0, 5.0)},
                            losses={0.5: book.Difference(-3.0, -5.0, -1.0)})
    assert book.shares_said([small]) == ("the difference's interval lies wholly below "
                                         "zero for R1@0.5 at 50 %, a loss, though not a "
                                         "collapse")
    assert book.shares_said([small, up]) == (
        "the difference's interval lies wholly below zero for R1@0.5 at 50 %, a loss, "
        "though not a collapse, and wholly above zero for R1@0.5 at 10 %")
    # with several losses, only those that collapse are called a collapse
    assert book.shares_said([small, sweep]) == (
        "the difference's interval lies wholly below zero for R1@0.5 at 50 % and R1@0.5 "
        "at 10 %, a collapse for R1@0.5 at 10 % only")
    with pytest.raises(ValueError, match="aware rows"):
        book.share_sweep(study[:1], "mAP")
    with pytest.raises(ValueError, match="a paper row"):
        book.share_sweep(study[1:], "mAP")
    # a tie: the same mean, each share judged by its own interval
    tie = book.ShareSweep("R1@0.5", 25.0, 50.0, {
        0.1: book.Difference(-25.0, -30.0, -20.0), 0.5: book.Difference(-25.0, -51.0, 1.0)},
        losses={0.1: book.Difference(-25.0, -30.0, -20.0)})
    assert tie.at == [0.1, 0.5] and tie.lost_at == [0.1] and tie.drop.high == -20.0
    assert book.shares_said([tie]) == ("the difference's interval lies wholly below zero "
                                       "for R1@0.5 at 10 %, a collapse")


def test_the_numerics_of_a_grid_are_said_from_its_provenance():
    assert book.numerics_said({"point_numerics": ["a"]}).startswith("Its points all come")
    assert book.numerics_said({}).startswith("Its points all come")
    assert "several kinds of machine" in book.numerics_said({"point_numerics": ["a", "b"]})


def targets_of(row):
    table = book.targets_table([PAPER, {**row, "recipe": "aware"}])
    return dict(zip(table.index.get_level_values("target"), table["met"], strict=True))


def test_the_features_reference_is_a_row_the_differences_read():
    features = {case: {"pairs": PAPER["per_seed"][0]["presence"][case]["pairs"]}
                for case in ("any", "hard")}
    reference = book.features_row(features)
    assert book.value(reference, "auroc") == book.value(
        {"per_seed": PAPER["per_seed"][:1]}, "auroc")
    table = book.features_table([PAPER, AWARE], features)
    assert table.index.tolist() == ["features: best window similarity", "paper",
                                    "aware (absent 0.25)"]
    assert table["seeds"].tolist() == ["-", 2, 2]
    # every present pair of aware above every absent one: the gain is 1 - the reference
    gain = book.difference(AWARE, reference, "auroc")
    assert gain.mean == pytest.approx(1 - book.value(reference, "auroc"), abs=1e-4)
    assert gain.verdict() == "agrees" and f"{gain.mean:+.3f}" in table.loc[
        "aware (absent 0.25)", "presence AUROC"]


def test_figures_have_labelled_axes():
    ax = book.plot_reliability([PAPER, AWARE])
    assert ax.get_xlabel().startswith("presence probability") and ax.get_legend()
    # aware's pairs: present in [0.8, 1], absent in [0, 0.2], so every bin holds one kind:
    # its gap is its pairs' mean distance from 1 (present) or 0 (absent), and the ECE is
    # the mean distance over all pairs
    pairs = np.concatenate([np.array(p["presence"]["any"]["pairs"])
                            for p in AWARE["per_seed"]])
    gap = np.concatenate([1 - pairs[:, 0], pairs[:, 1]]).mean()
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[2] == f"aware (absent 0.25) (ECE {gap:.3f})" and gap < 0.2
    ax = book.plot_sed_curves([PAPER, AWARE])
    assert ax.get_ylabel() == "frame F1 (test)"


def test_failure_cases_are_picked_by_rule():
    from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction

    top = np.array([0.9, 0.8, 0.3, 0.7, 0.95])
    present = np.array([True, True, True, False, False])
    assert book.most_confident_absent(top, present) == 4
    with pytest.raises(ValueError, match="no absent pair"):
        book.most_confident_absent(top, np.ones(5, bool))

    def ask(qid, vid, window):
        return MomentAnnotation(qid, f"sound {qid}", 30.0, vid, np.array([window], float))

    def answer(a, window, score):
        return MomentPrediction(a.qid, a.query, a.vid, np.array([[*window, score]], float))

    asked = [ask("a", "r1", (0, 5)), ask("b", "r1", (10, 15)), ask("c", "r2", (0, 5)),
             ask("d", "r2", (20, 25)), ask("e", "r3", (3, 8))]
    answers = [answer(asked[0], (10, 15), 0.6),     # lands on b's event
               answer(asked[1], (10, 15), 0.99),    # right
               answer(asked[2], (20, 25), 0.8),     # squarely on d's event, beats a's score
               answer(asked[3], (0, 4), 0.9),       # on c's event, but IoU 0.8 only
               answer(asked[4], (0, 30), 0.95)]     # one-event recording: never "other"
    assert book.clearest_wrong_event(asked, answers) == 2
    right = [answer(a, a.relevant_windows[0], 0.5) for a in asked]
    assert book.clearest_wrong_event(asked, right) is None
    noise = np.random.default_rng(0).normal(0, 0.01, 8000 * 30)
    ax = book.plot_answer(noise, 8000, asked[2:4], "sound c",
                          answers[2].pred_relevant_windows)
    assert ax.get_title(loc="left") == "asked: 'sound c'"
    assert {t.get_text() for t in ax.texts} >= {"sound c", "sound d", "1: 0.80"}


def test_a_live_point_is_checked_against_its_committed_seed():
    from amr_lib.numerics import fingerprint
    from amr_lib.profiles import load_profile, profile_key

    profile = load_profile("quick")
    provenance = {"numerics": {"fingerprint": fingerprint()},
                  "profiles": {"quick": profile_key(profile)}}
    from amr_lib.model.recipes import RECIPES

    # shaped as beyond.recipe_point writes it: the recipe's switches under "recipe"
    live = {**AWARE["per_seed"][1], "recipe": RECIPES["aware"].to_json(0.25),
            "absent_share": 0.25}
    values = book.point_values(live)
    assert values["auroc"] == 100.0 and values["lands"] == 95.0
    check = book.live_point_check([PAPER, AWARE], live, provenance, profile)
    assert check.comparable and check.passed
    moved = {**live, "queries": {**live["queries"], "mAP": [0.0] * Q}}
    with pytest.raises(AssertionError, match="does not repeat"):
        book.live_point_check([PAPER, AWARE], moved, provenance, profile).require()
    with pytest.raises(KeyError, match="no aware point of seed 7"):
        book.live_point_check([PAPER, AWARE], {**live, "seed": 7}, provenance, profile)
    # a point of a grid read back from another machine is judged by its own numerics
    foreign = {**AWARE, "per_seed": [{**p, "numerics": "another machine"}
                                     for p in AWARE["per_seed"]]}
    check = book.live_point_check([PAPER, foreign], live, provenance, profile)
    assert not check.comparable and check.committed_numerics == "another machine"
    book.live_point_check([PAPER, foreign], moved, provenance, profile).require()


def test_the_refusal_table_averages_the_stored_threshold_shares():
    rows = [{"recipe": "aware", "absent_share": 0.25, "per_seed": [
        {"presence": {"any": {"present_kept": kept, "absent_refused": refused},
                      "hard": {"present_kept": kept, "absent_refused": refused / 2}}}
        for kept, refused in ((0.9, 0.8), (0.8, 0.6))]}]
    table = book.refusal_table(rows)
    assert table.loc["aware (absent 0.25)"].tolist() == [85.0, 70.0, 35.0]


def test_a_running_grid_is_read_from_its_points(tmp_path):
    """Rows of the points written so far, of the asked seeds, the asked numerics and the
    profile's and the recipes' definitions as now, in the recipes' order."""
    import json

    from amr_lib.model.recipes import RECIPES
    from amr_lib.profiles import load_profile, profile_key

    profile = load_profile("quick")

    def write(name, share, seed, key=None, switches=None, numerics="machine A"):
        point = {"recipe": switches or RECIPES[name].to_json(share or 0.0),
                 "absent_share": share, "seed": seed, "numerics": numerics,
                 "profile": key or profile_key(profile)}
        share_part = "" if share is None else f"_s{share:g}"
        (tmp_path / f"{name}{share_part}_seed{seed}.json").write_text(json.dumps(point))

    for name, share, seed in [("aware", 0.25, 0), ("paper", None, 1), ("paper", None, 0),
                              ("paper", None, 4), ("aware", 0.1, 0), ("presence", 0.25, 2)]:
        write(name, share, seed)
    write("class-aware", 0.25, 0, key="an older definition")
    write("in-recording", None, 1, switches={"name": "in-recording", "loss": "older"})
    write("presence", 0.25, 0, numerics="machine B")     # to be remade under A's
    rows = book.rows_from_points(tmp_path, profile, range(3), "machine A")
    assert [(r["recipe"], r["absent_share"], r["n_seeds"]) for r in rows] == [
        ("paper", None, 2), ("presence", 0.25, 1), ("aware", 0.1, 1), ("aware", 0.25, 1)]
    assert [p["seed"] for p in rows[0]["per_seed"]] == [0, 1]      # seed 4 not asked
    assert [p["seed"] for p in rows[1]["per_seed"]] == [2]


def test_a_grid_is_shown_as_far_as_it_has_gone(tmp_path, monkeypatch):
    """While it runs, the grid's points and features' reference under ``grids/``; once
    committed under ``book/data``, that (and not the points); a grid with neither is an
    error that names the folder."""
    import json

    from amr_lib.experiments.beyond import point_key
    from amr_lib.model.recipes import RECIPES
    from amr_lib.profiles import load_profile, profile_key

    profile = load_profile("quick")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "book" / "data").mkdir(parents=True)
    grid = tmp_path / "grids" / "beyond_quick"
    (grid / "points").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="beyond_quick"):
        book.grid_so_far("beyond_quick", profile)

    # a features' reference of another definition of the profile is refused
    features = {"numerics": "machine A", "profile": "older", "any": {"auroc": 0.7},
                "hard": {"auroc": 0.6}}
    (grid / "features_presence.json").write_text(json.dumps(features))
    with pytest.raises(ValueError, match="another definition of the 'quick' profile"):
        book.grid_so_far("beyond_quick", profile)
    features["profile"] = profile_key(profile)
    (grid / "features_presence.json").write_text(json.dumps(features))

    def write(name, share, seed, numerics="machine A"):
        point = {**point_key(profile, RECIPES[name], share or 0.0), "numerics": numerics,
                 "absent_share": share, "seed": seed}
        share_part = "" if share is None else f"_s{share:g}"
        (grid / "points" / f"{name}{share_part}_seed{seed}.json").write_text(
            json.dumps(point))

    write("aware", 0.25, 0, numerics="machine B")       # the grid goes on under A's
    running = book.grid_so_far("beyond_quick", profile)
    assert running.rows == [] and not running.comparable
    assert running.state == "still running: none of its 15 points made under its numerics yet"
    write("paper", None, 0)
    running = book.grid_so_far("beyond_quick", profile)
    assert running.holds("paper") and not running.holds("aware") and not running.comparable
    for name, share, seed in [("paper", None, 0), ("paper", None, 1), ("aware", 0.25, 0),
                              ("aware", 0.5, 0)]:
        write(name, share, seed)
    running = book.grid_so_far("beyond_quick", profile)
    assert [(r["recipe"], r["n_seeds"]) for r in running.rows] == [("paper", 2), ("aware", 1)]
    assert running.features == features and running.made_by is None and running.comparable
    assert running.seeds == 3 and not running.whole("paper") and not running.judged
    assert running.state == ("still running: 3 of 15 points (paper: 2 of 3 seeds, "
                             "aware (absent 0.25): 1 of 3 seeds)")

    done = tmp_path / "book" / "data" / "beyond_quick"
    done.mkdir()
    # a complete grid whose aware row holds fewer seeds than the paper's
    (done / "beyond.json").write_text(json.dumps(
        [PAPER, {**AWARE, "per_seed": AWARE["per_seed"][:1]}]))
    (done / "provenance.json").write_text(json.dumps(
        {"command": "amr experiment beyond", "commit": "0" * 40, "date": "2026-12-07",
         "machine": "a test"}))
    with pytest.raises(FileNotFoundError, match=r"features_presence\.json"):
        book.grid_so_far("beyond_quick", profile)
    (done / "features_presence.json").write_text(json.dumps(features))
    complete = book.grid_so_far("beyond_quick", profile)
    assert [r["recipe"] for r in complete.rows] == ["paper", "aware"]
    # the rows say how many seeds they hold: its seeds are the most a row holds, so the
    # short aware row is not whole and no target is judged on it
    assert complete.state == "complete (1 to 2 seeds per recipe)" and complete.made_by
    assert complete.seeds == 2 and complete.whole("paper") and not complete.judged
    assert complete.provenance["machine"] == "a test" and running.provenance == {}


def test_the_verdicts_are_said_per_recipe_and_wait_for_every_seed():
    """AWARE has PAPER's hits (R1, mAP unresolved), every present pair above every absent
    one and a better SED; a row of fewer seeds than asked gets no verdict."""
    said = book.verdicts_said([PAPER, AWARE], seeds=2)
    assert said == ('The recipe "aware (absent 0.25)" is higher on landing on the queried '
                    "event, presence AUROC, AUROC against the nearest class and SED F1; "
                    "unresolved on R1@0.5 and mAP. No point yet of presence, class-aware "
                    "and in-recording.")
    one_seed = {**AWARE, "per_seed": AWARE["per_seed"][:1]}
    assert book.verdicts_said([PAPER, one_seed], seeds=2).startswith(
        'The recipe "aware (absent 0.25)" holds 1 of 2 seeds (the published model 2): '
        "no verdict yet.")
    worse = {**PAPER, "recipe": "presence", "absent_share": 0.25}
    assert book.verdicts_said([AWARE | {"recipe": "paper"}, worse]).startswith(
        'The recipe "presence (absent 0.25)" is lower on landing')
    assert book.whole(AWARE, 2) and not book.whole(one_seed, 2) and book.whole(one_seed, None)
    assert [book.listed(n) for n in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == [
        "", "a", "a and b", "a, b and c"]
