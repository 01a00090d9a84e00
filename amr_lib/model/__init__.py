"""Audio Moment DETR: QD-DETR on audio features (model, matcher, criterion, post-processing)."""
