import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amr_lib.cli import main
from amr_lib.lighthouse_jsonl import (
    MomentAnnotation,
    MomentPrediction,
    write_annotations,
    write_predictions,
)

GT = {"q1": [[41.1, 48.1]], "q2": [[10, 30]], "q3": [[5.0, 10.6], [31.9, 39.1]]}
PRED = {"q1": [[41, 48, 0.9], [0, 10, 0.5]], "q2": [[15, 30, 0.8], [10, 30, 0.7]],
        "q3": [[32, 39, 0.9], [5, 11, 0.6], [0, 60, 0.1]]}


@pytest.fixture
def hand_case(tmp_path):
    gt, pred = tmp_path / "gt.jsonl", tmp_path / "pred.jsonl"
    write_annotations(gt, [MomentAnnotation(q, "q", 60, "v", w) for q, w in GT.items()])
    write_predictions(pred, [MomentPrediction(q, "q", "v", w) for q, w in PRED.items()])
    return gt, pred


def test_evaluate_json_reproduces_the_hand_checkable_case(hand_case, capsys):
    assert main(["evaluate", *map(str, hand_case), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = {"R1@0.5": 100.0, "R1@0.7": 100.0, "mAP@0.5": 100.0, "mAP@0.75": 100.0,
                "mAP@0.8": 83.33, "mAP@0.95": 66.67, "mAP": 91.67}
    assert {k: report[k] for k in expected} == expected
    assert {"mAP@0.55", "R1@0.95"} <= set(report)


def test_evaluate_table(hand_case, capsys):
    assert main(["evaluate", *map(str, hand_case)]) == 0
    header, r1, map_row = capsys.readouterr().out.splitlines()
    assert header.split()[1:] == ["0.50", "0.55", "0.60", "0.65", "0.70", "0.75", "0.80",
                                  "0.85", "0.90", "0.95", "avg"]
    assert r1.split()[0] == "R1" and r1.split()[-1] == "66.67"
    assert map_row.split()[0] == "mAP" and map_row.split()[-1] == "91.67"


def test_evaluate_reports_bad_input_without_a_traceback(hand_case, tmp_path, capsys):
    gt, _ = hand_case
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"qid": "q1", "query": "q", "vid": "v", "pred_relevant_windows": '
                   '[[1, 0, 0.5]]}\n')
    assert main(["evaluate", str(gt), str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1:" in err and "ends before it starts" in err and "Traceback" not in err
    partial = tmp_path / "partial.jsonl"
    write_predictions(partial, [MomentPrediction("q1", "q", "v", [[41, 48, 0.9]])])
    assert main(["evaluate", str(gt), str(partial)]) == 2
    assert "missing 2 annotated qid(s): ['q2', 'q3']" in capsys.readouterr().err


def test_unranked_predictions_warn_on_stderr(hand_case, tmp_path, capsys):
    gt, _ = hand_case
    pred = tmp_path / "unranked.jsonl"
    unranked = {**PRED, "q2": [[10, 30, 0.7], [15, 30, 0.8]]}
    write_predictions(pred, [MomentPrediction(q, "q", "v", w) for q, w in unranked.items()])
    assert main(["evaluate", str(gt), str(pred), "--json"]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "qid 'q2'" in captured.err
    assert json.loads(captured.out)["R1@0.95"] == 100.0  # file order's top-1 [10, 30] hits


def test_console_script_is_installed(hand_case):
    amr = shutil.which("amr", path=str(Path(sys.executable).parent))
    assert amr, "the `amr` console command is not installed in this environment"
    done = subprocess.run([amr, "evaluate", *map(str, hand_case), "--json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["mAP"] == 91.67
