"""Feature extraction speed: the offline encoder on 2 CPU cores, and CLAP on a GPU.

Target (issue 4): the offline contrastive encoder embeds a 60 s recording with 1 s windows
in under 0.2 s on 2 CPU cores (at least 300x real time). With `--clap-model DIR` on a
machine with CUDA, also measures CLAP recordings per second.

    python benchmarks/feature_speed.py [--clap-model DIR] [--out FILE.json]

Prints timings and ratios and writes them as JSON
(default: benchmarks/results/feature_speed.json).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECORDING_S = 60.0
TARGET_S = 0.2
CPU_THREADS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--clap-model", help="local CLAP folder (GPU measurement)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/feature_speed.json")
    args = parser.parse_args()

    import numpy as np
    import torch

    from amr_lib.audio import SAMPLE_RATE
    from amr_lib.features.contrastive import embed_windows, untrained_model
    from amr_lib.features.contrastive_training import TrainConfig
    from amr_lib.features.windows import WindowConfig

    torch.set_num_threads(CPU_THREADS)
    model = untrained_model(TrainConfig().model, seed=0).eval()
    audio = np.random.default_rng(0).standard_normal(int(RECORDING_S * SAMPLE_RATE)
                                                     ).astype(np.float32) * 0.1
    window = WindowConfig()
    embed_windows(model, audio, SAMPLE_RATE, window)  # warm-up
    start = time.perf_counter()
    for _ in range(args.repeats):
        frames = embed_windows(model, audio, SAMPLE_RATE, window)
    seconds = (time.perf_counter() - start) / args.repeats
    result = {
        "cpu_threads": CPU_THREADS,
        "recording_s": RECORDING_S,
        "window_s": window.window_s,
        "hop_s": window.hop_s,
        "frames": int(frames.shape[0]),
        "embed_dim": int(frames.shape[1]),
        "encoder_parameters": sum(p.numel() for p in model.parameters()),
        "seconds_per_recording": round(seconds, 4),
        "real_time_factor": round(RECORDING_S / seconds, 1),
        "windows_per_second": round(frames.shape[0] / seconds, 1),
        "target_seconds": TARGET_S,
        "target_over_measured": round(TARGET_S / seconds, 2),
        "machine": platform.machine(),
        "torch": torch.__version__,
    }
    print(f"contrastive encoder: {seconds * 1000:.1f} ms per {RECORDING_S:.0f} s recording on "
          f"{CPU_THREADS} threads = {result['real_time_factor']}x real time, "
          f"{result['windows_per_second']} windows/s (target {TARGET_S} s: "
          f"{result['target_over_measured']}x under)")
    if args.clap_model:
        result["clap"] = clap_throughput(args.clap_model, audio, SAMPLE_RATE)
        print(f"CLAP on {result['clap']['device']}: "
              f"{result['clap']['recordings_per_second']} recordings/s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


def clap_throughput(model_folder: str, audio, sample_rate: int, recordings: int = 20) -> dict:
    """Recordings per second through CLAP on the best available device."""
    import torch

    from amr_lib.features.clap import ClapEncoder, default_device

    device = default_device()
    clap = ClapEncoder.from_pretrained(model_folder, device=device, batch_size=60)
    clap.embed_windows(audio, sample_rate)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(recordings):
        clap.embed_windows(audio, sample_rate)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / recordings
    return {"device": device, "seconds_per_recording": round(seconds, 4),
            "recordings_per_second": round(1 / seconds, 2)}


if __name__ == "__main__":
    main()
