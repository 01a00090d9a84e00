import dataclasses
import json

import pytest
import torch
from torch import nn

from amr_lib.model.am_detr import (
    AMDETR,
    AMDETRConfig,
    count_parameters,
    input_projection,
    temporal_endpoints,
)
from amr_lib.model.criterion import SetCriterion
from amr_lib.model.data import MomentTargets
from amr_lib.model.transformer import MLP, Attention, ProjectedAttention

AUDIO_DIM, TEXT_DIM = 12, 10


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; two threads on a busy 2-core machine spin for
    seconds per forward pass. Restored after each test (nothing global)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(**changes) -> AMDETRConfig:
    values = dict(audio_dim=AUDIO_DIM, text_dim=TEXT_DIM, hidden_dim=32, heads=4, ffn_dim=48,
                  num_queries=5)
    values.update(changes)
    return AMDETRConfig(**values)


def tiny_model(seed: int = 0, **changes) -> AMDETR:
    torch.manual_seed(seed)
    return AMDETR(tiny_config(**changes)).eval()


def ones(*shape) -> torch.Tensor:
    return torch.ones(*shape, dtype=torch.bool)


def random_pair(frames: int, tokens: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(frames, AUDIO_DIM, generator=generator),
            torch.randn(tokens, TEXT_DIM, generator=generator))


def padded(rows: list[torch.Tensor], length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(L_i, D)`` rows into ``(N, length, D)``, filling the tail with large random junk
    (not zeros, so that a leak of padding into the result would show)."""
    generator = torch.Generator().manual_seed(seed)
    out = 5 * torch.randn(len(rows), length, rows[0].shape[1], generator=generator)
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
        mask[i, :len(row)] = True
    return out, mask


# ----------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("decoder_layers", [1, 2, 3])
def test_output_keys_shapes_and_ranges(decoder_layers):
    model = tiny_model(decoder_layers=decoder_layers, num_queries=7)
    audio, tokens = torch.randn(3, 11, AUDIO_DIM), torch.randn(3, 4, TEXT_DIM)
    with torch.no_grad():
        out = model(audio, ones(3, 11), tokens, ones(3, 4))
    assert set(out) == {"pred_logits", "pred_spans", "saliency_scores", "aux_outputs"}
    assert out["pred_logits"].shape == (3, 7, 2)
    assert out["pred_spans"].shape == (3, 7, 2)
    assert out["saliency_scores"].shape == (3, 11)
    assert len(out["aux_outputs"]) == decoder_layers - 1
    for aux in out["aux_outputs"]:
        assert set(aux) == {"pred_logits", "pred_spans"}
        assert aux["pred_logits"].shape == (3, 7, 2) and aux["pred_spans"].shape == (3, 7, 2)
    for layer in [*out["aux_outputs"], out]:
        spans = layer["pred_spans"]
        assert torch.isfinite(spans).all() and (spans >= 0).all() and (spans <= 1).all()
    assert torch.isfinite(out["pred_logits"]).all()
    assert torch.isfinite(out["saliency_scores"]).all()


def test_negative_pairs_score_each_recording_against_the_next_query():
    model = tiny_model()
    audio, tokens = torch.randn(3, 9, AUDIO_DIM), torch.randn(3, 4, TEXT_DIM)
    with torch.no_grad():
        plain = model(audio, ones(3, 9), tokens, ones(3, 4))
        with_negatives = model(audio, ones(3, 9), tokens, ones(3, 4), negative_pairs=True)
        # QD-DETR's negatives: recording i with query i + 1 (the last with the first)
        for i in range(3):
            j = (i + 1) % 3
            alone = model(audio[i:i + 1], ones(1, 9), tokens[j:j + 1], ones(1, 4))
            torch.testing.assert_close(with_negatives["saliency_scores_neg"][i],
                                       alone["saliency_scores"][0], atol=1e-5, rtol=0)
    assert "saliency_scores_neg" not in plain
    assert with_negatives["saliency_scores_neg"].shape == (3, 9)
    # the negatives touch nothing but their own saliency
    for key in ("pred_logits", "pred_spans", "saliency_scores"):
        torch.testing.assert_close(with_negatives[key], plain[key])
    assert not torch.allclose(with_negatives["saliency_scores_neg"], plain["saliency_scores"])


def test_the_query_changes_the_prediction():
    model = tiny_model()
    audio = torch.randn(1, 9, AUDIO_DIM)
    with torch.no_grad():
        a = model(audio, ones(1, 9), torch.randn(1, 4, TEXT_DIM), ones(1, 4))
        b = model(audio, ones(1, 9), torch.randn(1, 4, TEXT_DIM), ones(1, 4))
    assert not torch.allclose(a["saliency_scores"], b["saliency_scores"], atol=1e-4)
    assert not torch.allclose(a["pred_spans"], b["pred_spans"], atol=1e-5)


# ----------------------------------------------------------------------------- invariances


def assert_same_prediction(out, reference, frames, atol=1e-5):
    torch.testing.assert_close(out["pred_logits"], reference["pred_logits"], atol=atol, rtol=0)
    torch.testing.assert_close(out["pred_spans"], reference["pred_spans"], atol=atol, rtol=0)
    torch.testing.assert_close(out["saliency_scores"][:, :frames],
                               reference["saliency_scores"], atol=atol, rtol=0)
    for aux, aux_reference in zip(out["aux_outputs"], reference["aux_outputs"], strict=True):
        torch.testing.assert_close(aux["pred_spans"], aux_reference["pred_spans"],
                                   atol=atol, rtol=0)
        torch.testing.assert_close(aux["pred_logits"], aux_reference["pred_logits"],
                                   atol=atol, rtol=0)


def test_padding_frames_and_tokens_change_nothing():
    model = tiny_model()
    audio, tokens = random_pair(frames=7, tokens=4, seed=1)
    other_audio, other_tokens = random_pair(frames=5, tokens=2, seed=2)
    with torch.no_grad():
        # two different lengths in one batch, so each negative pair mixes padded inputs
        reference = model(audio[None], ones(1, 7), tokens[None], ones(1, 4))
        reference["saliency_scores_neg"] = model(
            audio[None], ones(1, 7), other_tokens[None], ones(1, 2))["saliency_scores"]
        for extra_frames, extra_tokens in [(5, 0), (0, 3), (6, 2)]:
            audio_p, audio_mask = padded([audio, other_audio], 7 + extra_frames,
                                         seed=extra_frames)
            tokens_p, token_mask = padded([tokens, other_tokens], 4 + extra_tokens,
                                          seed=10 + extra_tokens)
            out = model(audio_p, audio_mask, tokens_p, token_mask, negative_pairs=True)
            out = {key: value[:1] for key, value in out.items() if key != "aux_outputs"} | {
                "aux_outputs": [{k: v[:1] for k, v in aux.items()}
                                for aux in out["aux_outputs"]]}
            assert_same_prediction(out, reference, frames=7)
            torch.testing.assert_close(out["saliency_scores_neg"][:, :7],
                                       reference["saliency_scores_neg"], atol=1e-5, rtol=0)


def test_batch_of_different_lengths_equals_each_item_alone():
    model = tiny_model(seed=3, num_queries=6)
    pairs = [random_pair(frames, tokens, seed) for frames, tokens, seed in
             [(9, 3, 0), (14, 6, 1), (5, 2, 2)]]
    audio, audio_mask = padded([a for a, _ in pairs], 14, seed=4)
    tokens, token_mask = padded([t for _, t in pairs], 6, seed=5)
    with torch.no_grad():
        batch = model(audio, audio_mask, tokens, token_mask)
        for b, (audio_b, tokens_b) in enumerate(pairs):
            alone = model(audio_b[None], ones(1, len(audio_b)), tokens_b[None],
                          ones(1, len(tokens_b)))
            item = {"pred_logits": batch["pred_logits"][b:b + 1],
                    "pred_spans": batch["pred_spans"][b:b + 1],
                    "saliency_scores": batch["saliency_scores"][b:b + 1],
                    "aux_outputs": [{k: v[b:b + 1] for k, v in aux.items()}
                                    for aux in batch["aux_outputs"]]}
            assert_same_prediction(item, alone, frames=len(audio_b))


@pytest.mark.parametrize("temporal", [True, False])
def test_feature_scale_does_not_matter(temporal):
    model = tiny_model(temporal_endpoints=temporal)
    audio, tokens = torch.randn(2, 8, AUDIO_DIM), torch.randn(2, 3, TEXT_DIM)
    with torch.no_grad():
        reference = model(audio, ones(2, 8), tokens, ones(2, 3))
        scaled = model(audio * 37.5, ones(2, 8), tokens * 0.02, ones(2, 3))
        # per-frame and per-token scales, not just one global constant
        frame_scale = torch.rand(2, 8, 1) * 10 + 0.1
        token_scale = torch.rand(2, 3, 1) * 10 + 0.1
        rescaled = model(audio * frame_scale, ones(2, 8), tokens * token_scale, ones(2, 3))
    assert_same_prediction(scaled, reference, frames=8)
    assert_same_prediction(rescaled, reference, frames=8)


def test_eval_mode_is_deterministic_and_train_mode_uses_dropout():
    model = tiny_model(dropout=0.3, input_dropout=0.5)
    audio, tokens = torch.randn(2, 8, AUDIO_DIM), torch.randn(2, 3, TEXT_DIM)
    with torch.no_grad():
        a = model(audio, ones(2, 8), tokens, ones(2, 3))
        b = model(audio, ones(2, 8), tokens, ones(2, 3))
        torch.testing.assert_close(a["pred_spans"], b["pred_spans"], atol=0, rtol=0)
        model.train()
        c = model(audio, ones(2, 8), tokens, ones(2, 3))
    assert not torch.allclose(a["saliency_scores"], c["saliency_scores"])


# ----------------------------------------------------------------------------- endpoints


def test_temporal_endpoints_by_hand():
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    expected = torch.tensor([
        [[0.0, 0.25], [0.25, 0.5], [0.5, 0.75], [0.75, 1.0]],
        [[0.0, 0.5], [0.5, 1.0], [0.0, 0.0], [0.0, 0.0]],
        [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
    ])
    endpoints = temporal_endpoints(mask)
    assert endpoints.shape == (3, 4, 2)
    torch.testing.assert_close(endpoints, expected)
    # a float mask means the same
    torch.testing.assert_close(temporal_endpoints(mask.float()), expected)


def test_temporal_endpoints_of_a_long_recording():
    endpoints = temporal_endpoints(ones(1, 60))[0]
    t = torch.arange(60.0)
    torch.testing.assert_close(endpoints[:, 0], t / 60)
    torch.testing.assert_close(endpoints[:, 1], (t + 1) / 60)


def test_temporal_endpoints_switch_changes_the_input_width():
    with_endpoints = tiny_model(temporal_endpoints=True)
    without = tiny_model(temporal_endpoints=False)
    assert with_endpoints.audio_projection[0].normalized_shape == (AUDIO_DIM + 2,)
    assert without.audio_projection[0].normalized_shape == (AUDIO_DIM,)
    with torch.no_grad():
        out = without(torch.randn(1, 6, AUDIO_DIM), ones(1, 6), torch.randn(1, 2, TEXT_DIM),
                      ones(1, 2))
    assert out["pred_spans"].shape == (1, 5, 2)


def test_input_projection_layout():
    projection = input_projection(7, 16, layers=2, dropout=0.5)
    kinds = [type(m).__name__ for m in projection]
    assert kinds == ["LayerNorm", "Dropout", "Linear", "ReLU", "LayerNorm", "Dropout", "Linear"]
    assert projection[2].in_features == 7 and projection[2].out_features == 16
    assert projection[1].p == 0.5
    assert len(input_projection(7, 16, layers=1, dropout=0.0)) == 3


# ----------------------------------------------------------------------------- config


def test_paper_preset_matches_the_design():
    config = AMDETRConfig.paper()
    assert (config.hidden_dim, config.heads, config.ffn_dim, config.num_queries) == (
        256, 8, 1024, 10)
    assert (config.cross_layers, config.encoder_layers, config.decoder_layers) == (2, 2, 2)
    assert (config.dropout, config.input_dropout) == (0.1, 0.5)
    assert (config.audio_dim, config.text_dim) == (768, 768)   # MS-CLAP as Lighthouse uses it
    assert config.temporal_endpoints and config.span_head_layers == 3


# Lighthouse's QD-DETR built by its build_model at 768/768 inputs (770 with the endpoints),
# counted in the same session; 8,704 of them are a text position table it never uses
# (use_txt_pos is False), which AM-DETR does not build.
QD_DETR_PARAMETERS = 7_123_237
QD_DETR_UNUSED_TEXT_POSITIONS = 32 * 256 + 2 * 256


def test_paper_model_has_exactly_qd_detrs_parameters():
    count = count_parameters(AMDETR(AMDETRConfig.paper(audio_dim=768, text_dim=768)))
    print(f"AM-DETR paper preset: {count:,} parameters; QD-DETR: {QD_DETR_PARAMETERS:,} "
          f"({QD_DETR_UNUSED_TEXT_POSITIONS:,} of them unused)")
    assert count == QD_DETR_PARAMETERS - QD_DETR_UNUSED_TEXT_POSITIONS


# ----------------------------------------------------------------------------- QD-DETR parts


def feed_forward_activations(model: AMDETR) -> list[type]:
    """The activation module of every transformer layer's FFN."""
    layers = [*model.cross_encoder, *model.encoder, *model.decoder.layers]
    found = []
    for layer in layers:
        found += [type(m) for m in layer.modules() if isinstance(m, nn.ReLU | nn.PReLU)]
    return found


def test_attention_is_initialised_as_qd_detrs_multihead_attention():
    torch.manual_seed(0)
    model = AMDETR(AMDETRConfig.quick().with_inputs(8, 8))
    d = model.config.hidden_dim
    projected = [m for m in model.modules() if isinstance(m, ProjectedAttention)]
    attention = [m for m in model.modules() if isinstance(m, Attention)]
    assert len(projected) == 4 and len(attention) == 8       # 2+2 encoders, 2x2 decoder
    bound = (6 / (4 * d)) ** 0.5                             # one (3d, d) Xavier matrix
    for module in projected:
        for linear in (module.q, module.k, module.v):
            assert torch.count_nonzero(linear.bias) == 0
            assert linear.weight.abs().max() <= bound
        # the three blocks together fill the bound, as one draw does (not sqrt(6 / 2d))
        stacked = torch.cat([module.q.weight, module.k.weight, module.v.weight])
        assert stacked.abs().max() > 0.95 * bound
    for module in attention:
        assert torch.count_nonzero(module.out.bias) == 0


def test_every_transformer_layer_uses_its_own_prelu():
    model = tiny_model(cross_layers=2, encoder_layers=3, decoder_layers=2)
    activations = feed_forward_activations(model)
    # one per layer, no ReLU among them
    assert activations == [nn.PReLU] * 7
    slopes = [m.weight for m in model.modules() if isinstance(m, nn.PReLU)]
    assert len({id(s) for s in slopes}) == 7          # learnable, not shared
    assert all(float(s.detach()) == pytest.approx(0.25) for s in slopes)
    # the heads keep ReLU (QD-DETR's MLP)
    assert isinstance(model.span_head, MLP) and not any(
        isinstance(m, nn.PReLU) for m in model.span_head.modules())


def test_refinement_head_is_its_own_module_and_learns():
    model = tiny_model(decoder_layers=2).train()
    assert model.decoder.refine is not model.span_head
    assert not {id(p) for p in model.decoder.refine.parameters()} & {
        id(p) for p in model.span_head.parameters()}
    # QD-DETR: last layer's bias starts at 0 (its weight is redrawn by the Xavier init)
    assert torch.count_nonzero(model.decoder.refine.layers[-1].bias) == 0
    assert torch.count_nonzero(model.decoder.refine.layers[-1].weight) > 0
    audio, tokens = torch.randn(4, 10, AUDIO_DIM), torch.randn(4, 3, TEXT_DIM)
    targets = MomentTargets([torch.tensor([[0.3 + 0.1 * b, 0.2]]) for b in range(4)],
                            torch.zeros(4, 10), ones(4, 10))
    targets.saliency[:, 2:5] = 1
    criterion = SetCriterion()
    outputs = model(audio, ones(4, 10), tokens, ones(4, 3), negative_pairs=True)
    criterion.total(criterion(outputs, targets)).backward()
    for name, parameter in model.decoder.refine.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert all(p.grad.abs().sum() > 0 for p in model.span_head.parameters())
    # the anchors themselves learn through the first layer
    assert model.anchors.grad.abs().sum() > 0


def test_refined_anchors_feed_the_next_layer():
    """The last layer's spans are relative to the anchors the refinement head moved: moving
    the refinement head's output moves the final spans but not the first layer's."""
    model = tiny_model(decoder_layers=2)
    audio, tokens = torch.randn(1, 8, AUDIO_DIM), torch.randn(1, 3, TEXT_DIM)
    with torch.no_grad():
        before = model(audio, ones(1, 8), tokens, ones(1, 3))
        model.decoder.refine.layers[-1].bias += 1.0
        after = model(audio, ones(1, 8), tokens, ones(1, 3))
    torch.testing.assert_close(after["aux_outputs"][0]["pred_spans"],
                               before["aux_outputs"][0]["pred_spans"])
    assert not torch.allclose(after["pred_spans"], before["pred_spans"], atol=1e-3)


def test_quick_preset_and_with_inputs():
    quick = AMDETRConfig.quick()
    assert (quick.hidden_dim, quick.heads, quick.ffn_dim) == (128, 4, 512)
    assert (quick.audio_dim, quick.text_dim) == (256, 384)
    changed = quick.with_inputs(audio_dim=512, text_dim=768)
    assert (changed.audio_dim, changed.text_dim) == (512, 768)
    assert dataclasses.replace(changed, audio_dim=256, text_dim=384) == quick


INT_FIELDS = [f.name for f in dataclasses.fields(AMDETRConfig) if f.type == "int"]


@pytest.mark.parametrize("name", INT_FIELDS)
@pytest.mark.parametrize("value", [0, -2])
def test_config_rejects_non_positive_sizes(name, value):
    with pytest.raises(ValueError):
        tiny_config(**{name: value})


@pytest.mark.parametrize("changes", [
    dict(hidden_dim=36, heads=8),          # 8 heads do not divide 36 (4 does)
    dict(hidden_dim=18, heads=3),          # 3 heads divide 18, 4 does not (anchor embedding)
    dict(dropout=1.0), dict(dropout=-0.1), dict(input_dropout=1.0), dict(input_dropout=-1e-3),
])
def test_config_rejects_bad_values(changes):
    with pytest.raises(ValueError):
        tiny_config(**changes)


def test_config_accepts_edge_values():
    config = tiny_config(dropout=0.0, input_dropout=0.999, heads=1, num_queries=1)
    assert config.dropout == 0.0 and config.heads == 1
    assert tiny_config(hidden_dim=36, heads=3).hidden_dim == 36   # 3 and 4 both divide 36


def test_config_json_round_trip():
    for config in (AMDETRConfig(), AMDETRConfig.paper(), tiny_config(temporal_endpoints=False,
                                                                      dropout=0.25)):
        text = json.dumps(config.to_json())
        assert AMDETRConfig.from_json(json.loads(text)) == config
    assert AMDETRConfig.to_json(AMDETRConfig())["hidden_dim"] == 256
    with pytest.raises(TypeError):
        AMDETRConfig.from_json({**AMDETRConfig().to_json(), "unknown": 1})


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AMDETRConfig().hidden_dim = 3


# ----------------------------------------------------------------------------- attention


def attention_modules(model):
    return [m for m in model.modules() if isinstance(m, Attention)]


def test_kept_weights_path_equals_the_fused_path():
    model = tiny_model(seed=5)
    audio, audio_mask = padded([torch.randn(6, AUDIO_DIM), torch.randn(9, AUDIO_DIM)], 9,
                               seed=0)
    tokens, token_mask = padded([torch.randn(2, TEXT_DIM), torch.randn(4, TEXT_DIM)], 4,
                                seed=1)
    with torch.no_grad():
        fused = model(audio, audio_mask, tokens, token_mask)
        modules = attention_modules(model)
        assert all(m.last_weights is None for m in modules)
        for module in modules:
            module.keep_weights = True
        kept = model(audio, audio_mask, tokens, token_mask)
    assert_same_prediction(kept, fused, frames=9)
    torch.testing.assert_close(kept["saliency_scores"], fused["saliency_scores"], atol=1e-5,
                               rtol=0)
    for module in modules:
        weights = module.last_weights
        assert weights is not None and weights.shape[:2] == (2, module.heads)
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))
        assert (weights >= 0).all()

    layer = model.cross_encoder[0].attention.attention
    assert layer.last_weights.shape == (2, 4, 9, 4)              # frames x tokens
    assert (layer.last_weights[0, ..., 2:] == 0).all()            # item 0 has 2 tokens
    assert (layer.last_weights[0, ..., :2] > 0).all()
    layer = model.encoder[0].attention.attention
    assert layer.last_weights.shape == (2, 4, 10, 10)
    assert (layer.last_weights[0, ..., 1 + 6:] == 0).all()        # item 0 has 6 frames
    assert (layer.last_weights[1] > 0).all()
    layer = model.decoder.layers[0].cross_attention
    assert layer.last_weights.shape == (2, 4, 5, 9)               # K queries x frames
    assert (layer.last_weights[0, ..., 6:] == 0).all()
    layer = model.decoder.layers[0].self_attention
    assert layer.last_weights.shape == (2, 4, 5, 5)               # no mask among queries


def test_attention_with_wider_queries_than_values_by_hand():
    torch.manual_seed(0)
    attention = Attention(query_dim=8, value_dim=4, heads=2, dropout=0.0).eval()
    query, key, value = torch.randn(1, 3, 8), torch.randn(1, 5, 8), torch.randn(1, 5, 4)
    mask = torch.tensor([[True, True, False, True, False]])
    with torch.no_grad():
        fused = attention(query, key, value, mask)
        attention.keep_weights = True
        kept = attention(query, key, value, mask)
    heads = []
    for h in range(2):
        q, k = query[0, :, 4 * h:4 * h + 4], key[0, :, 4 * h:4 * h + 4]
        v = value[0, :, 2 * h:2 * h + 2]
        scores = (q @ k.T / 2.0).masked_fill(~mask[0], float("-inf"))   # sqrt(4) = 2
        heads.append(scores.softmax(-1) @ v)
    expected = attention.out(torch.cat(heads, dim=-1))[None]
    torch.testing.assert_close(fused, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(kept, expected, atol=1e-6, rtol=0)
    assert fused.shape == (1, 3, 4)
    with pytest.raises(ValueError):
        Attention(query_dim=8, value_dim=6, heads=4, dropout=0.0)


# ----------------------------------------------------------------------------- training


# With content queries starting at zero (QD-DETR's tgt = zeros), the first decoder layer's
# self-attention sees identical values for every query, so these weights get exactly zero
# gradient by construction; everything else must learn.
DEAD_AT_START = {"decoder.layers.0.self_q_content.weight",
                 "decoder.layers.0.self_k_content.weight", "decoder.layers.0.self_v.weight"}


def test_gradients_reach_every_parameter_with_negatives():
    torch.manual_seed(0)
    model = AMDETR(tiny_config(num_queries=4)).train()
    audio, audio_mask = padded([torch.randn(9, AUDIO_DIM), torch.randn(6, AUDIO_DIM),
                                torch.randn(8, AUDIO_DIM)], 9, seed=0)
    tokens, token_mask = padded([torch.randn(3, TEXT_DIM), torch.randn(4, TEXT_DIM),
                                 torch.randn(2, TEXT_DIM)], 4, seed=1)
    saliency = torch.zeros(3, 9)
    saliency[:, 2:5] = 1
    targets = MomentTargets([torch.tensor([[0.4, 0.3]]), torch.tensor([[0.5, 0.5], [0.1, 0.1]]),
                             torch.tensor([[0.3, 0.2]])], saliency, audio_mask)
    criterion = SetCriterion()
    out = model(audio, audio_mask, tokens, token_mask, negative_pairs=True)
    losses = criterion(out, targets)
    assert {"loss_span_0", "loss_giou_0", "loss_label_0"} <= set(losses)
    criterion.total(losses).backward()
    silent = set()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        if parameter.grad.abs().max() == 0:
            silent.add(name)
    assert silent <= DEAD_AT_START, silent - DEAD_AT_START


def test_each_decoder_layer_predicts_relative_to_the_refined_anchors():
    """Layer i's spans = sigmoid(logit(ref_i) + span_head(norm(state_i))), with
    ref_0 = the learned anchors and ref_i = sigmoid(logit(ref_{i-1}) + refine(state_{i-1}))."""
    model = tiny_model(decoder_layers=3)
    raw = []
    for layer in model.decoder.layers:
        layer.register_forward_hook(lambda module, args, output: raw.append(output))
    with torch.no_grad():
        out = model(torch.randn(2, 8, AUDIO_DIM), ones(2, 8), torch.randn(2, 3, TEXT_DIM),
                    ones(2, 3))
        layers = [*out["aux_outputs"], out]
        reference = model.anchors.sigmoid().expand(2, -1, -1)
        for state, layer_out in zip(raw, layers, strict=True):
            logit = torch.log(reference.clamp(min=1e-3) / (1 - reference).clamp(min=1e-3))
            expected = (logit + model.span_head(model.decoder.norm(state))).sigmoid()
            torch.testing.assert_close(layer_out["pred_spans"], expected)
            reference = (logit + model.decoder.refine(state)).sigmoid()


# ----------------------------------------------------------------------------- fidelity


def test_the_fidelity_switches_leave_todays_configuration_and_keys_alone():
    """QD-DETR's values are the defaults and stay out of the JSON that run keys hash, so
    every run made before the switches existed keeps its key."""
    for config in (AMDETRConfig(), AMDETRConfig.quick()):
        assert not {"activation", "refinement", "init"} & set(config.to_json())
    before = AMDETRConfig.quick().before_fidelity()
    assert (before.activation, before.refinement, before.init) == (
        "relu", "shared-head", "earlier")
    assert AMDETRConfig.from_json(json.loads(json.dumps(before.to_json()))) == before
    for changes in (dict(activation="gelu"), dict(refinement="none"), dict(init="kaiming")):
        with pytest.raises(ValueError, match="must be one of"):
            tiny_config(**changes)


def test_the_model_before_fidelity_uses_relu_and_no_refinement_head():
    model = tiny_model(**dataclasses.asdict(tiny_config().before_fidelity()))
    assert feed_forward_activations(model) == [nn.ReLU] * 6
    assert model.decoder.refine is None
    today = tiny_model()
    extra = sum(p.numel() for p in today.decoder.refine.parameters())
    assert (sum(p.numel() for p in today.parameters())
            - sum(p.numel() for p in model.parameters())) == extra + 6   # + 6 PReLU slopes


def test_before_fidelity_each_layer_starts_from_the_last_layers_spans_detached():
    """The decode loop of commit f5bef3e: spans_i = sigmoid(logit(a_i) + span_head(norm(
    state_i))) with a_0 the learned anchors and a_{i+1} = spans_i, detached."""
    model = tiny_model(decoder_layers=3, refinement="shared-head").train()
    raw = []
    for layer in model.decoder.layers:
        layer.register_forward_hook(lambda module, args, output: raw.append(output))
    audio, tokens = torch.randn(2, 8, AUDIO_DIM), torch.randn(2, 3, TEXT_DIM)
    torch.manual_seed(1)
    out = model(audio, ones(2, 8), tokens, ones(2, 3))
    anchors = model.anchors.sigmoid().expand(2, -1, -1)
    for index, (state, layer_out) in enumerate(zip(raw, [*out["aux_outputs"], out],
                                                   strict=True)):
        logit = torch.log(anchors.clamp(min=1e-3) / (1 - anchors).clamp(min=1e-3))
        spans = (logit + model.span_head(model.decoder.norm(state))).sigmoid()
        torch.testing.assert_close(layer_out["pred_spans"], spans)
        assert anchors.requires_grad == (index == 0)      # later anchors are detached
        anchors = spans.detach()


def test_the_earlier_init_draws_xavier_on_the_layers_only():
    torch.manual_seed(0)
    earlier = AMDETR(AMDETRConfig.quick(audio_dim=8, text_dim=8).before_fidelity())
    d = earlier.config.hidden_dim
    default_bound = 1 / d ** 0.5           # torch's nn.Linear init, below Xavier's sqrt(3/d)
    for mlp in (earlier.decoder.anchor_to_query, earlier.decoder.query_scale):
        assert mlp.layers[0].weight.abs().max() <= default_bound
    projected = [m for m in earlier.modules() if isinstance(m, ProjectedAttention)]
    # torch's biases, and a Xavier bound per (d, d) matrix, not one (3d, d) draw
    assert all(torch.count_nonzero(m.q.bias) > 0 for m in projected)
    assert max(float(m.q.weight.detach().abs().max()) for m in projected) > (6 / (4 * d)) ** 0.5
    torch.manual_seed(0)
    today = AMDETR(AMDETRConfig.quick(audio_dim=8, text_dim=8))
    assert today.decoder.anchor_to_query.layers[0].weight.abs().max() > default_bound


def test_all_real_keys_give_the_same_attention_as_no_mask():
    """Attention skips a key mask that hides nothing; the numbers must not move."""
    from amr_lib.model.transformer import Attention

    torch.manual_seed(0)
    attention = Attention(16, 16, 4, dropout=0.0).eval()
    q, k, v = torch.randn(3, 5, 16), torch.randn(3, 7, 16), torch.randn(3, 7, 16)
    everything = attention(q, k, v, ones(3, 7))
    assert torch.equal(everything, attention(q, k, v, None))
    hidden = ones(3, 7)
    hidden[1, 4:] = False                      # a padded recording still masks its keys
    masked = attention(q, k, v, hidden)
    assert torch.equal(masked[0], everything[0])
    torch.testing.assert_close(masked[1], attention(q[1:2], k[1:2, :4], v[1:2, :4], None)[0])
