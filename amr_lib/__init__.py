"""amr_lib: language-based audio moment retrieval (Munakata et al., ICASSP 2025).

Modules follow the data flow: corpora -> simulate -> features -> model / baseline ->
predictions (Lighthouse JSONL) -> metrics. See DESIGN.md for the map.
"""

__version__ = "0.1.0"
