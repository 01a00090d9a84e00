"""The book's shared bookkeeping: committed results with provenance, provenance lines,
the data switch and spread cells."""

from __future__ import annotations

import json

import pytest

from amr_lib.book.pages import (
    committed,
    data_dir,
    distinct,
    made_by,
    real_data,
    spread_cell,
    spread_cells,
)

MADE = {"command": "amr experiment table1 --profile quick --seeds 3 --out /tmp/x/table1",
        "commit": "0123456789abcdef", "seconds": 1800, "machine": "x86_64, 2 cores",
        "date": "2026-12-01"}


def test_data_dir_is_found_from_the_book_folder_and_from_the_checkout(tmp_path):
    (tmp_path / "book" / "data").mkdir(parents=True)
    assert data_dir(tmp_path) == tmp_path / "book" / "data"
    assert data_dir(tmp_path / "book") == tmp_path / "book" / "data"
    (tmp_path / "elsewhere").mkdir()
    assert data_dir(tmp_path / "elsewhere") == tmp_path / "book" / "data"   # from below


def test_committed_reads_the_result_with_its_provenance(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps([{"a": 1}]))
    (tmp_path / "t.provenance.json").write_text(json.dumps(MADE))
    found = committed("t.json", tmp_path)
    assert found.value == [{"a": 1}] and found.provenance == MADE
    assert committed("missing.json", tmp_path) is None
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "s.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="no provenance"):
        committed("study/s.json", tmp_path)
    (tmp_path / "study" / "provenance.json").write_text(json.dumps(MADE))
    assert committed("study/s.json", tmp_path).provenance["seconds"] == 1800


def test_a_result_made_under_another_profile_definition_says_so(tmp_path):
    from amr_lib.experiments.results import profile_definitions

    now = profile_definitions()
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "s.json").write_text("{}")
    (tmp_path / "study" / "provenance.json").write_text(json.dumps({**MADE, "profiles": now}))
    assert committed("study/s.json", tmp_path).defined_as_now("real-sounds") == (True, "")
    older = {**now, "real-sounds": "0123456789abcdef"}
    (tmp_path / "study" / "provenance.json").write_text(json.dumps({**MADE,
                                                                    "profiles": older}))
    current, why = committed("study/s.json", tmp_path).defined_as_now("real-sounds")
    assert not current
    said = " ".join(why.split())
    assert "study/s.json was made under definition 0123456789abcdef" in said
    assert now["real-sounds"] in said and str(tmp_path) not in said
    assert max(len(line) for line in why.splitlines()) <= 72
    # a result from before definitions were recorded
    (tmp_path / "study" / "provenance.json").write_text(json.dumps(MADE))
    why = committed("study/s.json", tmp_path).defined_as_now("quick")[1]
    assert "an older definition" in " ".join(why.split())


def test_made_by_names_command_commit_machine_and_time_without_paths():
    line = made_by(MADE)
    assert "/tmp" not in line and "--out DIR" in line
    assert "commit 0123456789, 2026-12-01, 30 min,\n x86_64, 2 cores" in line
    assert all(len(row) <= 72 for row in line.splitlines())
    numerics = {"cpu": "AMD EPYC", "torch_cpu_capability": "AVX512", "torch": "2.13.0+cpu",
                "numpy": "2.4.6"}
    assert made_by({**MADE, "numerics": numerics}).endswith(
        "2 cores,\n AMD EPYC, AVX512 kernels)")
    fingerprinted = {**numerics, "fingerprint": "03cb7ff9814fbdac"}
    assert made_by({**MADE, "numerics": fingerprinted}).endswith(
        "AVX512 kernels, numerics 03cb7ff9814fbdac)")
    # a grid read back (or made before grids kept one numerics) names its points'
    assert made_by({**MADE, "numerics": fingerprinted,
                    "point_numerics": ["03cb7ff9814fbdac"]}).endswith("numerics 03cb7ff9814fbdac)")
    spans = made_by({**MADE, "numerics": fingerprinted,
                     "point_numerics": ["03cb7ff9814fbdac", "7a6ae94139584676"]})
    assert spans.endswith("its points made under numerics 03cb7ff9814fbdac, "
                          "7a6ae94139584676)")
    assert all(len(row) <= 72 for row in spans.splitlines())
    long = {**MADE, "command": MADE["command"] + " --studies window,data --windows 1,4,7"
            + " --data-scales 0.125,0.25,0.5,1,2"}
    command = made_by(long, width=40).split("\n(")[0]
    assert all(len(row) <= 40 + 2 for row in command.split("\n"))
    assert command.replace(" \\\n   ", " ") == long["command"].replace("/tmp/x/table1", "DIR")


def test_spread_is_shown_only_for_several_seeds():
    one = {"mAP": 28.9, "mAP_std": 0.0, "n_seeds": 1}
    three = {"mAP": 28.95, "mAP_std": 3.44, "n_seeds": 3}
    assert spread_cell(one, "mAP") == "28.90"
    assert spread_cell(three, "mAP") == "28.95 ± 3.44"
    assert spread_cell({**three, "mAP": 28.96}, "mAP", decimals=1) == "29.0 ± 3.4"
    cells = spread_cells([{**three, "method": "am-detr"}], ["method"], ["mAP"])
    assert cells == {("am-detr",): {"mAP": "28.95 ± 3.44"}}


def test_distinct_takes_the_decimals_that_tell_values_apart():
    assert distinct([0.99934, 0.99847, 0.99983]) == ["0.999", "0.998", "1.000"]
    assert distinct([0.5, 0.25]) == ["0.50", "0.25"]
    assert distinct([0.7, 0.7]) == ["0.70", "0.70"]      # equal values stay at two
    assert distinct([1.0, 1.0 - 1e-9]) == ["1.000000", "1.000000"]  # at most six


def test_real_data_says_why_it_is_missing(monkeypatch, tmp_path):
    monkeypatch.delenv("AMR_DATA_ROOT", raising=False)
    live, why = real_data()
    assert not live and "AMR_DATA_ROOT" in why
    monkeypatch.setenv("AMR_DATA_ROOT", str(tmp_path))
    assert real_data() == (True, "")


def test_amr_runs_a_command_line_as_a_shell_would(tmp_path, capsys):
    from amr_lib.book.pages import amr

    gt, pred = tmp_path / "gt.jsonl", tmp_path / "pred.jsonl"
    gt.write_text(json.dumps({"qid": 1, "query": "a dog barks", "duration": 60, "vid": "v",
                              "relevant_windows": [[10, 20]]}) + "\n")
    pred.write_text(json.dumps({"qid": 1, "query": "a dog barks", "vid": "v",
                                "pred_relevant_windows": [[10, 20, 0.9]]}) + "\n")
    amr(f"evaluate '{gt}' '{pred}' --json")
    out = capsys.readouterr().out
    assert out.startswith("$ amr evaluate") and str(gt) in out
    assert json.loads(out.splitlines()[-1])["mAP"] == 100.0
    captured = amr(f"evaluate '{gt}' '{pred}' --json", capture=True)
    assert json.loads(captured)["mAP"] == 100.0
    assert "mAP" not in capsys.readouterr().out                 # returned, not shown
    with pytest.raises(RuntimeError, match="exit status 2"):
        amr(f"evaluate '{tmp_path / 'missing.jsonl'}' '{pred}'")


def test_live_checks_table_requires_each_check_and_says_what_it_showed():
    from amr_lib.book.pages import live_checks, live_summary
    from amr_lib.experiments.results import LiveCheck

    # a live 50.004 rounds to the committed 50.00: it repeats; 50.03 cannot be that rounding
    repeats = LiveCheck("a", {"mAP": 50.004}, {"mAP": 50.0}, "f1", "f1")
    assert not LiveCheck("g", {"mAP": 50.03}, {"mAP": 50.0}, "f1", "f1").passed
    elsewhere = LiveCheck("b", {"mAP": 40.0}, {"mAP": 45.0}, None, "f1")
    table = live_checks([repeats, elsewhere])
    assert table.loc["a", "result"] == "repeats" and table.loc["b", "result"] == (
        "cannot compare")
    assert table.loc["b", "committed numerics"] == "not recorded"
    assert table.loc["a", "profile definition"] == "not checked"
    changed = LiveCheck("d", {"mAP": 40.0}, {"mAP": 45.0}, "f1", "f1", "p1", "p2")
    same = LiveCheck("e", {"mAP": 40.0}, {"mAP": 40.0}, "f1", "f1", "p1", "p1")
    legacy = LiveCheck("f", {"mAP": 40.0}, {"mAP": 45.0}, "f1", "f1", None, "p1")
    states = live_checks([changed, same, legacy])["profile definition"].tolist()
    assert states == ["changed", "same", "not recorded"]
    assert not changed.comparable and same.passed and not legacy.comparable
    assert table.loc["b", "largest gap"] == "5.00"
    assert live_summary([repeats]).startswith("The live run repeats its committed seed")
    assert live_summary([repeats, repeats]).startswith("All 2 live runs repeat")
    said = live_summary([repeats, elsewhere])
    assert "before numerics fingerprints were recorded" in " ".join(said.split())
    assert all(len(line) <= 72 for line in said.splitlines())     # fits the code box
    with pytest.raises(AssertionError, match="does not repeat"):
        live_checks([LiveCheck("c", {"mAP": 40.0}, {"mAP": 40.1}, "f1", "f1")])


def test_claims_table_and_verdict_counts_of_scoreboard_rows():
    from amr_lib.book.pages import claims_table, verdict_counts

    board = [
        {"claim": "A beats B", "source": "t.json", "paper_section": "V-C",
         "paper_value": "+9", "profile": "quick", "metric": "mAP", "ours": 2.5,
         "ci_low": 0.5, "ci_high": 4.25, "verdict": "agrees", "reason": ""},
        {"claim": "C", "source": None, "paper_section": "V-B", "paper_value": "77 %",
         "profile": None, "metric": None, "ours": None, "ci_low": None, "ci_high": None,
         "verdict": "not tested here", "reason": "no TUT"},
    ]
    table = claims_table(board, ("t.json",))
    assert list(table.index) == ["A beats B (quick, mAP)"]
    assert table.iloc[0]["ours: difference [95 % CI]"] == "+2.50 [+0.50, +4.25]"
    assert claims_table(board, (None,)).iloc[0]["why"] == "no TUT"
    assert verdict_counts(board, ("t.json", None)) == "1 agree, 1 not tested here"
    assert verdict_counts(board, ("other.json",)) == "none"
