"""Gold: the model-ready feature table, one row per listing and snapshot."""
