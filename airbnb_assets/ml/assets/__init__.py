"""The ML room's assets: ``ml/price_model`` and ``gold/price_predictions``.

A room's assets live in its ``assets`` module; here a package of two, as one file would pass 300
lines: :mod:`airbnb_assets.ml.assets.model` and :mod:`airbnb_assets.ml.assets.predictions`.
"""
