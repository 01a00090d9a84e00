import numpy as np
import pytest
import torch

from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.model.data import MomentSplit, saliency_frames

# ----------------------------------------------------------------------------- saliency rule


@pytest.mark.parametrize(("start", "end", "hop", "frames", "expected"), [
    (2.0, 6.0, 1.0, 10, (2, 5)),        # [2, 6) s -> frames 2..5
    (2.5, 6.2, 1.0, 10, (2, 5)),        # int() floors both ends
    (0.0, 10.0, 1.0, 10, (0, 9)),       # the whole recording
    (8.0, 15.0, 1.0, 10, (8, 9)),       # end beyond T: clipped to the last frame
    (12.0, 14.0, 1.0, 10, (9, 9)),      # start beyond T too: still one frame
    (3.0, 3.0, 1.0, 10, (2, 2)),        # start == end: never empty, first moves back
    (3.4, 3.9, 1.0, 10, (2, 2)),        # inside one frame: int(3.9) - 1 = 2
    (0.0, 0.0, 1.0, 10, (0, 0)),        # nothing before frame 0
    (0.0, 0.4, 1.0, 10, (0, 0)),
    (1.0, 3.0, 0.5, 10, (2, 5)),        # half-second hop
    (1.0, 9.0, 0.5, 10, (2, 9)),        # 18 frames' worth in a 10-frame recording
    (0.3, 0.9, 0.1, 20, (2, 8)),        # Lighthouse's float arithmetic: int(0.3 / 0.1) == 2
])
def test_saliency_frames_follow_lighthouse(start, end, hop, frames, expected):
    first, last = saliency_frames(start, end, hop, frames)
    assert (first, last) == expected
    assert 0 <= first <= last < frames
    assert all(isinstance(i, int) for i in (first, last))


def test_saliency_frames_against_the_formula():
    rng = np.random.default_rng(0)
    for _ in range(200):
        frames = int(rng.integers(1, 30))
        hop = float(rng.choice([0.5, 1.0, 2.0]))
        start, end = np.sort(rng.uniform(0, frames * hop * 1.2, size=2)).tolist()
        last = max(0, min(int(end / hop), frames) - 1)
        assert saliency_frames(start, end, hop, frames) == (min(int(start / hop), last), last)


# ----------------------------------------------------------------------------- from_arrays


def annotation(qid, vid, windows, duration=10.0):
    return MomentAnnotation(qid=qid, query=f"query {qid}", duration=duration, vid=vid,
                            relevant_windows=np.array(windows, dtype=np.float64))


def features(rows, width, seed):
    return np.random.default_rng(seed).normal(size=(rows, width)).astype(np.float32)


@pytest.fixture
def split():
    """Two recordings (10 and 6 frames of 1 s); three queries, two about recording "a"."""
    frames = [features(10, 4, 0), features(6, 4, 1)]
    annotations = [annotation(0, "a", [[2.0, 6.0]]),
                   annotation(1, "b", [[1.0, 2.5], [4.0, 9.0]], duration=6.3),
                   annotation("x", "a", [[8.0, 14.0]])]
    tokens = [features(3, 5, 2), features(5, 5, 3), features(2, 5, 4)]
    return MomentSplit.from_arrays(frames, ["a", "b"], tokens, annotations, hop_s=1.0)


def test_split_shapes_and_padding(split):
    assert len(split) == 3 and split.audio_dim == 4 and split.text_dim == 5
    assert split.audio.shape == (2, 10, 4) and split.audio.dtype == torch.float32
    assert split.audio_mask.sum(1).tolist() == [10, 6]
    assert (split.audio[1, 6:] == 0).all()
    np.testing.assert_allclose(split.audio[1, :6].numpy(), features(6, 4, 1))
    assert split.tokens.shape == (3, 5, 5)
    assert split.token_mask.sum(1).tolist() == [3, 5, 2]
    np.testing.assert_allclose(split.tokens[2, :2].numpy(), features(2, 5, 4))
    assert (split.tokens[2, 2:] == 0).all()
    assert split.span_count.tolist() == [1, 2, 1]
    assert split.spans_cxw.shape == (3, 2, 2) and split.saliency.shape == (3, 10)
    assert [a.qid for a in split.annotations] == [0, 1, "x"]
    assert split.hop_s == 1.0


def test_queries_about_one_recording_share_its_audio_row(split):
    assert split.recording.tolist() == [0, 1, 0]
    assert split.recording.dtype == torch.int64
    torch.testing.assert_close(split.length_s(),
                               torch.tensor([10.0, 6.0, 10.0], dtype=torch.float64))


def test_spans_are_normalised_by_the_frames_length_in_cxw(split):
    expected = torch.tensor([
        [[0.4, 0.4], [0.0, 0.0]],                       # [2, 6] / 10 s
        [[1.75 / 6, 1.5 / 6], [5.0 / 6, 2.0 / 6]],      # [1, 2.5], [4, 9 -> 6] / 6 s
        [[0.9, 0.2], [0.0, 0.0]],                       # [8, 14 -> 10] / 10 s
    ])
    torch.testing.assert_close(split.spans_cxw, expected)


def test_saliency_rows(split):
    expected = torch.zeros(3, 10)
    expected[0, 2:6] = 1                    # [2, 6]
    expected[1, [1, 4, 5]] = 1              # [1, 2.5] -> frame 1; [4, 6] -> frames 4, 5
    expected[2, 8:10] = 1                   # [8, 10]
    torch.testing.assert_close(split.saliency, expected)
    # salient frames are real frames
    assert not (split.saliency.bool() & ~split.audio_mask[split.recording]).any()


def test_spans_use_the_frames_not_the_duration():
    # 20 frames of 0.5 s cover 10 s, whatever the annotated duration says
    split = MomentSplit.from_arrays([features(20, 3, 0)], ["v"], [features(2, 3, 1)],
                                    [annotation(7, "v", [[2.5, 5.0]], duration=10.4)],
                                    hop_s=0.5)
    torch.testing.assert_close(split.spans_cxw[0], torch.tensor([[0.375, 0.25]]))
    assert split.saliency[0].nonzero().flatten().tolist() == list(range(5, 10))
    assert float(split.length_s()[0]) == 10.0


def test_feature_widths_must_agree():
    annotations = [annotation(0, "a", [[1.0, 2.0]]), annotation(1, "b", [[1.0, 2.0]])]
    with pytest.raises(ValueError, match="widths"):
        MomentSplit.from_arrays([features(5, 4, 0), features(5, 3, 1)], ["a", "b"],
                                [features(2, 5, 2), features(2, 5, 3)], annotations, 1.0)
    with pytest.raises(ValueError, match="widths"):
        MomentSplit.from_arrays([features(5, 4, 0), features(5, 4, 1)], ["a", "b"],
                                [features(2, 5, 2), features(2, 6, 3)], annotations, 1.0)


def test_a_missing_recording_is_named():
    annotations = [annotation(0, "a", [[1.0, 2.0]]), annotation(1, "lost-vid", [[1.0, 2.0]])]
    with pytest.raises(ValueError, match="lost-vid"):
        MomentSplit.from_arrays([features(5, 4, 0)], ["a"],
                                [features(2, 5, 2), features(2, 5, 3)], annotations, 1.0)


def test_from_arrays_follows_the_given_vid_order():
    frames = [features(4, 2, 0), features(7, 2, 1)]
    annotations = [annotation(0, "first", [[0.0, 1.0]]), annotation(1, "second", [[0.0, 1.0]])]
    split = MomentSplit.from_arrays(frames, ["second", "first"], [features(1, 3, 2)] * 2,
                                    annotations, 1.0)
    assert split.recording.tolist() == [1, 0]
    assert split.length_s().tolist() == [7.0, 4.0]


# ----------------------------------------------------------------------------- batch


def test_batch_trims_to_the_longest_in_the_batch(split):
    batch = split.batch(torch.tensor([1]))          # recording "b": 6 frames, 5 tokens
    assert batch.audio.shape == (1, 6, 4) and batch.audio_mask.shape == (1, 6)
    assert batch.tokens.shape == (1, 5, 5) and batch.token_mask.all()
    assert batch.targets.saliency.shape == (1, 6)
    assert batch.targets.audio_mask.shape == (1, 6)
    torch.testing.assert_close(batch.targets.saliency[0], split.saliency[1, :6])

    batch = split.batch(torch.tensor([2, 1]))       # "a" (10 frames, 2 tokens) and "b"
    assert batch.audio.shape == (2, 10, 4) and batch.tokens.shape == (2, 5, 5)
    assert batch.audio_mask.sum(1).tolist() == [10, 6]
    assert batch.token_mask.sum(1).tolist() == [2, 5]
    torch.testing.assert_close(batch.audio[0], split.audio[0])
    torch.testing.assert_close(batch.tokens[1], split.tokens[1])
    assert batch.rows.tolist() == [2, 1]

    batch = split.batch(torch.tensor([0, 2]))       # same recording, tokens 3 and 2
    assert batch.tokens.shape == (2, 3, 5) and batch.audio.shape == (2, 10, 4)
    torch.testing.assert_close(batch.audio[0], batch.audio[1])


def test_batch_targets_have_each_querys_moments(split):
    batch = split.batch(torch.tensor([1, 0, 2]))
    assert [len(s) for s in batch.targets.spans_cxw] == [2, 1, 1]
    for row, spans in zip([1, 0, 2], batch.targets.spans_cxw, strict=True):
        torch.testing.assert_close(spans, split.spans_cxw[row, :int(split.span_count[row])])
    torch.testing.assert_close(batch.targets.saliency, split.saliency[[1, 0, 2]])
    torch.testing.assert_close(batch.targets.audio_mask, batch.audio_mask)


def test_model_inputs_ask_for_negatives_only_when_told(split):
    batch = split.batch(torch.tensor([0, 1, 2]))
    plain = batch.model_inputs(negatives=False)
    assert set(plain) == {"audio", "audio_mask", "tokens", "token_mask", "negative_pairs"}
    assert plain["negative_pairs"] is False
    assert batch.model_inputs(negatives=True)["negative_pairs"] is True
    assert plain["tokens"] is batch.tokens and plain["audio"] is batch.audio


def test_to_moves_every_tensor_and_keeps_the_rest(split):
    moved = split.to("cpu")
    assert moved.hop_s == split.hop_s and moved.annotations == split.annotations
    torch.testing.assert_close(moved.spans_cxw, split.spans_cxw)
    assert moved.batch(torch.tensor([0])).audio.shape == (1, 10, 4)


# ----------------------------------------------------------------------------- subsets, joins


def many_recordings(count: int, frames: int, tokens: int, seed: int) -> MomentSplit:
    """``count`` recordings of ``frames + i`` frames, two queries each (one with 2 moments)."""
    vids = [f"s{seed}v{i}" for i in range(count)]
    annotations = [annotation(f"{vid}q{j}", vid, [[1.0, 3.0]] + [[4.0, 5.0]] * j)
                   for vid in vids for j in range(2)]
    return MomentSplit.from_arrays(
        [features(frames + i, 4, seed + i) for i in range(count)], vids,
        [features(tokens + j % 3, 3, seed + 100 + j) for j in range(len(annotations))],
        annotations, 1.0)


def rows_of(split: MomentSplit) -> dict[str, tuple]:
    """Each query's own (unpadded) tensors, by qid: what any re-indexing must preserve."""
    result = {}
    for row, a in enumerate(split.annotations):
        recording = split.recording[row]
        frames, length = int(split.audio_mask[recording].sum()), int(split.token_mask[row].sum())
        result[a.qid] = (split.audio[recording, :frames], split.tokens[row, :length],
                         split.spans_cxw[row, :split.span_count[row]],
                         split.saliency[row, :frames])
    return result


def assert_same_queries(part: MomentSplit, whole: MomentSplit) -> None:
    whole_rows = rows_of(whole)
    for qid, tensors in rows_of(part).items():
        for mine, theirs in zip(tensors, whole_rows[qid], strict=True):
            assert torch.equal(mine, theirs), qid


def test_recording_subset_keeps_whole_recordings_and_nests():
    whole = many_recordings(16, 5, 2, seed=0)
    shares = [whole.recording_subset(share, seed=3) for share in (0.125, 0.25, 0.5, 1.0)]
    vid_sets = [{a.vid for a in part.annotations} for part in shares]
    assert [len(v) for v in vid_sets] == [2, 4, 8, 16]
    assert [len(part) for part in shares] == [4, 8, 16, 32]     # both queries of each
    assert vid_sets[0] < vid_sets[1] < vid_sets[2] < vid_sets[3]
    for part in shares:
        assert_same_queries(part, whole)
        assert part.audio.shape[0] == len({a.vid for a in part.annotations})
    other_seed = {a.vid for a in whole.recording_subset(0.5, seed=4).annotations}
    assert other_seed != vid_sets[2]
    with pytest.raises(ValueError, match="share"):
        whole.recording_subset(0.0, seed=0)


def test_concatenate_pads_and_offsets_recordings():
    first, second = many_recordings(3, 5, 2, seed=0), many_recordings(2, 9, 4, seed=7)
    joined = MomentSplit.concatenate([first, second])
    assert len(joined) == len(first) + len(second)
    assert joined.audio.shape == (5, 10, 4) and joined.tokens.shape[1] == 6
    assert joined.spans_cxw.shape[1] == 2 and joined.saliency.shape[1] == 10
    assert_same_queries(first, joined)
    assert_same_queries(second, joined)
    # padding stays padding: masks are False and features zero beyond each recording
    assert not joined.audio_mask[0, 5:].any() and joined.audio[0, 5:].abs().sum() == 0
    with pytest.raises(ValueError, match="widths"):
        MomentSplit.concatenate([first, MomentSplit.from_arrays(
            [features(5, 8, 0)], ["w"], [features(2, 3, 0)], [annotation(0, "w", [[1, 2]])],
            1.0)])
