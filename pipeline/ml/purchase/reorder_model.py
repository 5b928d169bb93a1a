"""The reorder model's life in the lake: features in `features/purchase/`, versions in
`models/purchase_xgboost/<version>/` (model.json, importance.svg, card.json), the parameter search in
`models/purchase_xgboost/tuning.json`, and the rows it serves.

What gets scored: every candidate (user, product) of the test users, and every feature record that arrived
on the `purchase_features` stream (the newest record of a pair wins over its candidate row).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from pipeline.events.landing import landed_ranges
from pipeline.lake import Lake
from pipeline.ml.model_store import Comparison, ModelStore, new_version
from pipeline.ml.purchase import tuning
from pipeline.ml.purchase.features import FEATURES, KEYS, LABEL
from pipeline.ml.purchase.model import (SEED_PARAMS, Metrics, load_model, save_model, score, split_by_user,
                                        train_xgboost)
from pipeline.ml.purchase.orders import FEATURE_STREAM
from pipeline.ml.streams import STAGED_ZONE, read_staged
from pipeline.web.charts import Chart, ChartPoint, render_chart

if TYPE_CHECKING:
    import xgboost as xgb

MODEL = "purchase_xgboost"
FEATURE_ZONE = ("features", "purchase")
MODEL_FILE, IMPORTANCE_PLOT, TUNING = "model.json", "importance.svg", "tuning.json"
SEARCH_SPLIT_SEED = 7  # the search's own user split of the model's training users (the model's split uses 42)


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


def labelled_split(lake: Lake) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation) of the train users' candidates: 20% of the users held out, as every training does."""
    labelled = read_candidates(lake, "train")
    if labelled.empty:
        raise ValueError("the candidate set has no train rows: are there orders with eval_set 'train'?")
    return split_by_user(labelled)


def tune(lake: Lake, trials: int = 20, seed: int = 42, progress: Callable[[str], None] = print) -> dict:
    """Search the seed's ranges (`tuning.search`) on the model's training users only, split again by user, then
    fit the seed's and the winning parameters on all training users and score both on the model's validation
    users, whom the search never saw: the gain reported is that difference, whatever its sign. The winner is
    adopted: choosing between the two by their score on the model's validation users would make the model's
    reported figures optimistic. Saved as `tuning.json`, whose `adopted` parameters the next training uses."""
    train_pdf, valid_pdf = labelled_split(lake)
    search_train, search_valid = split_by_user(train_pdf, seed=SEARCH_SPLIT_SEED)
    progress(f"searching on {search_train['user_id'].nunique():,} users, validating on "
             f"{search_valid['user_id'].nunique():,}; confirming on {valid_pdf['user_id'].nunique():,} held-out users")
    started = time.perf_counter()
    found = tuning.search(search_train, search_valid, trials, seed, progress=progress)
    search_seconds = time.perf_counter() - started
    confirmed = {"seed": train_xgboost(train_pdf, valid_pdf, {**SEED_PARAMS, **found.seed.params})}
    confirmed["best"] = (confirmed["seed"] if found.best is found.seed
                         else train_xgboost(train_pdf, valid_pdf, {**SEED_PARAMS, **found.best.params}))
    held_out = {name: _brief(result.metrics) | {"rounds": result.rounds} for name, result in confirmed.items()}
    gain = held_out["best"]["auc"] - held_out["seed"]["auc"]
    adopted = {"from": "seed" if found.best is found.seed else "winner", "params": found.best.params,
               "why": f"the best validation AUC of the search; held-out AUC {gain:+.5f} over the seed's"}
    document = {
        "adopted": adopted,
        "best": found.best.params, "best_trial": found.best.number, "seed_params": found.seed.params,
        "objective": "validation AUC of the search's held-out users (early stopping on their log loss)",
        "trials": [t.row() for t in found.trials], "edges": found.edges,
        "ranges": {name: [r.low, r.high] for name, r in tuning.SEED_RANGES.items()},
        "gain": {"search_auc": found.best.auc - found.seed.auc,
                 "held_out_auc": gain,
                 "held_out_log_loss": held_out["seed"]["log_loss"] - held_out["best"]["log_loss"]},
        "held_out": held_out,
        "curves": {"seed": list(found.seed.curve), "best": list(found.best.curve)},
        "data": {"search_train_users": int(search_train["user_id"].nunique()),
                 "search_valid_users": int(search_valid["user_id"].nunique()),
                 "held_out_users": int(valid_pdf["user_id"].nunique()),
                 "search_train_rows": len(search_train), "search_valid_rows": len(search_valid)},
        "random_seed": seed, "random_trials": trials, "search_seconds": round(search_seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
    store(lake).put(TUNING, document)
    return document


def _brief(metrics: Metrics) -> dict[str, float]:
    return {"auc": metrics.auc, "log_loss": metrics.log_loss}


def tuned_params(lake: Lake) -> tuple[dict, str]:
    """The parameters to train with, and where they come from: the last search's adopted ones, or the seed's."""
    document = store(lake).get(TUNING)
    if document is None:
        return dict(SEED_PARAMS), "the seed (no search yet)"
    adopted = document["adopted"]
    return {**SEED_PARAMS, **adopted["params"]}, f"tuning.json: {adopted['from']} ({adopted['why']})"


def train(lake: Lake, params: Mapping[str, object] = SEED_PARAMS, num_round: int = 500,
          early_stopping_rounds: int = 10, progress: Callable[[str], None] = print) -> dict:
    """Train on the train users' candidates (20% of users held out for validation), save a new version and
    return its card. The primary metric is validation AUC."""
    train_pdf, valid_pdf = labelled_split(lake)
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


def tuning_charts(document: dict) -> dict[str, tuple[str, str]]:
    """A search (`tune`'s document) as pictures, name → (caption, SVG): each trial's validation AUC beside the best
    so far; the validation log loss per boosting round of the seed's parameters and of the winner; the validation
    AUC of every trial against each tuned parameter."""
    trials, best = document["trials"], document["best_trial"]
    so_far, progression = float("-inf"), []
    for row in trials:
        so_far = max(so_far, row["auc"])
        progression += [ChartPoint(str(row["trial"]), str(row["auc"]), "trial", f"trial {row['trial']} "
                                   f"({row['stage']}): AUC {row['auc']:.5f}"),
                        ChartPoint(str(row["trial"]), str(so_far), "best so far")]
    charts = {"search": ("validation AUC per trial (trial 0: the seed's parameters)",
                         Chart("search", "Validation AUC per trial, and the best so far", "line", progression))}
    curves = [ChartPoint(str(i + 1), str(loss), group)
              for group, curve in (("seed parameters", document["curves"]["seed"]),
                                   (f"winner (trial {best})", document["curves"]["best"]))
              for i, loss in enumerate(curve) if i % max(1, len(curve) // 60) == 0 or i == len(curve) - 1]
    charts["learning_curves"] = ("validation log loss per boosting round", Chart(
        "learning-curves", "Validation log loss per round: seed parameters and winner", "line", curves))
    for name in tuning.SEED_RANGES:
        charts[name] = (f"validation AUC against {name}", Chart(
            f"auc-{name}", f"Validation AUC against {name} (every trial)", "scatter",
            [ChartPoint(str(row[name]), str(row["auc"])) for row in trials]))
    return {name: (caption, str(render_chart(chart, standalone=True))) for name, (caption, chart) in charts.items()}
