"""Benchmark statistics: hand-checked numbers, and the released files as they are."""

from __future__ import annotations

import json

import numpy as np
import pytest

from amr_lib.cli import main
from amr_lib.lighthouse_jsonl import MomentAnnotation, read_annotations
from amr_lib.simulation.benchmark_stats import describe, moment_arrays
from amr_lib.spans import merge_overlapping


def test_merge_overlapping_joins_touching_and_nested_spans():
    spans = np.array([[10.0, 12.0], [0.0, 2.0], [1.0, 3.0], [3.0, 4.0], [10.5, 11.0]])
    np.testing.assert_array_equal(merge_overlapping(spans), [[0.0, 4.0], [10.0, 12.0]])
    assert merge_overlapping(np.zeros((0, 2))).shape == (0, 2)


def test_describe_by_hand():
    annotations = [
        # overlapping windows count once: 0-6 and 8-10 cover 8 of 20 s; one gap of 2 s
        MomentAnnotation("a", "a dog barks", 20.0, "r1", [[0, 4], [2, 6], [8, 10]]),
        # a window past the end (41 > 40) is cut to 30-40: 10 of 40 s
        MomentAnnotation("b", "A dog barks ", 40.0, "r2", [[30, 41]]),
        MomentAnnotation("c", "rain", 40.0, "r2", [[0, 20]]),
    ]
    stats = describe(annotations)
    assert stats["queries"] == 3 and stats["recordings"] == 2
    assert stats["distinct_queries"] == 2            # case and spaces do not count
    assert stats["queries_per_recording"] == 1.5
    assert stats["max_queries_per_recording"] == 2
    assert stats["duration_s"]["mean"] == 30.0
    assert stats["moments_per_query"] == pytest.approx(4 / 3)
    assert stats["multi_moment_share"] == pytest.approx(1 / 3)
    assert stats["max_moments_per_query"] == 2
    assert sorted([stats["moment_s"]["min"], stats["moment_s"]["max"]]) == [2.0, 20.0]
    assert stats["moment_s"]["mean"] == pytest.approx((6 + 2 + 10 + 20) / 4)
    assert stats["gap_s"]["mean"] == 2.0
    assert stats["coverage"]["mean"] == pytest.approx((8 / 20 + 10 / 40 + 20 / 40) / 3)
    assert stats["windows_past_end"] == 1
    arrays = moment_arrays(annotations)
    np.testing.assert_array_equal(arrays["counts"], [2, 1, 1])
    np.testing.assert_array_equal(arrays["lengths"], [6, 2, 10, 20])
    np.testing.assert_array_equal(arrays["gaps"], [2])


def test_describe_refuses_nothing():
    with pytest.raises(ValueError, match="no annotations"):
        describe([])


def test_released_benchmarks(released_annotations):
    def stats(name):
        return describe(read_annotations(released_annotations / name))

    castella = stats("castella_val_release.jsonl")
    assert (castella["queries"], castella["recordings"]) == (352, 178)
    assert castella["max_moments_per_query"] == 25      # "A woman is sneezing"
    assert castella["windows_past_end"] == 12
    assert 0.5 < castella["multi_moment_share"] < 0.55
    for name in ("clotho_moment_val_release.jsonl", "clotho_moment_test_release.jsonl"):
        clotho = stats(name)
        assert clotho["max_moments_per_query"] == 1 and clotho["gap_s"] is None
        assert clotho["duration_s"]["min"] == clotho["duration_s"]["max"] == 60.0
    tut = stats("tut2017_test_release.jsonl")
    assert (tut["queries"], tut["recordings"], tut["distinct_queries"]) == (104, 32, 6)
    unav = stats("unav100-subset_test_release.jsonl")
    assert (unav["queries"], unav["windows_past_end"]) == (100, 1)


def test_describe_command(released_annotations, capsys):
    paths = [str(released_annotations / name) for name in
             ("tut2017_test_release.jsonl", "unav100-subset_test_release.jsonl")]
    assert main(["describe", *paths]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["file", "queries", "recs"]
    assert table[1].split()[:3] == ["tut2017_test_release.jsonl", "104", "32"]
    assert main(["describe", "--json", *paths]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["queries"] for row in rows] == [104, 100]
