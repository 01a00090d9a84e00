"""How long does `amr retrieve` take on an hour of audio, and how much memory, on 2 threads?

Makes 10-, 30- and 60-minute 16 kHz FLAC recordings (street-like noise with tones), then,
each in a fresh process so that peak memory is its own:

- ``amr retrieve`` on the 60-minute file, timed as a user would (start-up, loading,
  embedding, one query), the fastest of 3 runs, and the imports it pays alone;
- the API: ``Retriever.embed`` + the first query, then a second query on the embedded
  frames, and the peak resident memory, for each length (block-by-block reading keeps it
  flat); and, as the reference in the same run, the one-pass path (the whole file decoded,
  then embedded), which is what ``embed`` did before.

Targets (issue 9): ``amr retrieve`` on 60 minutes under 15 s, the next query under 1 s,
peak memory flat in the recording's length.

    python benchmarks/retrieval_speed.py [--checkpoint CKPT] [--out FILE.json]

Without ``--checkpoint`` it uses the quick profile's model from the cache (training it
first if there is none). Writes benchmarks/results/retrieval_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THREADS = 2
MINUTES = (10, 30, 60)
SAMPLE_RATE = 16_000
TARGET_COMMAND_S, TARGET_NEXT_QUERY_S = 15.0, 1.0
COMMAND_RUNS = 3                # fresh processes per timed command; the fastest counts
QUERIES = ("a dog barks", "a car horn honks twice")

# this process's peak resident memory (VmHWM is per process image: unlike ru_maxrss, it does
# not inherit the parent's peak across fork and exec)
PEAK_MB = r"""
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

# runs in a fresh interpreter: prints one JSON line
MEASURE = PEAK_MB + r"""
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[4]))
from amr_lib.retrieve import Retriever
checkpoint, path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
retriever = Retriever.from_checkpoint(checkpoint)
start = time.perf_counter()
if mode == "one-pass":
    from amr_lib.audio import load_audio
    audio, rate = load_audio(path)
    frames = retriever.encoder.embed_windows(audio, rate, retriever.window)
else:
    frames = retriever.embed(path)
first = retriever.retrieve_frames(frames, sys.argv[5], top_k=5)
embed_and_first_s = time.perf_counter() - start
start = time.perf_counter()
second = retriever.retrieve_frames(frames, sys.argv[6], top_k=5)
next_query_s = time.perf_counter() - start
print(json.dumps({"frames": len(frames), "embed_and_first_query_s": embed_and_first_s,
                  "next_query_s": next_query_s,
                  "peak_rss_mb": peak_mb(),
                  "top": [first[0].to_json(), second[0].to_json()]}))
"""


def make_recording(path: Path, minutes: int) -> None:
    """Noise with a tone burst every 20 s, written in one-minute pieces (little memory)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(minutes)
    t = np.arange(60 * SAMPLE_RATE) / SAMPLE_RATE
    with sf.SoundFile(path, "w", SAMPLE_RATE, 1, subtype="PCM_16") as out:
        for minute in range(minutes):
            piece = 0.05 * rng.standard_normal(len(t))
            for burst in (5, 25, 45):
                inside = (t >= burst) & (t < burst + 2)
                piece[inside] += 0.3 * np.sin(2 * np.pi * (400 + 10 * minute) * t[inside])
            out.write(piece.astype(np.float32))


def quick_checkpoint() -> Path:
    from amr_lib.profiles import load_profile
    from amr_lib.runs import chain as experiment

    run = experiment.train_profile(load_profile("quick"), device="cpu", progress=False)
    return run.run_dir / "best.ckpt"


def child_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(THREADS),
            "TQDM_DISABLE": "1"}


def measure(checkpoint: Path, path: Path, mode: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", MEASURE, str(checkpoint), str(path), mode, str(THREADS),
         *QUERIES], check=True, capture_output=True, text=True, env=child_env())
    return json.loads(output.stdout.strip().splitlines()[-1])


# `amr retrieve ...` exactly as the console script runs it, then its peak memory on stderr
COMMAND = PEAK_MB + r"""
import sys
from amr_lib.cli import main
try:
    status = main(sys.argv[1:])
finally:
    print(f"PEAK_MB {peak_mb()}", file=sys.stderr)
sys.exit(status)
"""


def time_command(checkpoint: Path, path: Path, runs: int = COMMAND_RUNS) -> dict:
    """``amr retrieve`` on ``path``, ``runs`` times in fresh processes: the machines are
    shared, so the fastest run is the figure and every run's time is kept."""
    walls, peaks, other_lines = [], [], 0
    for _ in range(runs):
        start = time.perf_counter()
        output = subprocess.run(
            [sys.executable, "-c", COMMAND, "retrieve", "--checkpoint", str(checkpoint),
             str(path), QUERIES[0], "--top-k", "5"], check=True, capture_output=True,
            text=True, env=child_env())
        walls.append(time.perf_counter() - start)
        lines = output.stderr.strip().splitlines()
        peaks.append(float(lines[-1].split()[1]))
        other_lines = max(other_lines, len(lines) - 1)
    return {"wall_s": round(min(walls), 2), "wall_s_runs": [round(w, 2) for w in walls],
            "peak_rss_mb": round(max(peaks)), "other_stderr_lines": other_lines}


# the imports `amr retrieve` pays before it reads anything
IMPORTS = r"""
import time
start = time.perf_counter()
from amr_lib.cli import main
from amr_lib.retrieve import Retriever
print(time.perf_counter() - start)
"""


def import_seconds(runs: int = COMMAND_RUNS) -> float:
    """Fastest of ``runs`` fresh interpreters importing the CLI and the retriever."""
    return min(float(subprocess.run([sys.executable, "-c", IMPORTS], check=True,
                                    capture_output=True, text=True,
                                    env=child_env()).stdout.strip().splitlines()[-1])
               for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks/results/retrieval_speed.json")
    args = parser.parse_args()
    checkpoint = args.checkpoint or quick_checkpoint()

    result: dict = {"machine": platform.processor() or platform.machine(),
                    "threads": THREADS, "sample_rate": SAMPLE_RATE,
                    "checkpoint": "quick profile" if args.checkpoint is None else "given",
                    "targets": {"command_s": TARGET_COMMAND_S,
                                "next_query_s": TARGET_NEXT_QUERY_S}}
    with tempfile.TemporaryDirectory() as folder:
        recordings = {}
        for minutes in MINUTES:
            recordings[minutes] = Path(folder) / f"walk_{minutes}min.flac"
            make_recording(recordings[minutes], minutes)
        result["import_s"] = round(import_seconds(), 2)
        print(f"imports of amr retrieve: {result['import_s']:.2f} s")
        result["command_60min"] = time_command(checkpoint, recordings[60])
        print(f"amr retrieve, 60 min: {result['command_60min']['wall_s']:.1f} s wall "
              f"(target {TARGET_COMMAND_S:g} s), peak "
              f"{result['command_60min']['peak_rss_mb']} MB")
        for mode in ("blocks", "one-pass"):
            rows = []
            for minutes in MINUTES:
                row = {"minutes": minutes, **measure(checkpoint, recordings[minutes], mode)}
                for key in ("embed_and_first_query_s", "next_query_s", "peak_rss_mb"):
                    row[key] = round(row[key], 3 if key == "next_query_s" else 1)
                rows.append(row)
                print(f"{mode:>8} {minutes:3d} min: embed + first query "
                      f"{row['embed_and_first_query_s']:6.2f} s, next query "
                      f"{row['next_query_s']:.3f} s, peak {row['peak_rss_mb']:.0f} MB")
            result[mode] = rows
    blocks, one_pass = result["blocks"], result["one-pass"]
    result["peak_growth_10_to_60min_mb"] = {
        "blocks": round(blocks[-1]["peak_rss_mb"] - blocks[0]["peak_rss_mb"]),
        "one-pass": round(one_pass[-1]["peak_rss_mb"] - one_pass[0]["peak_rss_mb"])}
    result["peak_ratio_one_pass_over_blocks_60min"] = round(
        one_pass[-1]["peak_rss_mb"] / blocks[-1]["peak_rss_mb"], 2)
    print("peak growth from 10 to 60 min (MB):", result["peak_growth_10_to_60min_mb"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
