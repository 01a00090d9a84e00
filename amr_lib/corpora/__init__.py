"""Clip corpora (captioned sound events) and background corpora (long recordings)."""
