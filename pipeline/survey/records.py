"""The student records of the seed's analysis plan (seed-facts §6, `data-analyser.md`): a schema richer than the
survey form (grades, absences, whether the student stopped, who hired them, ...), read from a CSV file, and a
generator of such files with planted effects that the analysis questions (pipeline/survey/questions.py) must find.

CSV columns, all read as text:

- student_id: unique; country: A–F; campus: `<country>_<A–F>`;
- country_status: developed, developing or under-developed, one status per country;
- grades: numbers on the 0–20 scale separated by `;`, at least one;
- absences, contracts: integers ≥ 0; distance: km from home, a number ≥ 0;
- has_stopped, has_pro_contract: yes or no;
- referer: friends, website, fair or social media;
- hired_by: a company, empty when not hired; alternative_choice: a competitor school (ULB, VUB, ...), empty when
  none.

Reading cleans like the survey's cleaning (pipeline/survey/cleaning.py): text trimmed, country and campus
lowercased so that records join with submissions, yes/no as booleans, empty as null, grades as their mean and
count. A row that breaks a rule is quarantined with every reason (`<column>: <rule>`), never dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

RECORD_COLUMNS = ("student_id", "country", "campus", "country_status", "grades", "absences", "has_stopped",
                  "referer", "hired_by", "has_pro_contract", "alternative_choice", "contracts", "distance")
# The cleaned records: `grades` becomes `mean_grade` and `grade_count`.
CLEAN_COLUMNS = ("student_id", "country", "campus", "country_status", "mean_grade", "grade_count", "absences",
                 "has_stopped", "referer", "hired_by", "has_pro_contract", "alternative_choice", "contracts",
                 "distance")
STATUSES = ("developed", "developing", "under-developed")
REFERERS = ("friends", "website", "fair", "social media")
MAX_GRADE = 20.0

_COUNTRY = re.compile(r"^[a-f]$")
_CAMPUS = re.compile(r"^([a-f])_[a-f]$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_YES_NO = {"yes": True, "no": False}


class RuleError(ValueError):
    """A value that breaks its column's rule; the message is the rule, e.g. `not a number`."""


def _country(text: str) -> str:
    if not _COUNTRY.match(text.lower()):
        raise RuleError("not one of A–F")
    return text.lower()


def _campus(text: str) -> str:
    if not _CAMPUS.match(text.lower()):
        raise RuleError("not <country>_<A–F>")
    return text.lower()


def _status(text: str) -> str:
    if text.lower() not in STATUSES:
        raise RuleError("not developed, developing or under-developed")
    return text.lower()


def _grades(text: str) -> tuple[float, int]:
    parts = [part.strip() for part in text.split(";") if part.strip()]
    if not parts:
        raise RuleError("no grade")
    try:
        grades = [float(part) for part in parts]
    except ValueError:
        raise RuleError("not a number") from None
    if not all(math.isfinite(g) for g in grades):
        raise RuleError("not a number")
    if not all(0 <= g <= MAX_GRADE for g in grades):
        raise RuleError("outside 0–20")
    return sum(grades) / len(grades), len(grades)


def _count(text: str) -> int:
    if not _INTEGER.match(text):
        raise RuleError("not an integer")
    if int(text) < 0:
        raise RuleError("negative")
    return int(text)


def _distance(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise RuleError("not a number") from None
    if not math.isfinite(number):
        raise RuleError("not a number")
    if number < 0:
        raise RuleError("negative")
    return number


def _yes_no(text: str) -> bool:
    if text.lower() not in _YES_NO:
        raise RuleError("not yes or no")
    return _YES_NO[text.lower()]


def _referer(text: str) -> str:
    if text.lower() not in REFERERS:
        raise RuleError("not friends, website, fair or social media")
    return text.lower()


# The parser of every required column (an empty value breaks the rule "missing"); hired_by and
# alternative_choice are optional text, empty meaning null.
_PARSERS = {"student_id": str, "country": _country, "campus": _campus, "country_status": _status,
            "grades": _grades, "absences": _count, "has_stopped": _yes_no, "referer": _referer,
            "has_pro_contract": _yes_no, "contracts": _count, "distance": _distance}
_OPTIONAL = ("hired_by", "alternative_choice")


def _clean_row(raw: dict[str, str]) -> tuple[dict, list[str]]:
    """The cleaned values of one row and the reasons it breaks a rule (empty when it is valid)."""
    values, reasons = {}, []
    for column, parse in _PARSERS.items():
        if not raw[column]:
            reasons.append(f"{column}: missing")
            continue
        try:
            values[column] = parse(raw[column])
        except RuleError as error:
            reasons.append(f"{column}: {error}")
    if "country" in values and "campus" in values and not values["campus"].startswith(values["country"] + "_"):
        reasons.append("campus: not a campus of its country")
    values.update({column: raw[column] or None for column in _OPTIONAL})
    return values, reasons


def read_student_records(path: str | Path | IO[bytes]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cleaned records (CLEAN_COLUMNS) and the quarantined rows (the raw RECORD_COLUMNS, `row`: the 1-based
    data row in the file, `reason`: every broken rule joined by `; `) of a CSV file (a path or an open binary
    file). Raises ValueError when columns are missing."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    if missing := [c for c in RECORD_COLUMNS if c not in raw.columns]:
        raise ValueError(f"student records: missing columns {missing}; the file must have {list(RECORD_COLUMNS)}")
    raw = raw[list(RECORD_COLUMNS)].apply(lambda column: column.str.strip())
    values, reasons = zip(*(_clean_row(row) for row in raw.to_dict("records"))) if len(raw) else ((), ())
    _mark_duplicates(raw["student_id"], reasons)
    _mark_other_statuses(values, reasons)
    valid = np.array([not row_reasons for row_reasons in reasons], dtype=bool)
    quarantined = raw.assign(row=range(1, len(raw) + 1), reason=["; ".join(r) for r in reasons])[~valid]
    return _records_frame([v for v, ok in zip(values, valid) if ok]), quarantined.reset_index(drop=True)


def _mark_duplicates(ids: pd.Series, reasons: tuple[list[str], ...]) -> None:
    """The first row of an id is kept; a later one is quarantined (which of two rows is right cannot be told)."""
    for position in np.flatnonzero(ids.duplicated(keep="first") & (ids != "")):
        reasons[position].append("student_id: duplicate")


def _mark_other_statuses(values: tuple[dict, ...], reasons: tuple[list[str], ...]) -> None:
    """A country has one status: the one most of its rows give (the first given on a tie); a row that gives
    another is quarantined."""
    given = pd.DataFrame([(v.get("country"), v.get("country_status")) for v in values],
                         columns=["country", "status"]).dropna()
    if given.empty:
        return
    status = given.groupby("country", sort=False)["status"].agg(lambda s: s.value_counts(sort=False).idxmax())
    for position, row in given.iterrows():
        if row["status"] != status[row["country"]]:
            reasons[position].append(f"country_status: not its country's ({status[row['country']]})")


def _records_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*_PARSERS, *_OPTIONAL])
    grades = pd.DataFrame(frame.pop("grades").tolist(), columns=["mean_grade", "grade_count"],
                          index=frame.index)
    frame = frame.join(grades).astype({"mean_grade": float, "grade_count": int, "absences": int, "contracts": int,
                                       "distance": float, "has_stopped": bool, "has_pro_contract": bool})
    return frame[list(CLEAN_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True)
class Planted:
    """The effects generate_student_records plants, for the questions to find (pipeline/survey/questions.py) and
    the tests to check."""

    # country → status; Q9's outcome depends on it.
    country_status: dict[str, str] = field(default_factory=lambda: {
        "A": "developed", "B": "developed", "C": "developing", "D": "developing", "E": "under-developed",
        "F": "under-developed"})
    # campus → (mean grade, share of referer fair, mean distance in km). Q1: A's campuses differ (A_A 15, A_B 11),
    # every other country's campuses share one mean. Q5: C_B's fair share stands out. A's campuses share their
    # fair share and distance, so that their grade difference does not tie distance to stopping (Q2).
    campuses: dict[str, tuple[float, float, float]] = field(default_factory=lambda: {
        "A_A": (15.0, 0.30, 12.0), "A_B": (11.0, 0.30, 12.0), "A_C": (11.5, 0.30, 12.0),
        "B_A": (12.5, 0.12, 30.0), "B_C": (12.5, 0.18, 26.0), "B_D": (12.5, 0.10, 34.0),
        "C_A": (12.5, 0.22, 18.0), "C_B": (12.5, 0.65, 15.0), "C_E": (12.5, 0.20, 20.0),
        "D_B": (12.5, 0.08, 38.0), "D_C": (12.5, 0.12, 32.0), "D_F": (12.5, 0.10, 42.0),
        "E_A": (12.5, 0.05, 45.0), "E_D": (12.5, 0.08, 40.0), "E_F": (12.5, 0.06, 50.0),
        "F_A": (12.5, 0.28, 10.0), "F_B": (12.5, 0.32, 8.0), "F_E": (12.5, 0.25, 14.0)})
    # Q3/Q4: a campus's share of the students is proportional to
    # exp(size_per_fair_share * fair share - size_per_km * mean distance).
    size_per_fair_share: float = 3.0
    size_per_km: float = 0.05
    grade_spread: float = 2.0  # sd of a student's level around the campus mean
    grade_noise: float = 1.5  # sd of one grade around the student's level
    mean_absences: float = 5.0  # gamma-Poisson, overdispersed
    # Q2: logit P(stopped) = intercept + per_absence * absences + per_grade * (mean grade - grade_centre); no
    # distance term.
    stop_intercept: float = -2.5
    stop_grade_centre: float = 12.5
    stop_per_absence: float = 0.25
    stop_per_grade: float = -0.35
    # Q7: a student who did not stop is hired with this probability, by a company drawn with Zipf weights 1/rank.
    hired_share: float = 0.45
    companies: dict[str, float] = field(default_factory=lambda: _zipf(
        ("Accenture", "Deloitte", "Capgemini", "Sopra Steria", "Proximus", "IBM", "Atos", "Ordina")))
    # Q8: the share of students who name a competitor, and the competitors' weights.
    alternative_share: float = 0.4
    competitors: dict[str, float] = field(default_factory=lambda: {
        "ULB": 0.40, "VUB": 0.25, "UCLouvain": 0.15, "ULiege": 0.10, "EPHEC": 0.06, "HELB": 0.04})
    # Q9: log-odds of has_pro_contract: the intercept is the developed countries', plus each other status's term.
    pro_contract_log_odds: dict[str, float] = field(default_factory=lambda: {
        "intercept": -0.3, "developing": -0.7, "under-developed": -1.4})
    # Q10: contracts = b0 + b1 * mean grade + b2 * absences + b3 * distance + Gaussian noise, rounded and clipped at
    # 0 (the intercept keeps the mean well above 0, so that clipping rarely bites).
    contracts_coefficients: dict[str, float] = field(default_factory=lambda: {
        "intercept": 1.0, "mean_grade": 0.15, "absences": -0.04, "distance": 0.03})
    contracts_noise: float = 1.0


def _zipf(names: tuple[str, ...]) -> dict[str, float]:
    weights = [1 / rank for rank in range(1, len(names) + 1)]
    return {name: w / sum(weights) for name, w in zip(names, weights)}


PLANTED = Planted()


def generate_student_records(count: int, seed: int) -> pd.DataFrame:
    """`count` student records with the PLANTED effects, as the text a CSV file holds (RECORD_COLUMNS); the same
    for the same seed."""
    p, rng = PLANTED, np.random.default_rng(seed)
    campuses = list(p.campuses)
    mean_grade, fair_share, mean_km = (np.array(values) for values in zip(*p.campuses.values()))
    weight = np.exp(p.size_per_fair_share * fair_share - p.size_per_km * mean_km)
    campus = rng.choice(len(campuses), size=count, p=weight / weight.sum())
    grade_count = rng.integers(3, 9, size=count)
    level = rng.normal(mean_grade[campus], p.grade_spread)
    # Gamma draws: right-skewed like real absences and commutes, never negative.
    absences = rng.poisson(rng.gamma(2.0, p.mean_absences / 2.0, size=count))
    distance = np.round(rng.gamma(2.0, mean_km[campus] / 2.0), 1)
    # Grades in halves, as teachers give them.
    grades = [np.clip(np.round(rng.normal(lv, p.grade_noise, size=n) * 2) / 2, 0, MAX_GRADE)
              for lv, n in zip(level, grade_count)]
    mean = np.array([g.mean() for g in grades])
    stopped = rng.random(count) < _logistic(p.stop_intercept + p.stop_per_absence * absences
                                            + p.stop_per_grade * (mean - p.stop_grade_centre))
    country = [campuses[c][0] for c in campus]
    status = [p.country_status[c] for c in country]
    log_odds = p.pro_contract_log_odds["intercept"] + np.array([p.pro_contract_log_odds.get(s, 0.0) for s in status])
    b = p.contracts_coefficients
    expected_contracts = b["intercept"] + b["mean_grade"] * mean + b["absences"] * absences + b["distance"] * distance
    hired = ~stopped & (rng.random(count) < p.hired_share)
    return pd.DataFrame({
        "student_id": [f"S{seed}-{i:06d}" for i in range(count)],
        "country": country,
        "campus": [campuses[c] for c in campus],
        "country_status": status,
        "grades": [";".join(f"{g:g}" for g in row) for row in grades],
        "absences": absences.astype(str),
        "has_stopped": np.where(stopped, "yes", "no"),
        "referer": _referers(rng, fair_share[campus]),
        "hired_by": np.where(hired, _draw(rng, p.companies, count), ""),
        "has_pro_contract": np.where(rng.random(count) < _logistic(log_odds), "yes", "no"),
        "alternative_choice": np.where(rng.random(count) < p.alternative_share, _draw(rng, p.competitors, count), ""),
        "contracts": np.maximum(np.round(rng.normal(expected_contracts, p.contracts_noise)), 0).astype(int).astype(str),
        "distance": [f"{d:g}" for d in distance],
    }, columns=list(RECORD_COLUMNS))


def write_student_records(records: pd.DataFrame, path: str | Path) -> Path:
    """Writes records (RECORD_COLUMNS, as generate_student_records gives them) as a CSV file; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records[list(RECORD_COLUMNS)].to_csv(path, index=False)
    return path


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _draw(rng: np.random.Generator, weights: dict[str, float], count: int) -> np.ndarray:
    return rng.choice(list(weights), size=count, p=np.array(list(weights.values())) / sum(weights.values()))


def _referers(rng: np.random.Generator, fair_share: np.ndarray) -> np.ndarray:
    """`fair` with the campus's fair share; otherwise friends, website or social media alike."""
    others = rng.choice(["friends", "website", "social media"], size=len(fair_share))
    return np.where(rng.random(len(fair_share)) < fair_share, "fair", others)
