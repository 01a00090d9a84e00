import json
import multiprocessing
import time

import numpy as np
import pytest

from amr_lib.storage.cache import ArtifactCache, content_key


def test_same_material_builds_once_and_other_material_again(tmp_path):
    cache, calls = ArtifactCache(tmp_path), []

    def build():
        calls.append(1)
        return {"spans": [[0, 1.5]]}

    first = cache.get_or_build_json("kind", {"corpus": "a", "seed": 1}, build)
    second = cache.get_or_build_json("kind", {"seed": 1, "corpus": "a"}, build)  # key order
    assert first == second == {"spans": [[0, 1.5]]} and len(calls) == 1
    cache.get_or_build_json("kind", {"corpus": "a", "seed": 2}, build)
    assert len(calls) == 2


def test_built_and_reloaded_values_are_identical(tmp_path):
    cache = ArtifactCache(tmp_path)
    built = cache.get_or_build_json("kind", 1, lambda: [("a", 1.0)])
    again = cache.get_or_build_json("kind", 1, lambda: pytest.fail("rebuilt"))
    assert built == again == [["a", 1.0]]


def test_corrupted_entry_is_rebuilt_with_a_warning(tmp_path):
    cache = ArtifactCache(tmp_path)
    cache.get_or_build_json("kind", "m", lambda: [1])
    path = cache.path("kind", "m", ".json")
    path.write_text('{"value": [1')  # truncated
    with pytest.warns(UserWarning, match="unreadable.*rebuilding"):
        assert cache.get_or_build_json("kind", "m", lambda: [2]) == [2]
    assert json.loads(path.read_text())["value"] == [2]


def test_failed_build_leaves_no_entry(tmp_path):
    cache = ArtifactCache(tmp_path)

    def broken():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.get_or_build_json("kind", "m", broken)
    assert not cache.path("kind", "m", ".json").exists()
    assert [p.name for p in (tmp_path / "kind").iterdir() if not p.name.endswith(".lock")] == []


def test_content_key_is_canonical():
    assert content_key({"a": 1, "b": [1, 2]}) == content_key({"b": [1, 2], "a": 1})
    assert content_key({"a": 1}) != content_key({"a": 1.5})


def _slow_build(root: str, log: str) -> None:
    def build():
        with open(log, "a") as out:
            out.write("built\n")
        time.sleep(0.5)
        return [42]

    assert ArtifactCache(root).get_or_build_json("kind", "shared", build) == [42]


def test_two_processes_filling_one_entry_build_it_once(tmp_path):
    log = tmp_path / "log.txt"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_slow_build, args=(str(tmp_path / "c"), str(log)))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert log.read_text().count("built") == 1


def test_named_arrays_round_trip_and_are_built_once(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2])}

    cache = ArtifactCache(tmp_path)
    first = cache.get_or_build_arrays("arrays", {"k": 1}, build)
    again = cache.get_or_build_arrays("arrays", {"k": 1}, build)
    assert len(calls) == 1 and set(again) == {"a", "b"}
    np.testing.assert_array_equal(again["a"], first["a"])
    assert again["a"].dtype == np.float32
    assert cache.path("arrays", {"k": 1}, ".npz").is_file()
