"""The studies behind the book's tables, one module each, over one results module.

- :mod:`~amr_lib.experiments.results`: JSON, provenance, seed spreads and row reading;
- :mod:`~amr_lib.experiments.table1`: Table I (``amr experiment table1``), with the blind
  controls of :mod:`~amr_lib.experiments.controls`;
- :mod:`~amr_lib.experiments.ablations`: window, data and feature studies;
- :mod:`~amr_lib.experiments.transfer`: sim-to-real, with
  :mod:`~amr_lib.experiments.paraphrases`;
- :mod:`~amr_lib.experiments.occurrences`: queries with zero, one or several moments;
- :mod:`~amr_lib.experiments.sed`: zero-shot sound event detection.
"""
