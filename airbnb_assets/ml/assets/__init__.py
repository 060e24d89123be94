"""The ML room's assets: ``ml/price_model`` (:mod:`.model`), ``gold/price_predictions`` (:mod:`.predictions`).

A room's assets live in its ``assets`` module; here a package of two, as one file would pass 300
lines.
"""
