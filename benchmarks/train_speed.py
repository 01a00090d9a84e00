"""AM-DETR training speed on CPU (2 threads) and, when CUDA is available, on the GPU.

CPU: training samples per second for the quick and the paper configurations (768/768
inputs, as the paper's MS-CLAP features) on batches shaped like Clotho-Moment (batch 32,
60 frames, 20 tokens); what running the negative pairs through the whole model (decoder
included, as QD-DETR does) would cost; a ``torch.profiler`` breakdown of one
paper-configuration step; and, with ``--lighthouse DIR`` (a checkout of line/lighthouse),
the reference QD-DETR trained on the same batches in the same run, so the ratio is
measured, not remembered. The paper configuration, its full-negative variant, the
reference and the paper configuration with the speed-ups of 2026-12 undone (all, then one
at a time: :class:`PreviousOps`, which says what each bought) are timed in turns, a batch
each per round, so drift in a shared machine's speed touches them alike.
``--profile-run`` also times the quick profile's whole training (features from the cache)
and reports its test metrics. ``--before FILE`` embeds the figures of an earlier run of
this script (e.g. on the previous commit); those drift with the machine.

GPU: seconds per epoch at Clotho-Moment scale (32,694 training queries of 60 frames,
batch 32, paper configuration), with the split resident on the GPU and bf16 autocast; the
target is under 3 s per epoch on an H200.

    python benchmarks/train_speed.py [--lighthouse DIR] [--profile-run] [--before FILE]
                                     [--out FILE.json]

Prints the figures and writes them as JSON (default: benchmarks/results/train_speed.json,
or train_speed_gpu.json on CUDA).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CPU_THREADS = 2
GPU_TARGET_S_PER_EPOCH = 3.0
TARGET_SPEEDUP_VS_REFERENCE = 1.6
CLOTHO_MOMENT_TRAIN_QUERIES = 32_694
FRAMES, TOKENS, BATCH = 60, 20, 32
PAPER_INPUTS = (768, 768)           # MS-CLAP 2023 audio (before projection) and tokens


def random_split(queries: int, audio_dim: int, text_dim: int, recordings: int):
    """A :class:`MomentSplit` of random features with one random moment per query."""
    import numpy as np

    from amr_lib.lighthouse_jsonl import MomentAnnotation
    from amr_lib.model.data import MomentSplit

    rng = np.random.default_rng(0)
    frames = [rng.standard_normal((FRAMES, audio_dim), dtype=np.float32)
              for _ in range(recordings)]
    tokens = [rng.standard_normal((TOKENS, text_dim), dtype=np.float32)
              for _ in range(queries)]
    annotations = []
    for qid in range(queries):
        start = float(rng.integers(0, FRAMES - 10))
        annotations.append(MomentAnnotation(qid, "q", float(FRAMES), f"v{qid % recordings}",
                                            np.array([[start, start + 8.0]])))
    return MomentSplit.from_arrays(frames, [f"v{i}" for i in range(recordings)], tokens,
                                   annotations, 1.0)


class AMDETRStep:
    """One AM-DETR training step (forward, losses, backward, clip, AdamW) on a batch."""

    def __init__(self, model_config, split, device, precision: str = "fp32",
                 full_negative_pass: bool = False) -> None:
        import torch

        from amr_lib.model.am_detr import AMDETR
        from amr_lib.model.criterion import SetCriterion
        from amr_lib.train import make_optimizer

        torch.manual_seed(0)
        self.split, self.device, self.precision = split, device, precision
        self.full_negative_pass = full_negative_pass
        self.model = AMDETR(model_config.with_inputs(split.audio_dim, split.text_dim)).to(
            device).train()
        self.criterion = SetCriterion().to(device)
        self.optimizer = make_optimizer(self.model, 1e-4, 1e-4, device)

    def __call__(self, rows) -> None:
        import torch

        from amr_lib.train import autocast

        batch = self.split.batch(rows)
        with autocast(self.device, self.precision):
            if self.full_negative_pass:
                outputs = self.forward_with_negatives_decoded(batch)
            else:
                outputs = self.model(**batch.model_inputs(negatives=True))
            total = self.criterion.total(self.criterion(outputs, batch.targets))
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 0.1)
        self.optimizer.step()

    def forward_with_negatives_decoded(self, batch) -> dict:
        """The model's forward pass, but with the decoder also run on the negative pairs
        (and its output discarded), which is the work QD-DETR does."""
        from amr_lib.model.am_detr import with_negative_pairs

        model, size = self.model, len(batch.audio)
        audio_mask = batch.audio_mask.bool()
        frames, text = model.project(batch.audio, audio_mask, batch.tokens)
        frames, pair_mask, text, token_mask = with_negative_pairs(
            frames, audio_mask, text, batch.token_mask.bool())
        memory, saliency, _ = model.encode(frames, pair_mask, text, token_mask)
        decoded = model.decode(memory, pair_mask)
        outputs = {"pred_logits": decoded["pred_logits"][:size],
                   "pred_spans": decoded["pred_spans"][:size],
                   "aux_outputs": [{k: v[:size] for k, v in aux.items()}
                                   for aux in decoded["aux_outputs"]]}
        outputs["saliency_scores"] = saliency[:size]
        outputs["saliency_scores_neg"] = saliency[size:]
        return outputs


class LighthouseStep:
    """The reference: Lighthouse's QD-DETR (``build_model``) with the paper's settings,
    fed the same batches (features L2-normalised, temporal endpoints appended, as its data
    loader does). Its code is imported from ``checkout``, never copied here."""

    def __init__(self, checkout: Path, split, device) -> None:
        import torch

        sys.path.insert(0, str(checkout))
        from lighthouse.common.qd_detr import build_model

        args = argparse.Namespace(
            hidden_dim=256, dropout=0.1, nheads=8, dim_feedforward=1024, enc_layers=2,
            dec_layers=2, position_embedding="sine", max_q_l=32, max_v_l=75,
            input_dropout=0.5, t_feat_dim=split.text_dim, v_feat_dim=split.audio_dim + 2,
            aux_loss=True, num_queries=10, span_loss_type="l1", n_input_proj=2,
            set_cost_span=10, set_cost_giou=1, set_cost_class=4, span_loss_coef=10,
            giou_loss_coef=1, label_loss_coef=4, lw_saliency=1, eos_coef=0.1,
            saliency_margin=0.2, device=str(device))
        torch.manual_seed(0)
        self.model, self.criterion = build_model(args)
        self.model.to(device).train()
        self.weights = self.criterion.weight_dict
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4,
                                           weight_decay=1e-4)
        self.split = split

    def __call__(self, rows) -> None:
        import torch
        import torch.nn.functional as F

        from amr_lib.model.am_detr import temporal_endpoints

        batch = self.split.batch(rows)
        audio = torch.cat((F.normalize(batch.audio, dim=-1),
                           temporal_endpoints(batch.audio_mask)), dim=-1)
        tokens = F.normalize(batch.tokens, dim=-1)
        generator = torch.Generator().manual_seed(int(rows[0]))
        inside, outside = batch.targets.saliency > 0, batch.targets.saliency == 0
        targets = {
            "span_labels": [{"spans": spans} for spans in batch.targets.spans_cxw],
            "saliency_pos_labels": torch.multinomial(inside.float(), 2, True, generator=generator),
            "saliency_neg_labels": torch.multinomial(outside.float() * batch.audio_mask,
                                                     2, True, generator=generator),
            "saliency_all_labels": batch.targets.saliency,
        }
        outputs = self.model(tokens, batch.token_mask.float(), audio,
                             batch.audio_mask.float())
        losses = self.criterion(outputs, targets)
        total = sum(self.weights[k] * v for k, v in losses.items() if k in self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 0.1)
        self.optimizer.step()


class PreviousOps:
    """An :class:`AMDETRStep` with some of the CPU speed-ups of 2026-12 undone, to time what
    each bought in the same run: ``"mask"`` (the dropout mask converted from booleans by
    torch) and ``"attention"`` (all-real key masks applied instead of skipped). Both give the
    same numbers as the current code (the tests check it), only slower. (A hand-written PReLU
    was timed here too; at 0.994x it bought nothing and was replaced by ``nn.PReLU``, which
    leaves the numerics fingerprint unchanged.)"""

    UNDO = ("mask", "attention")

    def __init__(self, step: AMDETRStep, undo: tuple[str, ...]) -> None:
        self.step, self.undo = step, undo

    def __call__(self, rows) -> None:
        from amr_lib.model import dropout, transformer

        current = dropout.keep_mask, transformer.hiding_mask
        if "mask" in self.undo:
            dropout.keep_mask = previous_keep_mask
        if "attention" in self.undo:
            transformer.hiding_mask = lambda key_mask: key_mask     # always applied
        try:
            self.step(rows)
        finally:
            dropout.keep_mask, transformer.hiding_mask = current


def previous_keep_mask(shape, p: float, dtype):
    """The dropout mask as it was built before: booleans converted by torch."""
    import torch

    from amr_lib.model.dropout import LEVELS, random_bits

    bits, threshold = random_bits(shape, p)
    kept = torch.from_numpy(bits >= threshold).view(shape)
    return kept.to(dtype).mul_(LEVELS / (LEVELS - threshold))


def interleaved_rates(steps: dict, size: int, rounds: int) -> dict[str, float]:
    """Samples per second of each CPU training step in ``steps`` (name -> step), timed in
    turns: every round times one batch of each, in an order that rotates, so a change in
    the shared machine's speed during the run touches all of them alike. Each step gets 2
    warm-up batches; the median of its ``rounds`` timings is reported."""
    import statistics

    import torch

    from amr_lib.train import epoch_batches

    batches = list(epoch_batches(size, BATCH, 0, 1, torch.device("cpu")))
    if len(batches) < rounds + 2:
        raise ValueError(f"{size} samples give {len(batches)} batches, "
                         f"fewer than {rounds} rounds + 2 warm-ups")
    names = list(steps)
    for name in names:
        for rows in batches[:2]:
            steps[name](rows)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for index, rows in enumerate(batches[2:rounds + 2]):
        turn = index % len(names)
        for name in names[turn:] + names[:turn]:
            start = time.perf_counter()
            steps[name](rows)
            seconds[name].append(time.perf_counter() - start)
    return {name: len(batches[2]) / statistics.median(times)
            for name, times in seconds.items()}


def step_flops(step, rows) -> int:
    """Floating-point operations of one training step (forward and backward), as counted by
    ``torch.utils.flop_counter`` (matrix products and attention)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step(rows)
    return counter.get_total_flops()


def matmul_rate(threads: int) -> float:
    """This machine's fp32 matrix-product speed (FLOP/s) at the shape of AM-DETR's FFN
    (3,840 rows x 256 -> 1,024), best of 20, measured in the same run."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(3840, 256), torch.randn(256, 1024)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 3840 * 256 * 1024 / best


def profile_breakdown(step, size: int, device, steps: int = 5) -> dict:
    """``torch.profiler`` over ``steps`` steps: share of time in the forward pass, the
    losses, backward and the optimiser, and the ten operators of most self CPU time."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    from amr_lib.train import epoch_batches

    batches = list(epoch_batches(size, BATCH, 0, 2, device))[:steps + 1]
    step(batches[0])
    model, criterion, optimizer = step.model, step.criterion, step.optimizer
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for rows in batches[1:]:
            batch = step.split.batch(rows)
            with record_function("1 forward"):
                outputs = model(**batch.model_inputs(negatives=True))
            with record_function("2 losses (matching included)"):
                total = criterion.total(criterion(outputs, batch.targets))
            with record_function("3 backward"):
                optimizer.zero_grad(set_to_none=True)
                total.backward()
            with record_function("4 clip + AdamW"):
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
                optimizer.step()
    events = prof.key_averages()
    regions = {e.key: e.cpu_time_total for e in events if e.key[:2] in ("1 ", "2 ", "3 ", "4 ")}
    whole = sum(regions.values())
    operators = sorted((e for e in events if not e.key[:2].strip().isdigit()),
                       key=lambda e: e.self_cpu_time_total, reverse=True)[:10]
    total_self = sum(e.self_cpu_time_total for e in events)
    return {
        "steps": steps,
        "ms_per_step": round(whole / steps / 1000, 1),
        "share_of_step": {k: round(v / whole, 3) for k, v in sorted(regions.items())},
        "top_operators_by_self_cpu": [
            {"op": e.key, "share": round(e.self_cpu_time_total / total_self, 3),
             "calls_per_step": e.count // steps} for e in operators],
    }


def cpu_figures(steps: int, lighthouse: Path | None, profile_run: bool) -> dict:
    import torch

    from amr_lib.model.am_detr import AMDETR, AMDETRConfig, count_parameters
    from amr_lib.train import epoch_batches

    torch.set_num_threads(CPU_THREADS)
    device = torch.device("cpu")
    result: dict = {"cpu_threads": CPU_THREADS, "batch": BATCH, "frames": FRAMES,
                    "tokens": TOKENS, "paper_inputs": list(PAPER_INPUTS)}
    rounds = 3 * steps
    size = BATCH * (rounds + 2)
    quick = AMDETRConfig.quick()
    split = random_split(size, quick.audio_dim, quick.text_dim, 256)
    rate = interleaved_rates({"quick": AMDETRStep(quick, split, device)}, size, rounds)["quick"]
    result["quick_parameters"] = count_parameters(AMDETR(quick))
    result["quick_samples_per_s"] = round(rate, 1)
    print(f" quick config: {rate:7.1f} samples/s ({result['quick_parameters']:,} parameters)")

    config = AMDETRConfig.paper(*PAPER_INPUTS)
    split = random_split(size, config.audio_dim, config.text_dim, 256)
    steps_by_name = {"paper": AMDETRStep(config, split, device),
                     "full_negative_pass": AMDETRStep(config, split, device,
                                                      full_negative_pass=True)}
    for undo in [PreviousOps.UNDO, *((part,) for part in PreviousOps.UNDO)]:
        steps_by_name["previous:" + "+".join(undo)] = PreviousOps(
            AMDETRStep(config, split, device), undo)
    if lighthouse is not None:
        steps_by_name["reference"] = LighthouseStep(lighthouse, split, device)
    rates = interleaved_rates(steps_by_name, size, rounds)
    previous = rates["previous:" + "+".join(PreviousOps.UNDO)]
    result["paper_samples_per_s_previous_ops"] = round(previous, 1)
    result["paper_speedup_vs_previous_ops"] = round(rates["paper"] / previous, 3)
    result["speedup_bought_by"] = {part: round(rates["paper"] / rates[f"previous:{part}"], 3)
                                   for part in PreviousOps.UNDO}
    print(f" paper config with the previous ops: {previous:.1f} samples/s; now "
          f"{rates['paper'] / previous:.3f}x; each part: {result['speedup_bought_by']}")
    rate, full = rates["paper"], rates["full_negative_pass"]
    result["timing"] = (f"median of {rounds} batches each, the configurations timed in "
                        "turns (one batch each per round) on the same batches; figures "
                        "from separate runs (before) drift with the shared machine")
    result["paper_parameters"] = count_parameters(AMDETR(config))
    result["paper_samples_per_s"] = round(rate, 1)
    result["paper_samples_per_s_full_negative_pass"] = round(full, 1)
    print(f" paper config: {rate:7.1f} samples/s ({result['paper_parameters']:,} parameters)")
    print(f"        negatives through the whole model: {full:.1f} samples/s")
    if lighthouse is not None:
        reference, reference_rate = steps_by_name["reference"], rates["reference"]
        result["reference"] = "Lighthouse QD-DETR (line/lighthouse), same batches"
        result["reference_parameters"] = count_parameters(reference.model)
        result["reference_samples_per_s"] = round(reference_rate, 1)
        result["paper_speedup_vs_reference"] = round(rate / reference_rate, 2)
        result["full_negative_pass_speedup_vs_reference"] = round(full / reference_rate, 2)
        result["target_speedup_vs_reference"] = TARGET_SPEEDUP_VS_REFERENCE
        print(f"reference QD-DETR: {reference_rate:.1f} samples/s "
              f"({result['reference_parameters']:,} parameters); ours "
              f"{rate / reference_rate:.2f}x (target {TARGET_SPEEDUP_VS_REFERENCE}x), "
              f"full negatives {full / reference_rate:.2f}x")
    rate_flops = matmul_rate(CPU_THREADS)
    rows = next(iter(epoch_batches(size, BATCH, 0, 1, device)))
    flops = step_flops(AMDETRStep(config, split, device), rows)
    result["matmul_gflops_per_s"] = round(rate_flops / 1e9, 1)
    result["paper_gflop_per_step"] = round(flops / 1e9, 1)
    result["paper_matmul_bound_samples_per_s"] = round(BATCH * rate_flops / flops, 1)
    print(f"        {flops / 1e9:.1f} GFLOP per step; at this machine's "
          f"{rate_flops / 1e9:.0f} GFLOP/s for matrix products, at most "
          f"{result['paper_matmul_bound_samples_per_s']} samples/s")
    if lighthouse is not None:
        reference_flops = step_flops(LighthouseStep(lighthouse, split, device), rows)
        result["reference_gflop_per_step"] = round(reference_flops / 1e9, 1)
    result["paper_profile"] = profile_breakdown(AMDETRStep(config, split, device),
                                                size, device)
    print("profile of a paper step:", json.dumps(result["paper_profile"]["share_of_step"]))
    if profile_run:
        result["quick_profile"] = quick_profile_run()
    return result


def quick_profile_run() -> dict:
    """Train the quick profile in a fresh run folder (features from the cache) and time it."""
    import tempfile

    from amr_lib.profiles import load_profile
    from amr_lib.runs import chain as experiment

    profile = load_profile("quick")
    encoder = experiment.feature_encoder(profile)
    for split in ("train", "valid", "test"):       # features first: not part of the timing
        experiment.prepare(profile, split, encoder)
    with tempfile.TemporaryDirectory() as runs:
        start = time.perf_counter()
        run = experiment.train_profile(profile, device="cpu", progress=False, runs_root=runs)
        seconds = time.perf_counter() - start
    figures = {"train_seconds": round(seconds, 1), "epochs": len(run.result.history),
               "best_epoch": run.result.best_epoch, "queries": run.summary["queries"],
               "test": run.test_metrics, "valid": run.result.best_metrics}
    print(f"quick profile: {seconds:.0f} s for {figures['epochs']} epochs on "
          f"{figures['queries']['train']} queries; test mAP {run.test_metrics['mAP']:.2f}, "
          f"R1@0.5 {run.test_metrics['R1@0.5']:.2f}")
    return figures


def gpu_figures(epochs: int) -> dict:
    import torch

    from amr_lib.model.am_detr import AMDETRConfig
    from amr_lib.train import epoch_batches

    device = torch.device("cuda")
    config = AMDETRConfig.paper(*PAPER_INPUTS)
    split = random_split(CLOTHO_MOMENT_TRAIN_QUERIES, config.audio_dim, config.text_dim,
                         4096).to(device)
    step = AMDETRStep(config, split, device, precision="auto")
    times = []
    for epoch in range(1, epochs + 2):              # the first epoch warms up
        torch.cuda.synchronize()
        start = time.perf_counter()
        for rows in epoch_batches(len(split), BATCH, 0, epoch, device):
            step(rows)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    seconds = min(times[1:])
    print(f"GPU ({torch.cuda.get_device_name()}): {seconds:.2f} s per epoch of "
          f"{CLOTHO_MOMENT_TRAIN_QUERIES} queries (target {GPU_TARGET_S_PER_EPOCH} s)")
    return {"device": torch.cuda.get_device_name(), "precision": "bf16 autocast",
            "train_queries": CLOTHO_MOMENT_TRAIN_QUERIES, "batch": BATCH,
            "seconds_per_epoch": round(seconds, 2), "epoch_times_s": [round(t, 2) for t in times],
            "target_s_per_epoch": GPU_TARGET_S_PER_EPOCH,
            "samples_per_s": round(CLOTHO_MOMENT_TRAIN_QUERIES / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed CPU batches per repeat")
    parser.add_argument("--epochs", type=int, default=3, help="timed GPU epochs")
    parser.add_argument("--lighthouse", type=Path,
                        help="a checkout of line/lighthouse: time its QD-DETR on the same batches")
    parser.add_argument("--profile-run", action="store_true",
                        help="also train the quick profile and time it (minutes)")
    parser.add_argument("--before", type=Path,
                        help="JSON of an earlier run of this script, embedded for comparison")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import torch

    cuda = torch.cuda.is_available()
    result = {"machine": platform.processor() or platform.machine(),
              "torch": torch.__version__}
    if cuda:
        result["gpu"] = gpu_figures(args.epochs)
    else:
        result["cpu"] = cpu_figures(args.steps, args.lighthouse, args.profile_run)
    if args.before:
        before = json.loads(args.before.read_text(encoding="utf-8"))
        result["before"] = before
        for key in ("quick_samples_per_s", "paper_samples_per_s"):
            old, new = before.get("cpu", {}).get(key), result.get("cpu", {}).get(key)
            if old and new:
                result["cpu"][f"{key}_speedup_vs_before"] = round(new / old, 2)
    out = args.out or REPO / "benchmarks/results" / (
        "train_speed_gpu.json" if cuda else "train_speed.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
