"""The committed released-statistics JSON (used by Chapter 2) matches the released files."""

import importlib.util
import json


def test_committed_statistics_match_the_released_annotations(repo_root, released_annotations):
    spec = importlib.util.spec_from_file_location(
        "released_statistics", repo_root / "scripts" / "released_statistics.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    committed = json.loads(script.OUTPUT.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(script.released_statistics(released_annotations)))
    assert committed["test"]["num_segments"] == 7569
    assert sum(committed["test"]["length_counts"]) == committed["test"]["num_events"] == 6649
