"""A trained AM-DETR end to end, each stage cached:

- :mod:`~amr_lib.runs.chain`: a profile's chain (corpora, simulation, encoder, features,
  training, test predictions);
- :mod:`~amr_lib.runs.released`: training and prediction on the authors' released
  features.
"""
