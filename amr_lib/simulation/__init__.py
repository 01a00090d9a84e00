"""Clotho-Moment style simulation (the paper's Algorithm 1) and the statistics of moment
benchmarks.

- :mod:`~amr_lib.simulation.trimming`: a clip's audible span, in whole frames;
- :mod:`~amr_lib.simulation.algorithm`: background segments, recipes (Algorithm 1), JSONL;
- :mod:`~amr_lib.simulation.mixing`: recipes rendered to mixtures;
- :mod:`~amr_lib.simulation.clotho_moment`: a simulated split (recipes, annotations,
  renderer), cached and written to a folder;
- :mod:`~amr_lib.simulation.classes`: each query's sound class, and which classes a
  caption of another names (the absent texts drawn by class);
- :mod:`~amr_lib.simulation.statistics`: events per segment, starts and lengths, against
  the released Clotho-Moment files;
- :mod:`~amr_lib.simulation.benchmark_stats`: what any annotation file holds
  (``amr describe``).
"""
