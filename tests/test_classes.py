"""Sound classes of queries: the entanglement rule, and absent texts drawn by class that
never name a sound the recording holds (nor one a caption of it names)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.model.data import MomentSplit
from amr_lib.simulation.classes import class_words, entangled_pairs, names

# (recording, class, caption, token direction): dog and wolf sound alike (their tokens
# point the same way), as do bell and chime; rain and thunderstorm are entangled by words
QUERIES = [("a", "dog", "a dog barks", 0), ("a", "bell", "a bell rings", 2),
           ("b", "wolf", "a wolf howls", 0), ("b", "rain", "rain falls", 4),
           ("c", "chime", "wind chimes tinkle", 2), ("c", "thunderstorm",
                                                     "rain and thunder in a storm", 5),
           ("d", "dog", "a puppy yaps", 0), ("d", "engine", "an engine idles", 6)]


def split(queries=QUERIES) -> MomentSplit:
    vids = sorted({q[0] for q in queries})
    annotations = [MomentAnnotation(f"{i}", caption, 30.0, vid, np.array([[2.0, 5.0]]))
                   for i, (vid, _, caption, _) in enumerate(queries)]
    frames = [np.ones((30, 4), dtype=np.float32) for _ in vids]
    tokens = []
    for i, (_, _, _, direction) in enumerate(queries):
        state = np.full((3, 8), 0.01, dtype=np.float32)
        state[:, direction] = 1.0
        state[:, direction + 1] = 0.1 * (i % 3)         # same class, not the same text
        tokens.append(state)
    made = MomentSplit.from_arrays(frames, vids, tokens, annotations, 1.0)
    captions = {}
    for _, name, caption, _ in queries:
        captions.setdefault(name, []).append(caption)
    return made.with_classes([q[1] for q in queries], entangled_pairs(captions))


def test_a_caption_names_a_class_by_a_word_of_its_name_or_a_short_ending():
    assert class_words("glass_breaking") == ("glass", "breaking")
    assert class_words("a_of_dog") == ("dog",)
    assert names("rain and thunder in a storm", "rain")
    assert names("a dog is barking", "dog_bark")            # "barking": bark + "ing"
    assert not names("a cardboard box", "car_horn")         # "car" + 5 letters: not a word
    assert entangled_pairs({"rain": ["rain falls"], "thunderstorm": [
        "rain and thunder in a storm"], "dog": ["a dog barks"]}) == {
        frozenset({"rain", "thunderstorm"})}


def test_absent_texts_by_class_never_name_a_held_or_entangled_class():
    moments = split()
    recording = moments.recording.numpy()
    rows = torch.arange(len(moments))
    for seed in range(200):
        for hard in (0.0, 0.5, 1.0):
            texts = moments.absent_texts(rows, 1.0, np.random.default_rng(seed),
                                         by_class=True, hard_share=hard).numpy()
            for row, text in zip(rows.numpy(), texts, strict=True):
                assert moments.classes[text] not in moments.not_absent(recording[row])
    # recording b holds rain, so thunderstorm (whose caption names rain) is never absent
    assert moments.not_absent(1) == {"wolf", "rain", "thunderstorm"}


def test_the_text_rule_by_contrast_pairs_a_recording_with_its_own_class():
    moments = split()
    recording = moments.recording.numpy()
    found = set()
    for seed in range(50):
        texts = moments.absent_texts(torch.arange(len(moments)), 1.0,
                                     np.random.default_rng(seed)).numpy()
        found |= {(int(row), int(text)) for row, text in enumerate(texts)
                  if moments.classes[text] in moments.not_absent(recording[row])}
    assert (0, 6) in found         # a dog recording asked "a puppy yaps": a dog is there


def test_the_hard_absent_text_is_the_nearest_class_not_held():
    moments = split()
    assert moments.neighbours["dog"][0] == "wolf" and moments.neighbours["bell"][0] == "chime"
    texts = moments.absent_texts(torch.arange(len(moments)), 1.0,
                                 np.random.default_rng(0), by_class=True,
                                 hard_share=1.0).numpy()
    asked = [moments.classes[text] for text in texts]
    assert asked[0] == "wolf" and asked[1] == "chime"      # recording a: dog and bell
    assert asked[2] == "dog"                               # recording b: wolf


def test_subsets_and_merges_keep_classes_and_refuse_what_cannot_hold():
    moments = split()
    part = moments.recording_subset(0.5, seed=1)
    assert part.classes == tuple(moments.classes[int(a.qid)] for a in part.annotations)
    both = MomentSplit.concatenate([moments, part])
    assert both.classes == moments.classes + part.classes
    assert both.entangled == moments.entangled
    plain = MomentSplit.concatenate([moments, MomentSplit.from_arrays(
        [np.ones((30, 4), dtype=np.float32)], ["z"], [np.ones((3, 8), dtype=np.float32)],
        [MomentAnnotation("z0", "x", 30.0, "z", np.array([[1.0, 2.0]]))], 1.0)])
    assert plain.classes == ()
    with pytest.raises(ValueError, match="need the split's classes"):
        plain.absent_texts(torch.arange(3), 1.0, np.random.default_rng(0), by_class=True)
    with pytest.raises(ValueError, match="2 classes for 8 queries"):
        moments.with_classes(["dog", "cat"])
    lonely = split([("a", "dog", "a dog barks", 0), ("b", "dog", "a dog yaps", 0)])
    with pytest.raises(ValueError, match="holds or is entangled with every class"):
        lonely.absent_texts(torch.arange(2), 1.0, np.random.default_rng(0), by_class=True)
