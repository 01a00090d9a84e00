"""Where results live on disk: atomic file writes, the content-addressed cache, model
checkpoints and JSON Lines records (the lowest layer: it imports nothing of amr_lib)."""
