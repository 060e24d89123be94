"""airbnb_assets: San Francisco Airbnb price lakehouse and ML pipeline as a Dagster code location.

Data: Inside Airbnb, insideairbnb.com.
"""
