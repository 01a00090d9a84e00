"""Simulation speed on one core: recipes at paper scale, rendering, synthetic corpora.

Targets (issue 3):
- recipes for 51,240 background segments (the paper's training split) in under 30 s;
- rendering mixtures at least 500x real time (60 s of audio in under 0.12 s);
- generating the synthetic corpora of the quick profile in under 60 s.

    python benchmarks/simulation_speed.py [--out FILE.json]

Prints timings and ratios and writes them as JSON
(default: benchmarks/results/simulation_speed.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAPER_SEGMENTS = 51_240           # Clotho-Moment training segments
CLOTHO_DEVELOPMENT_CLIPS = 3_839  # Clotho v2.1 development split
RECIPE_TARGET_S = 30.0
REAL_TIME_TARGET = 500.0
SYNTHESIS_TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixtures", type=int, default=40, help="mixtures rendered")
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks/results/simulation_speed.json")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    import numpy as np

    from amr_lib.corpora.synthetic import SyntheticBackgroundCorpus, SyntheticClipCorpus
    from amr_lib.simulation.algorithm import (
        BackgroundSegment,
        SimulationConfig,
        TrimmedClip,
        sample_recipes,
        segment_backgrounds,
        trim_clips,
    )
    from amr_lib.simulation.mixing import MixtureRenderer

    config = SimulationConfig()
    rng = np.random.default_rng(0)
    lengths = np.clip(np.round(rng.normal(20, 6, CLOTHO_DEVELOPMENT_CLIPS)), 1, 30)
    clips = [TrimmedClip(f"clip{i}", tuple(f"caption {j}" for j in range(5)), 0.0, float(n))
             for i, n in enumerate(lengths)]
    segments = [BackgroundSegment(f"walk{i // 5_000}", float(i % 5_000), 60.0)
                for i in range(PAPER_SEGMENTS)]
    start = time.perf_counter()
    recipes = sample_recipes(segments, clips, config, seed=0)
    recipe_s = time.perf_counter() - start

    start = time.perf_counter()
    clip_corpus = SyntheticClipCorpus(seed=0, sample_rate=config.sample_rate)
    for info in clip_corpus:
        clip_corpus.load(info.clip_id)
    background_corpus = SyntheticBackgroundCorpus(seed=0, sample_rate=config.sample_rate)
    for info in background_corpus:
        background_corpus.load(info.recording_id, 0.0, 1.0)
    synthesis_s = time.perf_counter() - start

    cache_root = REPO / "_build" / "benchmark_cache"
    from amr_lib.storage.cache import ArtifactCache

    trimmed = trim_clips(clip_corpus, "test", config, ArtifactCache(cache_root))
    test_segments = segment_backgrounds(background_corpus, "test", config)
    mixtures = sample_recipes(test_segments, trimmed, config, seed=0)[: args.mixtures]
    cold = MixtureRenderer(SyntheticClipCorpus(seed=0, sample_rate=config.sample_rate),
                           background_corpus, config.sample_rate)
    start = time.perf_counter()
    for recipe in mixtures:
        cold.render(recipe)
    cold_s = (time.perf_counter() - start) / len(mixtures)
    start = time.perf_counter()
    for recipe in mixtures:
        cold.render(recipe)  # clips now in the renderer's memory
    warm_s = (time.perf_counter() - start) / len(mixtures)

    result = {
        "cores": 1,
        "recipes_segments": PAPER_SEGMENTS,
        "recipes_clips": CLOTHO_DEVELOPMENT_CLIPS,
        "recipes_seconds": round(recipe_s, 3),
        "recipes_target_over_measured": round(RECIPE_TARGET_S / recipe_s, 1),
        "recipes_queries": sum(len(r.events) for r in recipes),
        "render_seconds_per_60s_mixture_cold": round(cold_s, 4),
        "render_seconds_per_60s_mixture_warm": round(warm_s, 4),
        "render_real_time_factor_cold": round(config.segment_s / cold_s, 1),
        "render_real_time_factor_warm": round(config.segment_s / warm_s, 1),
        "render_target_real_time_factor": REAL_TIME_TARGET,
        "render_mixtures": len(mixtures),
        "synthetic_corpora_seconds": round(synthesis_s, 2),
        "synthetic_clips": len(clip_corpus),
        "synthetic_background_recordings": len(background_corpus),
        "synthetic_target_over_measured": round(SYNTHESIS_TARGET_S / synthesis_s, 2),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    print(f"recipes: {PAPER_SEGMENTS:,} segments in {recipe_s:.2f} s "
          f"(target {RECIPE_TARGET_S:.0f} s: {result['recipes_target_over_measured']}x under)")
    print(f"rendering: {cold_s * 1000:.1f} ms per 60 s mixture with clip synthesis "
          f"({result['render_real_time_factor_cold']}x real time), {warm_s * 1000:.1f} ms with "
          f"clips in memory ({result['render_real_time_factor_warm']}x; "
          f"target {REAL_TIME_TARGET:.0f}x)")
    print(f"synthetic corpora: {len(clip_corpus)} clips + {len(background_corpus)} "
          f"backgrounds in {synthesis_s:.1f} s (target {SYNTHESIS_TARGET_S:.0f} s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
