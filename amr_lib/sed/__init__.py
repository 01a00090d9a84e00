"""Zero-shot sound event detection with moment retrieval.

- :mod:`~amr_lib.sed.scoring`: the frame rule (moments to 1 s frames, one rule for
  references and predictions) and micro precision, recall and F1;
- :mod:`~amr_lib.sed.recordings`: SED recordings (several events of several classes, one
  prompt per class) simulated from a profile's corpora;
- :mod:`~amr_lib.sed.detectors`: AM-DETR prompted per class, the sliding window, and the
  supervised frame classifier they are measured against.
"""
