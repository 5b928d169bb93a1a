"""The reorder model's life in the lake: features in `features/purchase/`, versions in
`models/purchase_xgboost/<version>/` (model.json, importance.svg, card.json), and the rows it serves.

What gets scored: every candidate (user, product) of the test users, and every feature record that arrived
on the `purchase_features` stream (the newest record of a pair wins over its candidate row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from html import escape

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from pipeline.events.landing import landed_ranges
from pipeline.lake import Lake
from pipeline.ml.model_store import Comparison, ModelStore, new_version
from pipeline.ml.purchase.features import FEATURES, KEYS, LABEL
from pipeline.ml.purchase.model import SEED_PARAMS, load_model, save_model, score, split_by_user, train_xgboost
from pipeline.ml.purchase.orders import FEATURE_STREAM
from pipeline.ml.streams import STAGED_ZONE, read_staged

if TYPE_CHECKING:
    import xgboost as xgb

MODEL = "purchase_xgboost"
FEATURE_ZONE = ("features", "purchase")
MODEL_FILE, IMPORTANCE_PLOT = "model.json", "importance.svg"


def feature_parts(name: str) -> tuple[str, ...]:
    return (*FEATURE_ZONE, name)


def store(lake: Lake) -> ModelStore:
    return ModelStore(lake, MODEL)


def read_candidates(lake: Lake, eval_set: str | None = None) -> pd.DataFrame:
    """The candidate set (written by Spark), optionally only the rows of one eval_set ('train' or 'test')."""
    dataset = lake.dataset(*feature_parts("candidates"))
    if dataset is None:
        raise FileNotFoundError("no purchase candidates in the lake: materialise features/purchase/candidates")
    where = None if eval_set is None else pc.field("eval_set") == eval_set
    return dataset.to_table(columns=[*KEYS, "eval_set", *FEATURES, LABEL], filter=where).to_pandas()


def train(lake: Lake, params: Mapping[str, object] = SEED_PARAMS, num_round: int = 500,
          early_stopping_rounds: int = 10, progress: Callable[[str], None] = print) -> dict:
    """Train on the train users' candidates (20% of users held out for validation), save a new version and
    return its card. The primary metric is validation AUC."""
    labelled = read_candidates(lake, "train")
    if labelled.empty:
        raise ValueError("the candidate set has no train rows: are there orders with eval_set 'train'?")
    train_pdf, valid_pdf = split_by_user(labelled)
    progress(f"training on {len(train_pdf):,} rows ({train_pdf['user_id'].nunique():,} users), validating on "
             f"{len(valid_pdf):,} ({valid_pdf['user_id'].nunique():,} users)")
    result = train_xgboost(train_pdf, valid_pdf, params, num_round, early_stopping_rounds)
    version, models = new_version(), store(lake)
    lake.write_file(save_model(result.booster), *models.parts(version, MODEL_FILE))
    lake.write_file(importance_svg(result.importance, version).encode(), *models.parts(version, IMPORTANCE_PLOT))
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    return models.save_card(
        version,
        params={**config, "num_round": num_round, "early_stopping_rounds": early_stopping_rounds},
        metrics=result.metrics.as_dict(), baseline=result.baseline.as_dict(),
        primary_metric="auc", higher_is_better=True,
        data={"train_rows": result.train_rows, "valid_rows": result.valid_rows,
              "train_users": int(train_pdf["user_id"].nunique()), "valid_users": int(valid_pdf["user_id"].nunique()),
              "rounds": result.rounds, "trained_rounds": result.trained_rounds, "seconds": round(result.seconds, 2),
              "row_rounds_per_second": round(result.train_rows * result.trained_rounds / result.seconds)},
        extra={"features": list(FEATURES), "baseline_score": "up_order_rate",
               "importance_gain": result.importance},
    )


def beats_baseline(card: dict) -> Comparison:
    """Is the version's validation AUC above that of its baseline score (up_order_rate)?"""
    auc, baseline = card["metrics"]["auc"], card["baseline"]["auc"]
    passed = auc > baseline
    return Comparison(passed, f"AUC {auc:.4f} {'>' if passed else 'is not above'} {baseline:.4f} of the "
                              f"up_order_rate baseline")


def load_booster(lake: Lake, version: str) -> xgb.Booster:
    with lake.filesystem.open_input_stream(lake.path(*store(lake).parts(version, MODEL_FILE))) as f:
        return load_model(f.read())


def stream_records(lake: Lake, ranges=None) -> pd.DataFrame:
    """Feature records landed from the stream (all, or those of `ranges`), the newest per pair."""
    if ranges is None:
        ranges = landed_ranges(lake, (*STAGED_ZONE, FEATURE_STREAM.topic))
    records = read_staged(lake, FEATURE_STREAM, ranges).to_pandas()
    return records.drop_duplicates(list(KEYS), keep="last").reset_index(drop=True)


def serving_rows(lake: Lake) -> pd.DataFrame:
    """The pairs the predictions table holds: test users' candidates, overridden or extended by the stream."""
    candidates = read_candidates(lake, "test")[[*KEYS, *FEATURES]]
    streamed = stream_records(lake)
    merged = pd.concat([candidates, streamed[[*KEYS, *FEATURES]]], ignore_index=True)
    return merged.drop_duplicates(list(KEYS), keep="last").reset_index(drop=True)


def predict(booster: xgb.Booster, rows: pd.DataFrame) -> pd.DataFrame:
    """(user_id, product_id, probability) for rows with the keys and the FEATURES columns."""
    out = rows[list(KEYS)].astype("int64").reset_index(drop=True)
    out["probability"] = score(booster, rows).astype(np.float64) if len(rows) else np.empty(0)
    return out


def features_of(lake: Lake, user_id: int, product_id: int) -> tuple[pd.DataFrame, str]:
    """The newest features of one pair (one row, or none) and where they came from."""
    streamed = stream_records(lake)
    hit = streamed[(streamed["user_id"] == user_id) & (streamed["product_id"] == product_id)]
    if len(hit):
        return hit, f"stream {FEATURE_STREAM.topic}"
    dataset = lake.dataset(*feature_parts("candidates"))
    if dataset is None:
        return hit, "nothing (no candidate set)"
    table = dataset.to_table(columns=[*KEYS, "eval_set", *FEATURES],
                             filter=(pc.field("user_id") == user_id) & (pc.field("product_id") == product_id))
    found = table.to_pandas()
    return found, f"candidate set ({found['eval_set'].iloc[0]} user)" if len(found) else "nothing"


def importance_svg(importance: Mapping[str, float], title: str) -> str:
    """A horizontal bar chart of average gain per feature, largest first (plain SVG: no plotting library)."""
    items = sorted(importance.items(), key=lambda kv: -kv[1])
    top = max((v for _, v in items), default=0.0) or 1.0
    row, left, width = 22, 250, 400
    height = row * len(items) + 50
    bars = []
    for i, (name, gain) in enumerate(items):
        y = 35 + i * row
        length = width * gain / top
        bars.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
                    f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="#4f7cac"/>'
                    f'<text x="{left + length + 6:.1f}" y="{y + 15}">{gain:.2f}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
            f'font-family="sans-serif" font-size="12"><text x="10" y="20" font-size="14">Feature importance '
            f'(average gain per split), {escape(title)}</text>{"".join(bars)}</svg>')
