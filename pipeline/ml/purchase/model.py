"""The seed's XGBoost reorder model: user-level split, training with early stopping, evaluation against the
`up_order_rate` baseline, scoring, model bytes for the lake, and the parser of the Kafka feature records.

Deviations from the seed, and why:
- validation is a random 20% of *users* (the seed takes the first 20,000 rows), so no user's history is on
  both sides and the validation score is honest;
- the seed reports no metric (its test labels are all 0); here AUC, log loss and best-threshold F1 are
  reported on the validation users, beside the same metrics for `up_order_rate` used as a score;
- tree_method hist and 2 threads (the seed ran SageMaker's container on 8 vCPUs); early stopping watches
  log loss, the objective's own score (xgboost stops on the last of `eval_metric`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.ml.purchase.features import BASELINE_FEATURE, FEATURES, LABEL

if TYPE_CHECKING:  # imported where it is used: the code location loads this module, and every run pays for it
    import xgboost as xgb

SEED_PARAMS: Mapping[str, object] = MappingProxyType({
    "max_depth": 5, "eta": 0.1, "gamma": 4, "min_child_weight": 6, "subsample": 0.8,
    "objective": "binary:logistic", "eval_metric": ("auc", "logloss"),
    "tree_method": "hist", "nthread": 2, "seed": 42,
})
_EPS = 1e-15  # log loss clips probabilities to [eps, 1 - eps], as is customary


@dataclass(frozen=True)
class Metrics:
    rows: int
    positives: int
    auc: float  # NaN when only one class is present
    log_loss: float
    f1: float  # the best F1 over all thresholds
    threshold: float  # predict 1 when score >= threshold reaches that F1 (NaN without positives)

    def as_dict(self) -> dict[str, float]:
        return {"rows": self.rows, "positives": self.positives, "auc": self.auc, "log_loss": self.log_loss,
                "f1": self.f1, "threshold": self.threshold}


@dataclass(frozen=True)
class TrainResult:
    booster: xgb.Booster  # trimmed to the best iteration: scoring needs no iteration range
    best_iteration: int  # 0-based, as xgboost counts
    trained_rounds: int  # rounds run before early stopping ended training
    metrics: Metrics  # the model on the validation users
    baseline: Metrics  # up_order_rate as a score on the same rows
    importance: dict[str, float]  # average gain per split, every feature (0 when never used)
    curve: tuple[float, ...]  # validation log loss after each trained round (empty unless it is an eval_metric)
    train_rows: int
    valid_rows: int
    seconds: float  # matrix building and boosting

    @property
    def rounds(self) -> int:
        return self.best_iteration + 1


def to_matrix(pdf: pd.DataFrame) -> np.ndarray:
    """The FEATURES columns as a C-contiguous float32 matrix, nulls as NaN (xgboost's missing value)."""
    return np.ascontiguousarray(pdf.loc[:, list(FEATURES)].to_numpy(dtype=np.float32, na_value=np.nan))


def _labels(pdf: pd.DataFrame) -> np.ndarray:
    label = pdf[LABEL]
    if label.isna().any():
        raise ValueError(f"{int(label.isna().sum())} rows have no label: train on eval_set 'train' rows only")
    return label.to_numpy(dtype=np.float32)


def split_by_user(pdf: pd.DataFrame, validation_share: float = 0.2,
                  seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation): a random `validation_share` of the users, all of their rows, is held out. Users
    are drawn from their sorted ids, so the split does not depend on the row order."""
    users = np.unique(pdf["user_id"].to_numpy())
    held_out = np.random.default_rng(seed).choice(users, size=round(len(users) * validation_share), replace=False)
    mask = pdf["user_id"].isin(held_out).to_numpy()
    return pdf[~mask], pdf[mask]


def train_xgboost(train_pdf: pd.DataFrame, valid_pdf: pd.DataFrame, params: Mapping[str, object] = SEED_PARAMS,
                  num_round: int = 500, early_stopping_rounds: int = 10) -> TrainResult:
    """Boost on train_pdf until the validation log loss has not improved for `early_stopping_rounds` rounds."""
    import xgboost as xgb

    config = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    start = time.perf_counter()
    names = list(FEATURES)
    # QuantileDMatrix bins straight from the float32 matrix (hist needs no other copy). The validation set is
    # only predicted on, which is faster from a plain DMatrix than from a binned one.
    dtrain = xgb.QuantileDMatrix(to_matrix(train_pdf), label=_labels(train_pdf), feature_names=names)
    valid_x, valid_y = to_matrix(valid_pdf), _labels(valid_pdf)
    dvalid = xgb.DMatrix(valid_x, label=valid_y, feature_names=names)
    # Only the validation set is evaluated each round: train metrics on a million rows would cost a sort a round.
    history: dict = {}
    booster = xgb.train(config, dtrain, num_boost_round=num_round, evals=[(dvalid, "validation")],
                        early_stopping_rounds=early_stopping_rounds, evals_result=history, verbose_eval=False)
    trained = booster.num_boosted_rounds()
    best = booster.best_iteration if early_stopping_rounds else trained - 1
    booster = booster[: best + 1]
    seconds = time.perf_counter() - start
    gain = booster.get_score(importance_type="gain")
    return TrainResult(
        booster=booster, best_iteration=best, trained_rounds=trained,
        metrics=evaluate(valid_y, score(booster, valid_x)),
        baseline=evaluate(valid_y, valid_pdf[BASELINE_FEATURE].fillna(0.0).to_numpy()),
        importance={name: float(gain.get(name, 0.0)) for name in FEATURES},
        curve=tuple(float(v) for v in history["validation"].get("logloss", ())),
        train_rows=len(train_pdf), valid_rows=len(valid_pdf), seconds=seconds,
    )


def score(booster: xgb.Booster, data: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Reorder probabilities for a frame with the FEATURES columns, or a matrix with them in that order."""
    matrix = to_matrix(data) if isinstance(data, pd.DataFrame) else np.asarray(data, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != len(FEATURES):
        raise ValueError(f"expected a matrix of {len(FEATURES)} feature columns, got shape {matrix.shape}")
    return booster.inplace_predict(matrix)


def evaluate(labels: np.ndarray | pd.Series, scores: np.ndarray | pd.Series) -> Metrics:
    """AUC (Mann-Whitney, ties share their average rank), log loss and the best F1 over thresholds."""
    y = np.asarray(labels, dtype=np.float64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if len(y) != len(s) or len(y) == 0:
        raise ValueError(f"need as many labels as scores, and some: {len(y)} labels, {len(s)} scores")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    positives = int(y.sum())
    negatives = len(y) - positives

    order = np.argsort(s, kind="stable")
    ordered = s[order]
    new_value = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(new_value)
    ends = np.r_[starts[1:], len(s)]  # a tie group holds 1-based ranks starts+1 .. ends
    ranks = np.empty(len(s))
    ranks[order] = ((starts + 1 + ends) / 2)[np.cumsum(new_value) - 1]
    auc = ((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
           if positives and negatives else float("nan"))

    p = np.clip(s, _EPS, 1 - _EPS)
    log_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    # Thresholds at each distinct score, highest first; predicting 1 for score >= t makes `predicted` positives.
    true_positives = np.cumsum(y[order][::-1])
    last_of_tie = len(s) - 1 - starts[::-1]  # in descending order, where each tie group ends
    predicted = last_of_tie + 1
    f1 = 2 * true_positives[last_of_tie] / (predicted + positives)
    best = int(np.argmax(f1))
    threshold = float(ordered[starts[::-1][best]]) if positives else float("nan")
    return Metrics(len(y), positives, float(auc), log_loss, float(f1[best]), threshold)


def save_model(booster: xgb.Booster, path: str | Path | None = None) -> bytes:
    """The booster as xgboost JSON bytes (what the lake stores, local or S3), also written to `path` if given."""
    raw = bytes(booster.save_raw(raw_format="json"))
    if path is not None:
        Path(path).write_bytes(raw)
    return raw


def load_model(source: bytes | bytearray | str | Path) -> xgb.Booster:
    """A booster from JSON bytes (e.g. read from S3) or from a local file path."""
    import xgboost as xgb

    raw = source if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return booster


# --- Kafka feature records: {"user_id": "..", "product_id": "..", "features": "v1,...,v18"} ---------------

REJECT_REASONS = ("not_json", "not_object", "missing_user_id", "bad_user_id", "missing_product_id",
                  "bad_product_id", "missing_features", "features_not_text", "wrong_feature_count",
                  "non_numeric_feature")
_ID = re.compile(r"\d{1,18}")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MISSING = ("", "nan")  # how a CSV writer spells a null feature (e.g. user_reorder_ratio)


@dataclass(frozen=True)
class ParsedRecord:
    user_id: int
    product_id: int
    features: tuple[float, ...]  # in FEATURES order; NaN for a missing value


@dataclass(frozen=True)
class Rejected:
    reason: str  # one of REJECT_REASONS
    detail: str = ""


def _id(value: object) -> int | None:
    """The seed's schema sends ids as strings; integers are accepted too. Anything else is not an id."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _ID.fullmatch(value.strip()):
        return int(value.strip())
    return None


def parse_feature_record(value: bytes | str | None) -> ParsedRecord | Rejected:
    """Parse one record value; never raises. `features` is the registered schema's key, `feature` (singular)
    the one the seed's producer actually sent: both are accepted, `features` first."""
    try:
        record = json.loads(value)
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return Rejected("not_json", type(exc).__name__)
    if not isinstance(record, dict):
        return Rejected("not_object", type(record).__name__)
    ids = {}
    for key in ("user_id", "product_id"):
        if record.get(key) is None:
            return Rejected(f"missing_{key}")
        ids[key] = _id(record[key])
        if ids[key] is None:
            return Rejected(f"bad_{key}", repr(record[key])[:80])
    text = record["features"] if "features" in record else record.get("feature")
    if text is None:
        return Rejected("missing_features")
    if not isinstance(text, str):
        return Rejected("features_not_text", type(text).__name__)
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != len(FEATURES):
        return Rejected("wrong_feature_count", f"{len(parts)} values, expected {len(FEATURES)}")
    features = []
    for name, part in zip(FEATURES, parts, strict=True):
        if part.lower() in _MISSING:
            features.append(float("nan"))
        elif _NUMBER.fullmatch(part):
            features.append(float(part))
        else:
            return Rejected("non_numeric_feature", f"{name}={part[:40]!r}")
    return ParsedRecord(ids["user_id"], ids["product_id"], tuple(features))
