"""Market context: what the other listings of the same snapshot cost, never the listing's own price.

A model trained on earlier snapshots carries their price level; the scored snapshot itself says
where the market is now. For every row, :func:`market_context` computes from the *other* priced
rows of its snapshot (leave-one-out) the median log price of its room type city-wide (the market
level) and of its neighbourhood × room type group, shrunk towards the room type's level when the
group is small, with the group's size. :class:`MarketRelativeRegressor` learns the price relative
to the market level and multiplies it back, so a market that moved is followed, not extrapolated.

Used by the market study (:mod:`airbnb_assets.ml.backtest`, ``airbnb backtest --market``), not yet by
the registered model. Imports only numpy, pandas and scikit-learn, like the model's own modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

#: Pseudo-count of the shrinkage: a group of n other listings weighs n / (n + PRIOR) of its median.
PRIOR = 20.0
#: The columns :func:`market_context` adds (log dollars, except the count).
LEVEL = "mkt_level"
GROUP_REL = "mkt_group_rel"
GROUP_N = "mkt_group_n"
ROOM_REL = "mkt_room_rel"
COLUMNS = (LEVEL, GROUP_REL, GROUP_N, ROOM_REL)
#: What the booster sees (the level itself is the target's unit, not a feature).
FEATURES = (GROUP_REL, GROUP_N, ROOM_REL)
#: How a row's context was obtained.
SOURCE = "mkt_source"


def loo_median(values: pd.Series, groups: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group median without the row itself, and how many values it is over.

    Rows whose value is missing take the median of all of their group's values (there is nothing
    of theirs to leave out). A group with no other value gives ``NaN`` and a count of 0.
    """
    frame = pd.DataFrame({"v": values.to_numpy(dtype="float64"), "g": groups.to_numpy()})
    frame["g"] = frame["g"].astype(object).where(frame["g"].notna(), "__missing__")
    priced = frame[frame["v"].notna()].sort_values(["g", "v"], kind="stable")
    sorted_values = priced["v"].to_numpy()
    sizes = priced.groupby("g", sort=False)["v"].transform("size").to_numpy()
    starts = np.arange(len(priced)) - priced.groupby("g", sort=False).cumcount().to_numpy()
    rank = priced.groupby("g", sort=False).cumcount().to_numpy()
    m = sizes - 1  # values left once the row's own is out

    def at(j: np.ndarray) -> np.ndarray:  # the j-th remaining value: skip the row's own position
        j = np.clip(j, 0, None)
        return sorted_values[np.clip(starts + j + (j >= rank), 0, len(sorted_values) - 1)]

    lo, hi = at((m - 1) // 2), at(m // 2)
    median = np.where(m > 0, np.where(m % 2 == 1, lo, (at(m // 2 - 1) + hi) / 2), np.nan)
    out_median = np.full(len(frame), np.nan)
    out_n = np.zeros(len(frame))
    out_median[priced.index.to_numpy()] = median
    out_n[priced.index.to_numpy()] = m
    # unpriced rows: the plain median of their group's priced values
    whole = priced.groupby("g")["v"].agg(["median", "size"])
    unpriced = frame["v"].isna().to_numpy()
    if unpriced.any():
        looked = whole.reindex(frame.loc[unpriced, "g"])
        out_median[unpriced] = looked["median"].to_numpy(dtype="float64")
        out_n[unpriced] = looked["size"].fillna(0).to_numpy(dtype="float64")
    return out_median, out_n


@dataclass
class MarketSnapshot:
    """The context of one snapshot as lookup tables: the fallback for a day without prices."""

    city: float
    rooms: dict[Any, float] = field(default_factory=dict)
    groups: dict[tuple[Any, Any], tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: pd.DataFrame, price: str = "price") -> MarketSnapshot:
        """Medians of log price by room type and by neighbourhood × room type of priced ``rows``."""
        priced = rows[rows[price].notna() & (rows[price] > 0)]
        log = pd.Series(np.log(priced[price].to_numpy("float64")), index=priced.index)
        groups = log.groupby([priced["neighbourhood"], priced["room_type"]]).agg(["median", "size"])
        return cls(
            city=float(log.median()) if len(log) else float("nan"),
            rooms=log.groupby(priced["room_type"]).median().to_dict(),
            groups={
                (k[0], k[1]): (float(v["median"]), float(v["size"]))  # type: ignore[index]
                for k, v in groups.iterrows()
            },
        )

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The context columns of ``frame``'s rows looked up in this snapshot's tables."""
        room = frame["room_type"].map(self.rooms).astype("float64").fillna(self.city)
        keys = list(zip(frame["neighbourhood"], frame["room_type"], strict=True))
        group = np.array([self.groups.get(k, (np.nan, 0.0))[0] for k in keys], dtype="float64")
        n = np.array([self.groups.get(k, (np.nan, 0.0))[1] for k in keys], dtype="float64")
        return _columns(frame.index, room.to_numpy(), group, n, self.city, "training")


def _columns(
    index: pd.Index, room: np.ndarray, group: np.ndarray, n: np.ndarray, city: float, source: str
) -> pd.DataFrame:
    weight = n / (n + PRIOR)
    rel = np.where(np.isnan(group), 0.0, weight * (group - room))
    return pd.DataFrame(
        {LEVEL: room, GROUP_REL: rel, GROUP_N: n, ROOM_REL: room - city, SOURCE: source}, index=index
    )


def market_context(
    frame: pd.DataFrame, price: str = "price", fallback: MarketSnapshot | None = None
) -> pd.DataFrame:
    """The market-context columns of one snapshot's rows, leaving each row's own price out.

    With fewer than 2 priced rows the snapshot says nothing of its market: ``fallback`` (the
    context of the model's last training snapshot) gives the columns, with ``mkt_source`` =
    ``training``; otherwise ``mkt_source`` is ``snapshot``.
    """
    prices = frame[price].astype("float64") if price in frame else pd.Series(np.nan, index=frame.index)
    log = pd.Series(np.log(prices.where(prices > 0).to_numpy("float64")), index=frame.index)
    if int(log.notna().sum()) < 2:
        if fallback is None:
            raise ValueError("no priced rows to take the market from, and no fallback context")
        return fallback.apply(frame)
    room, _ = loo_median(log, frame["room_type"])
    city, _ = loo_median(log, pd.Series(0, index=frame.index))
    room = np.where(np.isnan(room), city, room)
    group, n = loo_median(log, frame["neighbourhood"].astype(str) + "\x1f" + frame["room_type"].astype(str))
    return _columns(frame.index, room, group, n, float(np.nanmedian(city)), "snapshot")


def with_market_context(rows: pd.DataFrame, price: str = "price") -> pd.DataFrame:
    """``rows`` with the context columns, computed snapshot by snapshot (training and backtests)."""
    parts = [market_context(part, price) for _, part in rows.groupby("snapshot_date", sort=False)]
    return rows.join(pd.concat(parts)) if parts else rows


class MarketRelativeRegressor(RegressorMixin, BaseEstimator):
    """Fit ``regressor`` on the price relative to the row's market level; predict dollars.

    ``X`` carries :data:`LEVEL` (log dollars); the inner regressor sees the price divided by
    ``exp(level)`` (times 100, an index) and multiplies its prediction back.
    """

    def __init__(self, regressor: Any = None) -> None:
        self.regressor = regressor

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> MarketRelativeRegressor:
        """Fit on the market-relative price index."""
        level = np.exp(X[LEVEL].to_numpy(dtype="float64"))
        self.regressor_ = clone(self.regressor).fit(X, np.asarray(y, dtype="float64") / level * 100.0)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted prices in dollars."""
        check_is_fitted(self, "regressor_")
        return np.asarray(self.regressor_.predict(X)) / 100.0 * np.exp(X[LEVEL].to_numpy(dtype="float64"))
