"""airbnb_assets: San Francisco Airbnb price lakehouse and ML pipeline as a Dagster code location.

Data: Inside Airbnb, insideairbnb.com.
"""

from importlib import metadata as _metadata

try:
    #: The installed version: the git tag it was built from (``v1.2.0`` -> ``1.2.0``), see CHANGELOG.md.
    __version__ = _metadata.version("airbnb_assets")
except _metadata.PackageNotFoundError:  # a checkout that is not installed
    __version__ = "0.0.0+unknown"
