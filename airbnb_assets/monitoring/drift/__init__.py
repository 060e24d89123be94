"""Drift: is the day's data still like the serving model's training data, and is the model still good?

Owns the ``monitoring/drift_report`` asset (:mod:`.assets`), its HTML/JSON reports and the
``monitoring/drift_metrics`` history rows, and the pure drift functions: data drift
(:mod:`.data`), model drift (:mod:`.model`) and the Evidently calls both use (:mod:`.evidently`).

May import: ``platform`` (tables, lakehouse, sampling), ``resources``, ``ml.contract`` (the
features), ``ml.serving`` (which version scored the day) and ``ml.train`` (the metric
definitions). Not imported by ``alerts`` or ``dashboard``: they read what this room wrote
(materialization metadata, tables).
"""
