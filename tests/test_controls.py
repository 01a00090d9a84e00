"""Blind controls: swapped queries, the best constant moment, same-recording
discrimination (hand-checked cases)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_moments import tiny_split

from amr_lib.experiments.controls import (
    best_constant_moment,
    discrimination,
    lands_on_queried,
    several_events,
    swap_donors,
    swap_queries,
)
from amr_lib.lighthouse_jsonl import MomentAnnotation, MomentPrediction
from amr_lib.metrics import evaluate


def annotation(qid, vid, *windows, duration=60.0):
    return MomentAnnotation(qid, f"query {qid}", duration, vid, np.array(windows, float))


def prediction(qid, vid, *rows):
    return MomentPrediction(qid, f"query {qid}", vid, np.array(rows, float))


def test_every_query_gets_a_query_of_another_recording():
    recordings = np.array([0, 0, 0, 1, 2, 2, 3, 1])
    donors = swap_donors(recordings)
    assert np.all(recordings[donors] != recordings)
    assert sorted(donors) == list(range(len(recordings)))      # a permutation
    with pytest.raises(ValueError, match="two recordings"):
        swap_donors(np.zeros(3, int))
    # exactly half the queries on one recording still works; more than half cannot
    half = np.array([0, 0, 1, 2])
    assert np.all(half[swap_donors(half)] != half)
    with pytest.raises(ValueError, match="holds 3 of the 4 queries"):
        swap_donors(np.array([0, 0, 0, 1]))


def test_swapped_split_keeps_labels_and_audio_but_not_tokens():
    split = tiny_split(6, 0)
    swapped = swap_queries(split)
    assert swapped.annotations == split.annotations
    assert torch.equal(swapped.audio, split.audio)
    assert not torch.equal(swapped.tokens, split.tokens)
    donors = swap_donors(split.recording.numpy())
    assert torch.equal(swapped.tokens, split.tokens[donors])


def test_the_best_constant_moment_by_hand():
    # two queries share [10, 20]; a third is elsewhere: [10, 20] wins with AP 1 on two
    annotations = [annotation(1, "a", [10, 20], duration=30.0),
                   annotation(2, "b", [10, 20], duration=30.0),
                   annotation(3, "c", [0, 4], duration=30.0)]
    constant = best_constant_moment(annotations)
    assert (constant.start_s, constant.end_s) == (10.0, 20.0)
    assert constant.train_average_map == pytest.approx(200 / 3)
    report = evaluate(annotations, constant.predictions(annotations))
    assert report["mAP"] == pytest.approx(66.67)


def test_the_constant_moment_is_clamped_to_shorter_recordings():
    constant = best_constant_moment([annotation(1, "a", [50, 60])])
    assert (constant.start_s, constant.end_s) == (50.0, 60.0)
    [row] = constant.predictions([annotation(2, "b", [0, 5], duration=40.0)])
    np.testing.assert_allclose(row.pred_relevant_windows, [[40, 40, 1]])


def test_discrimination_counts_queried_other_and_neither():
    annotations = [annotation(1, "a", [0, 10]), annotation(2, "a", [30, 40]),
                   annotation(3, "b", [5, 15]), annotation(4, "b", [20, 25]),
                   annotation(5, "c", [0, 5])]            # alone: not counted
    predictions = [prediction(1, "a", [0, 9, 0.9]),        # queried event
                   prediction(2, "a", [1, 10, 0.9], [30, 40, 0.1]),   # the other event
                   prediction(3, "b", [50, 55, 0.9]),      # neither
                   prediction(4, "b", [14, 24, 0.9]),      # overlaps both: own IoU wins
                   prediction(5, "c", [0, 5, 0.9])]
    shares = discrimination(annotations, predictions)
    assert shares.queries == 4
    assert (shares.on_queried, shares.on_other, shares.on_neither) == (50.0, 25.0, 25.0)
    with pytest.raises(ValueError, match="two or more events"):
        discrimination(annotations[4:], predictions[4:])
    # the same outcomes per query, for the evidence rule: 100 where it lands on the event
    np.testing.assert_array_equal(several_events(annotations), [1, 1, 1, 1, 0])
    landed = lands_on_queried(annotations, predictions)
    np.testing.assert_array_equal(landed, [100, 0, 0, 100, 100])
    assert landed[several_events(annotations)].mean() == shares.on_queried
