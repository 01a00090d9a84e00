"""Audio and text features: log-mel front end, sliding windows, encoders, feature store."""
