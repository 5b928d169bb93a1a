"""On-request purchase scoring: a (user, product) pair the predictions table does not hold is scored by the serving
model from the current feature tables, as the seed's API did (its Lambda read the pair's features and invoked the
model endpoint).

The API keeps the serving booster and the 18 features of every candidate pair (`features/purchase/candidates`: each
product a user bought in a prior order, train and test users alike) in memory, indexed by a sorted array of
`user_id << 32 | product_id`: about 80 bytes a pair, so 90 MB for Instacart's 1.3 million. Both are reloaded in a
thread when `serving.json` names another version or the candidate files change, looked at every REFRESH_SECONDS
at most by a request that finds them due, which does not wait for it (only the very first load is waited for).
A pair is scored with `inplace_predict` on its one row, in a thread, so the event loop keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.fs as pafs

from pipeline.lake import Lake
from pipeline.ml.purchase import reorder_model
from pipeline.ml.purchase.features import FEATURES, KEYS

if TYPE_CHECKING:
    import xgboost as xgb

REFRESH_SECONDS = 5.0
logger = logging.getLogger(__name__)


class Unscorable(LookupError):
    """Why a pair cannot be scored on request, in words for the 404."""


@dataclass(frozen=True)
class Scored:
    probability: float
    model_version: str


@dataclass(frozen=True)
class _Loaded:
    version: str
    booster: xgb.Booster
    keys: np.ndarray  # sorted int64 user_id << 32 | product_id
    features: np.ndarray  # float32, FEATURES in order, one row per key

    def row(self, user_id: int, product_id: int) -> int:
        key = (user_id << 32) | product_id
        at = int(np.searchsorted(self.keys, key))
        if at < len(self.keys) and self.keys[at] == key:
            return at
        first, after = np.searchsorted(self.keys, [user_id << 32, (user_id + 1) << 32])
        if first == after:
            raise Unscorable(f"user {user_id} has no prior orders in the feature tables")
        raise Unscorable(f"user {user_id} never bought product {product_id} in a prior order, so the pair has no "
                         f"features (only such pairs are reorder candidates)")


def _load(lake: Lake, version: str) -> _Loaded:
    dataset = lake.dataset(*reorder_model.feature_parts("candidates"))
    table = dataset.to_table(columns=[*KEYS, *FEATURES])
    keys = (table.column("user_id").to_numpy().astype(np.int64) << 32) | table.column("product_id").to_numpy()
    order = np.argsort(keys, kind="stable")
    features = np.column_stack([table.column(name).to_numpy(zero_copy_only=False).astype(np.float32)
                                for name in FEATURES])  # nulls become NaN: xgboost's missing value
    booster = reorder_model.load_booster(lake, version)
    booster.set_param({"nthread": 1})  # one row a call: threads would cost more than they give
    return _Loaded(version, booster, keys[order], np.ascontiguousarray(features[order]))


class PurchaseScorer:
    """The serving model and the candidate features, kept current for scoring single pairs."""

    def __init__(self, lake: Lake, refresh_seconds: float = REFRESH_SECONDS):
        self.lake, self.refresh_seconds = lake, refresh_seconds
        self._loaded: _Loaded | None = None
        self._source: tuple | None = None  # the serving version and candidate files `_loaded` reflects
        self._checked = -math.inf
        self._refresh: asyncio.Task | None = None

    async def score(self, user_id: int, product_id: int) -> Scored:
        """The pair's reorder probability from the serving model, or Unscorable saying why there is none."""
        await self._current()
        loaded = self._loaded
        if loaded is None:
            raise Unscorable("there is no serving purchase model with feature tables to score it (run the "
                             "train_purchase_model job)")
        at = loaded.row(user_id, product_id)
        probability = await asyncio.to_thread(loaded.booster.inplace_predict, loaded.features[at:at + 1])
        return Scored(float(probability[0]), loaded.version)

    def start(self) -> None:
        """Begin loading now (e.g. at start-up), so the first request finds the model ready."""
        self._checked = time.monotonic()
        self._refresh = asyncio.create_task(asyncio.to_thread(self._reload))

    async def _current(self) -> None:
        if self._refresh is None and time.monotonic() - self._checked >= self.refresh_seconds:
            self.start()
        refresh = self._refresh
        if refresh is not None and (refresh.done() or self._source is None):
            # The first load is waited for: until it ends there is nothing to answer from.
            await refresh
            self._refresh = None

    def _reload(self) -> None:
        """Load the serving version and the candidates if either changed; on failure (e.g. Spark is rewriting
        the candidates) keep what is loaded and try again at the next check."""
        try:
            version = reorder_model.store(self.lake).serving()
            selector = pafs.FileSelector(self.lake.path(*reorder_model.feature_parts("candidates")),
                                         recursive=True, allow_not_found=True)
            files = tuple(sorted((i.path, i.size, i.mtime_ns) for i in self.lake.filesystem.get_file_info(selector)
                                 if i.type == pafs.FileType.File and i.path.endswith(".parquet")))
            source = (version, files)
            if source == self._source:
                return
            self._loaded = _load(self.lake, version) if version and files else None
            self._source = source
            if self._loaded:
                logger.info(f"on-request purchase scoring: model {version}, {len(self._loaded.keys):,} pairs")
        except Exception:  # noqa: BLE001 - a failed refresh must not fail the requests: they keep the last state
            logger.exception("on-request purchase scoring: reloading the model or the features failed")
