import json

import numpy as np
import pytest

from amr_lib.lighthouse_jsonl import (
    LighthouseFormatError,
    MomentAnnotation,
    MomentPrediction,
    UnrankedPredictionsWarning,
    read_annotations,
    read_predictions,
    write_annotations,
    write_predictions,
)

GOOD_GT = {"qid": 7, "query": "a dog barks", "duration": 60, "vid": "seg_0.0_60.0",
           "relevant_windows": [[12.0, 17.0]]}
GOOD_PRED = {"qid": 7, "query": "a dog barks", "vid": "seg_0.0_60.0",
             "pred_relevant_windows": [[12.0, 17.0, 0.9], [0.0, 5.0, 0.1]]}


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_round_trip_keeps_values_and_qid_types(tmp_path):
    annotations = [MomentAnnotation(7, "a dog barks", 60, "v", [[12.0, 17.0]]),
                   MomentAnnotation("37612", "water", 60.0, "w", [[2.5, 27.5], [30, 31]])]
    predictions = [MomentPrediction(7, "a dog barks", "v", [[12, 17, 0.9]]),
                   MomentPrediction("37612", "water", "w", [])]
    write_annotations(tmp_path / "gt.jsonl", annotations)
    write_predictions(tmp_path / "pred.jsonl", predictions)
    gt_back = read_annotations(tmp_path / "gt.jsonl")
    pred_back = read_predictions(tmp_path / "pred.jsonl")
    assert [a.qid for a in gt_back] == [7, "37612"]
    for a, b in zip(annotations, gt_back, strict=True):
        assert (a.query, a.duration, a.vid) == (b.query, b.duration, b.vid)
        np.testing.assert_array_equal(a.relevant_windows, b.relevant_windows)
    assert pred_back[1].pred_relevant_windows.shape == (0, 3)
    np.testing.assert_array_equal(pred_back[0].pred_relevant_windows, [[12, 17, 0.9]])
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(tmp_path.glob(".*tmp"))


def test_extra_keys_and_blank_lines_are_ignored(tmp_path):
    record = dict(GOOD_GT, fg_dB=-2.1)
    path = write_lines(tmp_path / "gt.jsonl", [json.dumps(record), "", "   "])
    [annotation] = read_annotations(path)
    assert annotation.qid == 7 and annotation.relevant_windows.tolist() == [[12.0, 17.0]]


def test_released_files_load(released_annotations):
    counts = {"clotho_moment_test_release.jsonl": 6649, "clotho_moment_val_release.jsonl": 4918,
              "tut2017_test_release.jsonl": 104, "unav100-subset_test_release.jsonl": 100,
              "castella_val_release.jsonl": 352}
    for name, count in counts.items():
        annotations = read_annotations(released_annotations / name)
        assert len(annotations) == count
    tut = read_annotations(released_annotations / "tut2017_test_release.jsonl")
    assert isinstance(tut[0].qid, int) and max(len(a.relevant_windows) for a in tut) > 1


@pytest.mark.parametrize(("line", "message"), [
    ('{"qid": 1, "query": "x"', "not valid JSON"),
    ('[1, 2]', "expected a JSON object, got list"),
    ('{"qid": 1, "query": "x", "vid": "v", "relevant_windows": [[0, 1]]}',
     "missing key(s) 'duration'"),
    ('{"qid": 1, "query": "x", "duration": 60, "vid": "v", "relevant_windows": [[5, 2]]}',
     "'relevant_windows'[0] ends before it starts"),
    ('{"qid": 1, "query": "x", "duration": 60, "vid": "v", "relevant_windows": [[-1, 2]]}',
     "'relevant_windows'[0] starts at a negative time"),
    ('{"qid": 1, "query": "x", "duration": 60, "vid": "v", "relevant_windows": []}',
     "'relevant_windows' is empty"),
    ('{"qid": 1, "query": "x", "duration": 60, "vid": "v", "relevant_windows": [[0, "9"]]}',
     "'relevant_windows'[0] must be [start, end] numbers"),
    ('{"qid": 1, "query": "x", "duration": 60, "vid": "v", "relevant_windows": [[0, NaN]]}',
     "'relevant_windows'[0] has a NaN"),
    ('{"qid": 1.5, "query": "x", "duration": 60, "vid": "v", "relevant_windows": [[0, 1]]}',
     "'qid' must be an int or a string"),
    ('{"qid": 1, "query": "x", "duration": 0, "vid": "v", "relevant_windows": [[0, 1]]}',
     "'duration' must be a positive number"),
    ('{"qid": 7, "query": "x", "duration": 60, "vid": "v", "relevant_windows": [[0, 1]]}',
     "qid 7 already appeared on line 1"),
])
def test_bad_annotation_lines_name_file_and_line(tmp_path, line, message):
    path = write_lines(tmp_path / "gt.jsonl", [json.dumps(GOOD_GT), line])
    with pytest.raises(LighthouseFormatError) as error:
        read_annotations(path)
    assert str(error.value).startswith(f"{path}:2: {message}")


@pytest.mark.parametrize(("windows", "message"), [
    ([[0, 1, float("nan")]], "has a NaN"),
    ([[0, 1]], "must be [start, end, score] numbers"),
    ([[3, 1, 0.5]], "ends before it starts"),
    ([[0, 1, True]], "must be [start, end, score] numbers"),
    ("0 1 0.5", "must be a list"),
])
def test_bad_prediction_windows(tmp_path, windows, message):
    record = json.dumps(dict(GOOD_PRED, pred_relevant_windows=windows))
    path = write_lines(tmp_path / "pred.jsonl", [record])
    with pytest.raises(LighthouseFormatError, match=r"pred\.jsonl:1: ") as error:
        read_predictions(path)
    assert message in str(error.value)


def test_empty_and_missing_files(tmp_path):
    empty = write_lines(tmp_path / "empty.jsonl", [])
    with pytest.raises(LighthouseFormatError, match=r"empty\.jsonl: empty file"):
        read_annotations(empty)
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl: no such file"):
        read_predictions(tmp_path / "nope.jsonl")


def test_unranked_predictions_warn(tmp_path):
    record = dict(GOOD_PRED, pred_relevant_windows=[[0.0, 5.0, 0.1], [12.0, 17.0, 0.9]])
    path = write_lines(tmp_path / "pred.jsonl", [json.dumps(record)])
    with pytest.warns(UnrankedPredictionsWarning, match="not sorted by descending score"):
        read_predictions(path)


def test_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "pred.jsonl"
    write_predictions(target, [MomentPrediction(1, "q", "v", [[0, 1, 0.5]])])
    before = target.read_text()

    def broken():
        yield MomentPrediction(2, "q", "v", [[0, 1, 0.5]])
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_predictions(target, broken())
    assert target.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.jsonl"]
