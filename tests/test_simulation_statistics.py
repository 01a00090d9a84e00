import json

import numpy as np
import pytest

from amr_lib.corpora.synthetic import SyntheticBackgroundCorpus, SyntheticClipCorpus
from amr_lib.lighthouse_jsonl import MomentAnnotation, read_annotations
from amr_lib.simulation.algorithm import (
    EventRecipe,
    MixtureRecipe,
    SimulationConfig,
    sample_recipes,
    segment_backgrounds,
    trim_clips,
)
from amr_lib.simulation.statistics import statistics_from_annotations, statistics_from_recipes
from amr_lib.storage.cache import ArtifactCache


def annotation(qid, vid, window):
    return MomentAnnotation(qid, "q", 60, vid, [window])


def test_empty_segments_are_inferred_from_missing_starts():
    annotations = [annotation("1", "walk_0.0_60.0", [1, 5]),
                   annotation("2", "walk_0.0_60.0", [30, 40]),
                   annotation("3", "walk_3.0_63.0", [2, 22]),
                   annotation("4", "park_1.0_61.0", [10, 12])]
    stats = statistics_from_annotations(annotations)
    # walk: starts 0..3 -> 4 segments (2 empty); park: starts 0..1 -> 2 segments (1 empty)
    assert stats.num_segments == 6
    assert stats.events_per_segment == pytest.approx({0: 3 / 6, 1: 2 / 6, 2: 1 / 6, 3: 0.0})
    np.testing.assert_allclose(sorted(stats.lengths_s), [2, 4, 10, 20])


def test_unparseable_vid_is_refused():
    with pytest.raises(ValueError, match=r"'clip7' .* is not named"):
        statistics_from_annotations([annotation("1", "clip7", [0, 1])])


def test_recipe_statistics_count_empty_segments():
    event = EventRecipe("0", "c", "q", 5.0, 0.0, 10.0, 0.0)
    recipes = [MixtureRecipe("a", "a", 0, 60, -20, ()),
               MixtureRecipe("b", "a", 1, 60, -20, (event,)),
               MixtureRecipe("c", "a", 2, 60, -20, (event, event, event, event))]
    stats = statistics_from_recipes(recipes)
    assert stats.shares_percent() == {0: 33.3, 1: 33.3, 2: 0.0, 3: 33.3}
    assert stats.starts_s.tolist() == [5.0] * 5


def test_released_clotho_moment_statistics(released_annotations):
    test = statistics_from_annotations(
        read_annotations(released_annotations / "clotho_moment_test_release.jsonl"))
    shares = test.shares_percent()
    assert 26 < shares[0] < 30 and shares[1] > 50 and shares[3] < 1  # DESIGN.md: ~28 % empty
    assert 19 < test.lengths_s.mean() < 21 and test.lengths_s.max() == pytest.approx(30)


def test_synthetic_simulation_reproduces_released_event_counts(tmp_path, repo_root):
    """Issue 3's guard: at paper-like size (several recipe draws over the synthetic test
    split, about as many segments as the released test split) the shares of segments with
    1, 2 and 3 events are within 3 percentage points of the released test split."""
    config = SimulationConfig()
    segments = segment_backgrounds(SyntheticBackgroundCorpus(seed=0), "test", config)
    clips = trim_clips(SyntheticClipCorpus(seed=0), "test", config, ArtifactCache(tmp_path))
    recipes = [r for seed in range(16) for r in sample_recipes(segments, clips, config, seed)]
    ours = statistics_from_recipes(recipes)
    released = json.loads((repo_root / "book/data/released_clotho_moment_statistics.json"
                           ).read_text())["test"]
    assert len(recipes) > 7_000
    for events in (1, 2, 3):
        share = ours.shares_percent()[events]
        assert abs(share - released["events_per_segment_percent"][str(events)]) <= 3, events
    assert abs(ours.lengths_s.mean() - released["mean_length_s"]) < 1.5
