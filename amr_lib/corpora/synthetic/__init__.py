"""The embedded synthetic corpora: procedural sound events and walking-tour ambience.

``corpus`` holds the two corpus classes; ``sounds`` the class registry and clip renderer
(generators in ``nature`` and ``devices``, building blocks in ``dsp``); ``params`` the
per-clip parameters; ``captions`` and ``caption_words`` the captions; ``ambience`` the
background walks.
"""

from amr_lib.corpora.synthetic.corpus import SyntheticBackgroundCorpus, SyntheticClipCorpus

__all__ = ["SyntheticBackgroundCorpus", "SyntheticClipCorpus"]
