"""ML: the feature contract, training with a baseline, MLflow registry and Spark scoring."""
