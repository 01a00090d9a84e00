"""AM-DETR training speed on CPU (2 threads) and, when CUDA is available, on the GPU.

CPU (issue 5): training samples per second for the quick and the paper configurations on
batches shaped like Clotho-Moment (batch 32, 60 frames, 20 tokens), against the reference
QD-DETR's 31 samples/s at the paper configuration on 2 cores (DESIGN.md section 6). Also
what running the negative pairs through the whole model (decoder included, as the
reference does) would cost, and with ``--profile-run`` the wall time of the quick
profile's whole training (features from the cache) and its test metrics.

GPU: seconds per epoch at Clotho-Moment scale (32,694 training queries of 60 frames,
batch 32, paper configuration, CLAP widths 512/768), with the split resident on the GPU
and bf16 autocast; the target is under 3 s per epoch on an H200.

    python benchmarks/train_speed.py [--profile-run] [--out FILE.json]

Prints the figures and writes them as JSON (default: benchmarks/results/train_speed.json,
or train_speed_gpu.json on CUDA).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CPU_THREADS = 2
REFERENCE_CPU_SAMPLES_PER_S = 31.0          # QD-DETR paper config, 2 cores (DESIGN.md)
GPU_TARGET_S_PER_EPOCH = 3.0
CLOTHO_MOMENT_TRAIN_QUERIES = 32_694
FRAMES, TOKENS, BATCH = 60, 20, 32


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


def samples_per_second(model_config, split, device, precision, steps: int,
                       full_negative_pass: bool = False) -> float:
    """Training throughput over ``steps`` batches after 3 warm-up steps."""
    import torch

    from amr_lib.model.am_detr import AMDETR
    from amr_lib.model.criterion import SetCriterion
    from amr_lib.train import autocast, epoch_batches

    torch.manual_seed(0)
    model = AMDETR(model_config.with_inputs(split.audio_dim, split.text_dim)).to(device)
    criterion = SetCriterion().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    batches = list(epoch_batches(len(split), BATCH, 0, 1, device))
    done = 0
    for index, rows in enumerate(batches[:steps + 3]):
        if index == 3:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, done = time.perf_counter(), 0
        batch = split.batch(rows)
        with autocast(device, precision):
            outputs = model(**batch.model_inputs(negatives=True))
            if full_negative_pass:   # the reference's cost: the decoder runs again
                negative = batch.model_inputs(negatives=True)
                model(negative["audio"], negative["audio_mask"], negative["negative_tokens"],
                      negative["negative_token_mask"])["pred_spans"].sum().mul(0).backward(
                          retain_graph=True)
        losses = criterion(outputs, batch.targets)
        optimizer.zero_grad(set_to_none=True)
        criterion.total(losses).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        done += len(rows)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def cpu_figures(steps: int, profile_run: bool) -> dict:
    import torch

    from amr_lib.model.am_detr import AMDETR, AMDETRConfig, count_parameters

    torch.set_num_threads(CPU_THREADS)
    device = torch.device("cpu")
    result: dict = {"cpu_threads": CPU_THREADS, "batch": BATCH, "frames": FRAMES,
                    "tokens": TOKENS,
                    "reference_samples_per_s_paper_config": REFERENCE_CPU_SAMPLES_PER_S}
    for name, config in (("quick", AMDETRConfig.quick()), ("paper", AMDETRConfig.paper())):
        split = random_split(BATCH * (steps + 3), config.audio_dim, config.text_dim, 256)
        rate = samples_per_second(config, split, device, "fp32", steps)
        result[f"{name}_parameters"] = count_parameters(AMDETR(config))
        result[f"{name}_samples_per_s"] = round(rate, 1)
        print(f"{name:>6} config: {rate:7.1f} samples/s "
              f"({result[f'{name}_parameters']:,} parameters)")
        if name == "paper":
            full = samples_per_second(config, split, device, "fp32", steps,
                                      full_negative_pass=True)
            result["paper_samples_per_s_full_negative_pass"] = round(full, 1)
            result["paper_speedup_vs_reference"] = round(rate / REFERENCE_CPU_SAMPLES_PER_S, 2)
            result["encoder_only_negatives_speedup"] = round(rate / full, 2)
            print(f"        negatives through the whole model: {full:.1f} samples/s; "
                  f"encoder-only negatives are {rate / full:.2f}x faster; "
                  f"{rate / REFERENCE_CPU_SAMPLES_PER_S:.2f}x the reference")
    if profile_run:
        result["quick_profile"] = quick_profile_run()
    return result


def quick_profile_run() -> dict:
    """Train the quick profile in a fresh run folder (features from the cache) and time it."""
    import tempfile

    from amr_lib import experiment
    from amr_lib.profiles import load_profile

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

    from amr_lib.model.am_detr import AMDETR, AMDETRConfig
    from amr_lib.model.criterion import SetCriterion
    from amr_lib.train import TrainingConfig, autocast, epoch_batches

    device = torch.device("cuda")
    config = AMDETRConfig.paper()
    split = random_split(CLOTHO_MOMENT_TRAIN_QUERIES, config.audio_dim, config.text_dim,
                         4096).to(device)
    torch.manual_seed(0)
    model = AMDETR(config).to(device)
    criterion = SetCriterion().to(device)
    training = TrainingConfig()
    optimizer = torch.optim.AdamW(model.parameters(), lr=training.lr,
                                  weight_decay=training.weight_decay)
    times = []
    for epoch in range(1, epochs + 2):              # the first epoch warms up
        torch.cuda.synchronize()
        start = time.perf_counter()
        for rows in epoch_batches(len(split), training.batch_size, 0, epoch, device):
            batch = split.batch(rows)
            with autocast(device, "auto"):
                outputs = model(**batch.model_inputs(negatives=True))
            losses = criterion(outputs, batch.targets)
            optimizer.zero_grad(set_to_none=True)
            criterion.total(losses).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), training.grad_clip)
            optimizer.step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    seconds = min(times[1:])
    print(f"GPU ({torch.cuda.get_device_name()}): {seconds:.2f} s per epoch of "
          f"{CLOTHO_MOMENT_TRAIN_QUERIES} queries (target {GPU_TARGET_S_PER_EPOCH} s)")
    return {"device": torch.cuda.get_device_name(), "precision": "bf16 autocast",
            "train_queries": CLOTHO_MOMENT_TRAIN_QUERIES, "batch": training.batch_size,
            "seconds_per_epoch": round(seconds, 2), "epoch_times_s": [round(t, 2) for t in times],
            "target_s_per_epoch": GPU_TARGET_S_PER_EPOCH,
            "samples_per_s": round(CLOTHO_MOMENT_TRAIN_QUERIES / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed CPU batches")
    parser.add_argument("--epochs", type=int, default=3, help="timed GPU epochs")
    parser.add_argument("--profile-run", action="store_true",
                        help="also train the quick profile and time it (minutes)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import torch

    cuda = torch.cuda.is_available()
    result = {"machine": platform.processor() or platform.machine(),
              "torch": torch.__version__}
    if cuda:
        result["gpu"] = gpu_figures(args.epochs)
    else:
        result["cpu"] = cpu_figures(args.steps, args.profile_run)
    out = args.out or REPO / "benchmarks/results" / (
        "train_speed_gpu.json" if cuda else "train_speed.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
