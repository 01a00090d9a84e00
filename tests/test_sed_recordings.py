"""SED recordings (amr_lib.sed.recordings): several events of several classes, per-class queries."""

from __future__ import annotations

import numpy as np
import pytest

from amr_lib.corpora import CorpusSpec
from amr_lib.corpora.base import CorpusError
from amr_lib.corpora.esc50 import CAPTION_PHRASINGS
from amr_lib.sed.recordings import SedSetConfig, simulate_sed_split
from amr_lib.sed.scoring import covered_frames
from amr_lib.simulation.algorithm import SimulationConfig

SYNTHETIC = CorpusSpec("synthetic")


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AMR_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield simulate_sed_split(SYNTHETIC, SYNTHETIC, "test", SimulationConfig(),
                                 SedSetConfig(events=(3, 6)), seed=0, max_segments=8)


def test_every_recording_holds_its_number_of_events_inside_it(split):
    recipes = split.simulated.recipes
    assert len(recipes) == 8
    for recipe in recipes:
        assert 3 <= len(recipe.events) <= 6
        onsets = [e.onset_s for e in recipe.events]
        assert onsets == sorted(onsets)
        for event in recipe.events:
            assert event.onset_s >= 0
            assert event.onset_s + event.duration_s <= recipe.duration_s + 1e-9
            vid, label = event.qid.rsplit(":", 1)
            assert vid == recipe.vid and event.clip_id.startswith(f"{label}-")
    assert len(split.task.events) == sum(len(r.events) for r in recipes)


def test_one_query_per_recording_and_present_class_with_all_its_windows(split):
    task = split.task
    present = {(e.vid, e.label) for e in task.events}
    queries = {a.qid: a for a in split.simulated.annotations}
    assert set(queries) == {f"{vid}:{label}" for vid, label in present}
    for (vid, label) in present:
        query = queries[f"{vid}:{label}"]
        assert query.query == split.prompts[label] == f"the sound of {label.replace('_', ' ')}"
        windows = query.relevant_windows
        assert (np.diff(windows[:, 0]) > 0).all() and (windows[1:, 0] > windows[:-1, 1]).all()
        # the merged windows cover exactly the frames the class's events cover
        frames = task.frames(vid)
        from_windows = np.zeros(frames, dtype=bool)
        for start, end in windows:
            from_windows |= covered_frames(start, end, frames)
        from_events = np.zeros(frames, dtype=bool)
        for event in task.events:
            if (event.vid, event.label) == (vid, label):
                from_events |= covered_frames(event.start_s, event.end_s, frames)
        np.testing.assert_array_equal(from_windows, from_events)


def test_events_of_different_classes_overlap_somewhere(split):
    overlaps = 0
    for recipe in split.simulated.recipes:
        for a, b in zip(recipe.events, recipe.events[1:], strict=False):
            overlaps += b.onset_s < a.onset_s + a.duration_s
    assert overlaps > 0


def test_the_task_asks_every_class_and_the_reference_matches_the_events(split):
    task = split.task
    assert set(task.labels) == set(split.prompts)
    reference = task.reference()
    assert reference.shape == (sum(task.frames(v) for v in task.vids), len(task.labels))
    assert reference.sum() > 0
    # each class's reference frames are non-empty exactly for the classes that occur
    occurring = {e.label for e in task.events}
    column_has = {label: bool(reference[:, c].any()) for c, label in enumerate(task.labels)}
    assert {label for label, has in column_has.items() if has} == occurring


def test_the_same_seed_gives_the_same_recordings(split, tmp_path, monkeypatch):
    monkeypatch.setenv("AMR_CACHE_DIR", str(tmp_path / "cache"))
    again = simulate_sed_split(SYNTHETIC, SYNTHETIC, "test", SimulationConfig(),
                               SedSetConfig(events=(3, 6)), seed=0, max_segments=8)
    assert again.simulated.recipes == split.simulated.recipes
    other = simulate_sed_split(SYNTHETIC, SYNTHETIC, "test", SimulationConfig(),
                               SedSetConfig(events=(3, 6)), seed=1, max_segments=8)
    assert other.simulated.recipes != split.simulated.recipes


def test_esc50_recordings_are_labelled_by_category(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("AMR_CACHE_DIR", str(tmp_path / "cache"))
    real = simulate_sed_split(CorpusSpec("esc50"), CorpusSpec("folder"), "test",
                              SimulationConfig.real_sounds(), seed=0, max_segments=4)
    assert set(real.task.labels) == set(CAPTION_PHRASINGS)
    assert {e.label for e in real.task.events} <= set(CAPTION_PHRASINGS)


def test_bad_settings_and_unlabelled_corpora_are_refused(data_root):
    with pytest.raises(ValueError, match="events must be"):
        SedSetConfig(events=(4, 2))
    with pytest.raises(ValueError, match="prompt must hold one"):
        SedSetConfig(prompt="a dog")
    with pytest.raises(CorpusError, match="no sound classes"):
        simulate_sed_split(CorpusSpec("clotho", str(data_root / "clotho_mini")), SYNTHETIC,
                           "test", max_segments=1)
