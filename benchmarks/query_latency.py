"""A further query on embedded frames: how long with torch's default threads and with one,
on an idle machine and on a busy one?

Issue 23 saw a second query take 1.9 s with the default threads on a busy machine and 44 ms
with one thread. This measures both settings in the same run, in turns (one query each per
round, median of ``--rounds``), first with nothing else running, then while a neighbour
process keeps both cores busy with matrix products (as a notebook kernel, a training run
or a second `amr` command would). It also checks that both settings give the same moments.

    python benchmarks/query_latency.py [--checkpoint CKPT] [--rounds 15] [--out FILE.json]

Without ``--checkpoint`` it uses the quick profile's model from the cache. Writes
benchmarks/results/query_latency.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
MINUTES = 10
SAMPLE_RATE = 16_000
QUERIES = ("a dog barks", "a car horn honks twice")


def busy(stop) -> None:
    """Keep two cores busy with float32 matrix products until ``stop`` is set."""
    torch.set_num_threads(2)
    a = torch.randn(512, 512)
    while not stop.is_set():
        a = (a @ a).clamp_(-1, 1)


def timed_rounds(retriever, frames: np.ndarray, threads: tuple[int, ...], rounds: int
                 ) -> dict[int, list[float]]:
    times: dict[int, list[float]] = {n: [] for n in threads}
    for round_number in range(rounds):
        for n in threads:
            torch.set_num_threads(n)
            start = time.perf_counter()
            retriever.retrieve_frames(frames, QUERIES[round_number % 2], top_k=5)
            times[n].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/query_latency.json"))
    args = parser.parse_args()
    from amr_lib import Retriever

    checkpoint = args.checkpoint
    if checkpoint is None:
        from amr_lib.profiles import load_profile
        from amr_lib.runs.chain import train_profile

        checkpoint = train_profile(load_profile("quick"), "cpu", progress=False).run_dir \
            / "best.ckpt"
    default_threads = torch.get_num_threads()
    retriever = Retriever.from_checkpoint(checkpoint)
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.05, MINUTES * 60 * SAMPLE_RATE).astype(np.float32)
    frames = retriever.embed(audio, SAMPLE_RATE)
    threads = (default_threads, 1)
    same = []
    for query in QUERIES:
        answers = []
        for n in threads:
            torch.set_num_threads(n)
            answers.append(retriever.retrieve_frames(frames, query, top_k=5))
        same.append(answers[0] == answers[1])
    result = {"machine": f"{platform.machine()}, {multiprocessing.cpu_count()} cores",
              "recording_min": MINUTES, "frames": len(frames), "rounds": args.rounds,
              "default_threads": default_threads, "same_moments": all(same)}
    timed_rounds(retriever, frames, threads, 2)                       # warm-up
    spawn = multiprocessing.get_context("spawn")      # a fresh process: no forked OpenMP
    for condition in ("idle", "busy"):
        stop = spawn.Event()
        neighbour = None
        if condition == "busy":
            neighbour = spawn.Process(target=busy, args=(stop,))
            neighbour.start()
            time.sleep(1.0)
        try:
            times = timed_rounds(retriever, frames, threads, args.rounds)
        finally:
            stop.set()
            if neighbour is not None:
                neighbour.join()
        medians = {n: statistics.median(values) for n, values in times.items()}
        result[condition] = {f"{n}_threads_ms": round(1000 * m, 1) for n, m in medians.items()}
        result[condition]["default_over_one_thread"] = round(
            medians[default_threads] / medians[1], 2)
        print(f"{condition}: " + ", ".join(f"{n} thread(s) {1000 * m:.0f} ms"
                                           for n, m in medians.items())
              + f"; default / one = {result[condition]['default_over_one_thread']}",
              flush=True)
    print(f"same moments with both settings: {result['same_moments']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(args.out)


if __name__ == "__main__":
    main()
