"""The analysis questions of the seed's plan (seed-facts §6, `data-analyser.md`) and their registry.

Each question is a plain function of `(records, submissions)` returning a QuestionResult:

- records: the cleaned student records (pipeline.survey.records.read_student_records; country and campus
  lowercase, mean_grade, absences, has_stopped, referer, hired_by, has_pro_contract, ...);
- submissions: the cleaned survey table (pipeline/survey/cleaning.py's COLUMNS and submitted_at), possibly empty.

Question 0 is the seed's only implemented chart (survey responses per country). Questions 6 (time until graduates
are hired) and 11 (multi-criteria evaluation) are not computable: the plan left them undefined. A question whose
data cannot answer it (too few rows, a single campus, an outcome that never varies) raises ValueError naming the
question and why, so that a result never holds NaN. Countries and campuses are shown uppercase.

statsmodels, scipy and scikit-learn are imported by the questions that use them: this module is loaded with the
code location, and loading them there cost every Dagster run about a second before it starts (bench/pages.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.survey.cleaning import COLUMNS as SURVEY_COLUMNS
from pipeline.survey.results import Coefficient, QuestionResult
from pipeline.web.charts import ChartPoint, PlotType

GRADE_BANDS = ("under 10", "10 to 14", "14 and over")  # question 1's bands of mean grades (out of 20)
STOP_PREDICTORS = {"mean_grade": ("higher grades", "grades"), "absences": ("more absences", "absences"),
                   "distance": ("a longer way from home", "the distance from home")}
CONTRACT_PREDICTORS = ("mean_grade", "absences", "distance")
# What a country's or campus's profile measures (questions 3 and 4), and how a summary names it.
PROFILE = {"students": "number of students", "mean_grade": "mean grade", "stop_rate": "share who stopped",
           "fair_share": "share who came through a fair", "mean_distance": "distance from home",
           "pro_contract_share": "share with a professional contract", "mean_contracts": "number of contracts"}
REFERENCE_STATUS = "developed"
STATUS_ORDER = ("developed", "developing", "under-developed")
MAX_SCATTER_POINTS = 1_000  # a scatter of every student would grow the page and the Cassandra row with the school
STRONG_LOADING = 0.5  # a variable "goes with" a principal component when their correlation is at least this


@dataclass(frozen=True)
class Question:
    number: int  # the number in the seed's analysis plan (0: the seed's implemented chart)
    name: str  # also the function's name
    title: str
    method: str
    min_rows: int  # the fewest rows (the result's sample_size) the method needs: the asset's blocking check
    compute: Callable[[pd.DataFrame, pd.DataFrame], QuestionResult]
    description: str


def q00_responses_per_country(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    survey = _survey(submissions)
    if survey.empty:  # a true answer, not too little data: the page says so until the first submission lands
        return _result(0, "bar", 0, "No student has answered the survey yet.", [], {"countries": 0})
    counts = survey["country"].value_counts().sort_index()
    top = counts.idxmax()
    summary = (f"{len(survey)} students answered the survey, from {len(counts)} countries; most from "
               f"{top.upper()} ({counts[top]}, {counts[top] / len(survey):.0%}).")
    return _result(0, "bar", len(survey), summary, [ChartPoint(c.upper(), str(n)) for c, n in counts.items()],
                   {"countries": len(counts)})


def q01_success_by_campus(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    from scipy.stats import chi2_contingency

    _require(1, len(records), "student records")
    tests = {}
    for country, rows in records.groupby("country"):
        table = pd.crosstab(rows["campus"], _grade_band(rows["mean_grade"]))
        if min(table.shape) >= 2:  # one campus, or every grade in one band: nothing to compare
            tests[country] = chi2_contingency(table, correction=False)
    if not tests:
        raise _error(1, "no country has two campuses with mean grades in two bands")
    tested = records[records["country"].isin(tests)]
    means = tested.groupby(["country", "campus"])["mean_grade"].mean()
    statistics = {}
    for country, test in tests.items():
        statistics |= {f"statistic_{country.upper()}": test.statistic, f"p_value_{country.upper()}": test.pvalue,
                       f"dof_{country.upper()}": test.dof}
        statistics[f"top_{means[country].idxmax().upper()}"] = means[country].max()
    # Grouped by the campus's letter, so that a country's few campuses sit side by side in few colours.
    points = [ChartPoint(country.upper(), _num(mean), f"campus {campus.split('_')[-1].upper()}", campus.upper())
              for (country, campus), mean in means.items()]
    return _result(1, "grouped_bar", len(tested), _campus_summary(tests, means), points, statistics)


def q02_who_stops(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    import statsmodels.api as sm
    from scipy.stats import spearmanr

    _require(2, len(records), "student records")
    if constant := [c for c in ("has_stopped", *STOP_PREDICTORS) if records[c].nunique() < 2]:
        raise _error(2, f"{', '.join(constant)} do not vary: no correlation to measure")
    stopped = records["has_stopped"].to_numpy(float)
    statistics = {"stop_rate": stopped.mean()}
    for column in STOP_PREDICTORS:
        rho, p = spearmanr(records[column], stopped)
        statistics |= {f"rho_{column}": rho, f"p_value_{column}": p}
    absences = records["absences"].to_numpy(float)
    intercept, slope = sm.Logit(stopped, np.column_stack([np.ones(len(absences)), absences])).fit(disp=0).params
    rates = records.groupby("absences")["has_stopped"].mean()
    fitted = _logistic(intercept + slope * rates.index.to_numpy(float))
    points = [ChartPoint(str(a), _num(r), "observed") for a, r in rates.items()]
    points += [ChartPoint(str(a), _num(f), "fitted") for a, f in zip(rates.index, fitted)]
    relations = [_stop_relation(column, statistics) for column in STOP_PREDICTORS]
    summary = (f"{statistics['stop_rate']:.0%} of the {len(records)} students stopped. "
               f"{relations[0][0].upper()}{relations[0][1:]}; {relations[1]}; {relations[2]}.")
    return _result(2, "scatter", len(records), summary, points, statistics)


def q03_students_by_country(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    _require(3, len(records), "student records")
    profile = _profile(records, "country")
    if len(profile) < 3:
        raise _error(3, f"{len(profile)} countries; a principal component analysis needs at least 3")
    scores, loadings, explained = _pca(3, profile)
    statistics = {"countries": len(profile), "explained_variance_pc1": explained[0],
                  "explained_variance_pc2": explained[1]}
    statistics |= {f"loading_pc1_{variable}": loading for variable, loading in loadings["pc1"].items()}
    summary = (f"One axis holds {explained[0]:.0%} of the differences between the {len(profile)} countries: "
               f"{_goes_with_size(loadings)}.")
    return _result(3, "biplot", len(records), summary, _biplot(scores, loadings), statistics)


def q04_campus_attendance(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    from sklearn.cluster import KMeans
    from sklearn.ensemble import RandomForestRegressor

    _require(4, len(records), "student records")
    profile = _profile(records, "campus")
    if len(profile) < 4:
        raise _error(4, f"{len(profile)} campuses; grouping and comparing them needs at least 4")
    scores, loadings, explained = _pca(4, profile)
    # Two groups of campuses alike in every measure; the one with more students on average is "well attended".
    groups = KMeans(n_clusters=2, n_init=10, random_state=0).fit_predict(_standardised(profile))
    well = profile["students"].groupby(groups).mean().idxmax()
    features = profile.drop(columns="students")
    forest = RandomForestRegressor(n_estimators=300, random_state=0).fit(features, profile["students"])
    importance = pd.Series(forest.feature_importances_, index=features.columns).sort_values(ascending=False)
    statistics = {"campuses": len(profile), "explained_variance_pc1": explained[0],
                  "explained_variance_pc2": explained[1], "well_attended_campuses": (groups == well).sum(),
                  "well_attended_mean_students": profile["students"][groups == well].mean(),
                  "other_mean_students": profile["students"][groups != well].mean()}
    statistics |= {f"importance_{feature}": value for feature, value in importance.items()}
    summary = (f"The well-attended campuses ({_listing(profile.index[groups == well].str.upper())}) have "
               f"{statistics['well_attended_mean_students']:.0f} students on average, the others "
               f"{statistics['other_mean_students']:.0f}. What goes most with a campus's number of students is the "
               f"{PROFILE[importance.index[0]]} (importance {importance.iloc[0]:.2f}), then the "
               f"{PROFILE[importance.index[1]]} ({importance.iloc[1]:.2f}).")
    return _result(4, "biplot", len(records), summary, _biplot(scores, loadings), statistics)


def q05_fair_impact(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    from scipy.stats import chi2_contingency

    survey = _survey(submissions)
    survey = survey[survey["campus"].str.fullmatch(r"[a-f]_[a-f]", na=False) & survey["advertisement"].notna()]
    # The form's "websites" is the records' "website".
    heard = pd.concat([records[["campus", "referer"]],
                       pd.DataFrame({"campus": survey["campus"],
                                     "referer": survey["advertisement"].replace({"websites": "website"})})])
    _require(5, len(heard), "students with a campus and a referer")
    table = pd.crosstab(heard["campus"], heard["referer"] == "fair")
    if table.shape[0] < 2 or table.shape[1] < 2:
        raise _error(5, "needs two campuses, and students who came through a fair and others")
    test = chi2_contingency(table, correction=False)
    share = table[True] / table.sum(axis=1)
    top, overall = share.idxmax(), table[True].sum() / len(heard)
    statistics = {"statistic": test.statistic, "p_value": test.pvalue, "dof": test.dof, "survey_rows": len(survey),
                  "overall_fair_share": 100 * overall, "highest_fair_share": 100 * share[top]}
    verdict = ("campuses differ beyond chance" if test.pvalue < 0.05 else "the differences between campuses are "
               "within chance")
    summary = (f"Fairs brought {share[top]:.0%} of {top.upper()}'s students, against {overall:.0%} across all "
               f"campuses; {verdict} ({_chance(test.pvalue)}).")
    points = [ChartPoint(campus.upper(), _num(100 * s)) for campus, s in share.items()]
    return _result(5, "bar", len(heard), summary, points, statistics)


def q07_recruiters(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    return _ranking(7, records["hired_by"].dropna(), len(records), "hired", "hired students", "hired the most")


def q08_competitors(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    return _ranking(8, records["alternative_choice"].dropna(), len(records), "naming_a_competitor",
                    "students who named another school", "is the competitor named most")


def q09_pro_contracts_by_status(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    import statsmodels.api as sm
    from scipy.stats import chi2

    survey = _survey(submissions)
    # A submission counts when the records tell its country's status.
    status_of = records.groupby("country")["country_status"].first()
    answered = pd.DataFrame({"country_status": survey["country"].map(status_of),
                             "has_pro_contract": survey["pro_contract"]}).dropna().astype({"has_pro_contract": bool})
    rows = pd.concat([records[["country_status", "has_pro_contract"]], answered], ignore_index=True)
    _require(9, len(rows), "students with a country status")
    share = rows.groupby("country_status")["has_pro_contract"].mean()
    share = share.reindex([s for s in STATUS_ORDER if s in share.index])
    if REFERENCE_STATUS not in share.index or len(share) < 2:
        raise _error(9, f"needs the {REFERENCE_STATUS} status and another; found {list(share.index)}")
    if share.isin([0.0, 1.0]).any():
        raise _error(9, "in some status everyone or no one has a professional contract (the odds are infinite)")
    others = list(share.index[1:])
    design = np.column_stack([np.ones(len(rows))] + [rows["country_status"] == s for s in others]).astype(float)
    fit = sm.GLM(rows["has_pro_contract"].to_numpy(float), design, family=sm.families.Binomial()).fit()
    coefficients = _coefficients([f"intercept ({REFERENCE_STATUS})", *others], fit)
    fitted = _logistic(fit.params[0] + np.r_[0.0, fit.params[1:]])
    lr = fit.null_deviance - fit.deviance
    statistics = {"lr_statistic": lr, "dof": len(others), "lr_p_value": chi2.sf(lr, len(others)),
                  "survey_rows": len(answered)}
    points = [ChartPoint(status, _num(100 * value), group) for status, observed, model in
              zip(share.index, share, fitted) for group, value in (("observed share", observed),
                                                                   ("fitted probability", model))]
    return _result(9, "grouped_bar", len(rows), _status_summary(share, coefficients[1:], statistics["lr_p_value"]),
                   points, statistics, coefficients)


def q10_contracts_forecast(records: pd.DataFrame, submissions: pd.DataFrame) -> QuestionResult:
    import statsmodels.api as sm

    _require(10, len(records), "student records")
    design = np.column_stack([np.ones(len(records)), records[list(CONTRACT_PREDICTORS)].to_numpy(float)])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise _error(10, "a predictor does not vary, or repeats another")
    fit = sm.OLS(records["contracts"].to_numpy(float), design).fit()
    coefficients = _coefficients(["intercept", *CONTRACT_PREDICTORS], fit)
    median = records[list(CONTRACT_PREDICTORS)].median()
    forecast = fit.get_prediction(np.r_[1.0, median.to_numpy(float)][None, :]).summary_frame(alpha=0.05).iloc[0]
    statistics = {"r_squared": fit.rsquared, "adj_r_squared": fit.rsquared_adj, "f_statistic": fit.fvalue,
                  "f_p_value": fit.f_pvalue, "forecast_median_student": forecast["mean"],
                  "forecast_ci_low": forecast["mean_ci_lower"], "forecast_ci_high": forecast["mean_ci_upper"]}
    statistics |= {f"median_{column}": value for column, value in median.items()}
    # The fitted line along the grade, the other predictors held at the median student's.
    grades = np.linspace(records["mean_grade"].min(), records["mean_grade"].max(), 11)
    line = fit.params[0] + fit.params[1] * grades + fit.params[2:] @ median.iloc[1:].to_numpy(float)
    # The chart shows at most MAX_SCATTER_POINTS students (a fixed sample); the fit uses them all.
    shown = records.sample(n=min(len(records), MAX_SCATTER_POINTS), random_state=0)
    points = [ChartPoint(_num(g), str(c), "observed") for g, c in zip(shown["mean_grade"], shown["contracts"])]
    points += [ChartPoint(_num(g), _num(y), "fitted") for g, y in zip(grades, line)]
    return _result(10, "scatter", len(records), _forecast_summary(coefficients, statistics, median), points,
                   statistics, coefficients)


QUESTIONS: tuple[Question, ...] = (
    Question(0, "q00_responses_per_country", "Survey responses per country", "count per country", 0,
             q00_responses_per_country,
             "The survey submissions per country: the seed's only implemented chart (bar). Submissions only."),
    Question(1, "q01_success_by_campus", "Mean grade per campus, by country",
             "chi-squared test of independence of campus and grade band, per country", 30, q01_success_by_campus,
             "Success is a student's mean grade. Per country, a chi-squared test of campus against the band of the "
             f"mean grade ({', '.join(GRADE_BANDS)}); countries with one campus are not tested. Statistics per "
             "country X: statistic_X, p_value_X, dof_X, and top_<campus> (its mean grade) for the country's best "
             "campus. Records only."),
    Question(2, "q02_who_stops", "Stop rate by number of absences",
             "Spearman rank correlation; fitted line: logistic regression of stopping on absences", 30, q02_who_stops,
             "Spearman correlations of the mean grade and of absences (and, as a check, distance) with having "
             "stopped (rho_*, p_value_*). Observed points: the stop rate per number of absences; fitted: a logistic "
             "regression of stopping on absences. Records only."),
    Question(3, "q03_students_by_country", "Why some countries have more students",
             "principal component analysis of per-country profiles (standardised)", 30, q03_students_by_country,
             "Each country's profile (students, mean grade, stop rate, fair share, mean distance, professional "
             "contract share, mean contracts), standardised, in a principal component analysis; the first component "
             "is oriented so that more students is positive. Loadings are correlations with the component. Records "
             "only."),
    Question(4, "q04_campus_attendance", "Well- and poorly-attended campuses",
             "principal component analysis, K-Means (2 groups) and random forest regression of students per campus",
             30, q04_campus_attendance,
             "Each campus's profile as in question 3: a principal component analysis (biplot), K-Means in two "
             "groups (the one with more students on average is well attended), and a random forest regressor "
             "(fixed random_state) of the number of students on the other measures (importance_*). Records only."),
    Question(5, "q05_fair_impact", "Share of students who came through a fair, per campus (%)",
             "chi-squared test of independence of campus and coming through a fair", 30, q05_fair_impact,
             "Per campus, the share of students whose referer is `fair`: the records' referer and the survey "
             "submissions' advertisement (\"websites\" read as \"website\"), submissions with a campus of the form "
             "X_Y only."),
    Question(7, "q07_recruiters", "Companies that hired our students", "count per company, descending", 1,
             q07_recruiters,
             "Hired students per company (hired_by), most first; students not hired are left out. Records only."),
    Question(8, "q08_competitors", "Competitors students considered", "count per competitor, descending", 1,
             q08_competitors,
             "Students per alternative school named (alternative_choice), most first; students who named none are "
             "left out. Records only (the survey's alternatives A–C are not schools)."),
    Question(9, "q09_pro_contracts_by_status",
             "Share of students with a professional contract, by country status (%)",
             "binomial regression (logit link) on country status", 30, q09_pro_contracts_by_status,
             f"A binomial GLM of having a professional contract on the country's status ({REFERENCE_STATUS} is the "
             "reference): log-odds with 95 % confidence intervals, a likelihood-ratio test against no status effect. "
             "Records and survey submissions whose country's status the records tell (pro_contract)."),
    Question(10, "q10_contracts_forecast", "Contracts by mean grade: observed and fitted",
             "ordinary least squares: contracts ~ mean_grade + absences + distance", 30, q10_contracts_forecast,
             "A multivariate linear regression of the number of contracts on the mean grade, absences and distance, "
             "with 95 % confidence intervals; the forecast is the fitted number of contracts of the median student "
             "(the median of each predictor) with its 95 % confidence interval. Records only."),
)
QUESTIONS_BY_NAME: dict[str, Question] = {question.name: question for question in QUESTIONS}
_BY_NUMBER = {question.number: question for question in QUESTIONS}

if repeated := sorted(key for key, n in Counter(q.name for q in QUESTIONS).items() if n > 1):
    raise ValueError(f"questions sharing a name: {repeated}")
if mismatched := [q.name for q in QUESTIONS
                  if q.name != q.compute.__name__ or not q.name.startswith(f"q{q.number:02d}_")]:
    raise ValueError(f"questions whose name is not q<number>_<function name>: {mismatched}")


# Shared helpers.

def _error(number: int, why: str) -> ValueError:
    return ValueError(f"{_BY_NUMBER[number].name}: {why}")


def _require(number: int, rows: int, what: str) -> None:
    """No rows at all: nothing to compute. Fewer than min_rows still computes; the asset's blocking check
    `enough_rows` keeps such an answer from the results page."""
    if rows == 0:
        raise _error(number, f"0 {what}: nothing to answer from (it needs at least {_BY_NUMBER[number].min_rows})")


def _result(number: int, plot_type: PlotType, sample_size: int, summary: str, points: list[ChartPoint],
            statistics: dict, coefficients: list[Coefficient] | tuple = ()) -> QuestionResult:
    question = _BY_NUMBER[number]
    result = QuestionResult(number, question.title, plot_type, question.method, int(sample_size), summary,
                            tuple(points), {k: float(v) for k, v in statistics.items()}, tuple(coefficients))
    return result  # a NaN no guard above foresaw is caught by the asset's blocking check `no_nan_statistics`


def _survey(submissions: pd.DataFrame) -> pd.DataFrame:
    """The submissions with the cleaned survey's columns, also when the table is empty and has none."""
    missing = {column: pd.Series(None, index=submissions.index, dtype=object)
               for column in SURVEY_COLUMNS if column not in submissions.columns}
    return submissions.assign(**missing)


def _num(value: float) -> str:
    return f"{float(value):.6g}"


def _listing(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _chance(p: float) -> str:
    """A p-value in words: how often chance alone would give such a difference."""
    if p < 0.001:
        return "this would happen by chance less than 1 time in 1000"
    if p < 0.01:
        return f"this would happen by chance about {round(p * 1000)} times in 1000"
    if p < 0.05:
        return f"this would happen by chance about {round(p * 100)} times in 100"
    return f"p = {p:.2f}"


def _logistic(x):
    return 1 / (1 + np.exp(-x))


def _grade_band(mean_grade: pd.Series) -> pd.Series:
    return pd.Series(np.select([mean_grade < 10, mean_grade < 14], GRADE_BANDS[:2], GRADE_BANDS[2]),
                     index=mean_grade.index)


def _campus_summary(tests: dict, means: pd.Series) -> str:
    """One sentence for the countries whose campuses differ (best and worst campus), one for the others."""
    differing = [c for c, t in tests.items() if t.pvalue < 0.05]
    alike = [c for c, t in tests.items() if t.pvalue >= 0.05]
    clauses = [f"in {c.upper()}, campuses differ: {means[c].idxmax().upper()}'s students average "
               f"{means[c].max():.1f}/20, {means[c].idxmin().upper()}'s {means[c].min():.1f}/20 "
               f"({_chance(tests[c].pvalue)})" for c in differing]
    sentences = [f"I{'; '.join(clauses)[1:]}."] if clauses else []
    if alike:
        p = sorted(tests[c].pvalue for c in alike)
        spread = f"p = {p[0]:.2f}" if len(p) == 1 else f"p from {p[0]:.2f} to {p[-1]:.2f}"
        sentences.append(f"In {_listing(c.upper() for c in alike)} the differences between campuses are within "
                         f"chance ({spread}).")
    return " ".join(sentences)


def _stop_relation(column: str, statistics: dict) -> str:
    rho, p = statistics[f"rho_{column}"], statistics[f"p_value_{column}"]
    more, noun = STOP_PREDICTORS[column]
    if p < 0.05:
        return f"students with {more} stop {'more' if rho > 0 else 'less'} often (ρ = {rho:.2f}, {_chance(p)})"
    return f"{noun} makes no clear difference (ρ = {rho:.2f}, {_chance(p)})"


def _profile(records: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per country or campus (uppercase): its students and their averages, the PROFILE measures."""
    grouped = records.assign(fair=records["referer"] == "fair").groupby(records[by].str.upper())
    return pd.DataFrame({"students": grouped.size(), "mean_grade": grouped["mean_grade"].mean(),
                         "stop_rate": grouped["has_stopped"].mean(), "fair_share": grouped["fair"].mean(),
                         "mean_distance": grouped["distance"].mean(),
                         "pro_contract_share": grouped["has_pro_contract"].mean(),
                         "mean_contracts": grouped["contracts"].mean()}).astype(float)


def _standardised(table: pd.DataFrame) -> pd.DataFrame:
    """Each column as z-scores (sample standard deviation); a column that does not vary says nothing and is left
    out."""
    varying = table.loc[:, table.std() > 0]
    return (varying - varying.mean()) / varying.std()


def _pca(number: int, profile: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The first two principal components of the standardised profile: scores per row, loadings per variable
    (their correlation with the component) and the share of variance each explains. The first component is
    oriented so that more students is positive."""
    from sklearn.decomposition import PCA

    z = _standardised(profile)
    if z.shape[1] < 2:
        raise _error(number, f"the profiles vary in {list(z.columns)} only; principal components need two")
    pca = PCA(n_components=2).fit(z)
    sign = np.ones(2)
    if "students" in z.columns and pca.components_[0, z.columns.get_loc("students")] < 0:
        sign[0] = -1.0
    scores = pd.DataFrame(pca.transform(z) * sign, index=z.index, columns=["pc1", "pc2"])
    loadings = pd.DataFrame(pca.components_.T * np.sqrt(pca.explained_variance_) * sign, index=z.columns,
                            columns=["pc1", "pc2"])
    return scores, loadings, pca.explained_variance_ratio_


def _biplot(scores: pd.DataFrame, loadings: pd.DataFrame) -> list[ChartPoint]:
    return ([ChartPoint(_num(r.pc1), _num(r.pc2), "score", label) for label, r in scores.iterrows()]
            + [ChartPoint(_num(r.pc1), _num(r.pc2), "loading", label) for label, r in loadings.iterrows()])


def _goes_with_size(loadings: pd.DataFrame) -> str:
    """The measures most correlated with the first component (oriented to more students), in words."""
    pc1 = loadings["pc1"].drop("students", errors="ignore")
    strong = pc1[pc1.abs() >= STRONG_LOADING].sort_values(key=abs, ascending=False).head(3)
    if strong.empty:
        return "no measure goes clearly with the number of students"
    return "countries with more students have " + _listing(
        f"a {'higher' if v > 0 else 'lower'} {PROFILE[k]} ({v:.2f})" for k, v in strong.items())


def _ranking(number: int, values: pd.Series, population: int, key: str, among: str, lead: str) -> QuestionResult:
    _require(number, len(values), among)
    counts = values.value_counts().sort_index().sort_values(ascending=False, kind="stable")  # ties by name
    top, n = counts.index[0], counts.iloc[0]
    following = [f"{name} ({c})" for name, c in counts.iloc[1:3].items()]
    summary = (f"{top} {lead}: {n} of the {len(values)} {among} ({n / len(values):.0%})"
               + (f", then {_listing(following)}." if following else "."))
    statistics = {key: len(values), f"{key}_share": len(values) / population, "top_share": n / len(values)}
    return _result(number, "pie", len(values), summary, [ChartPoint(name, str(c)) for name, c in counts.items()],
                   statistics)


def _coefficients(names: list[str], fit) -> list[Coefficient]:
    """One Coefficient per parameter of a statsmodels fit, with its 95 % confidence interval."""
    ci = np.asarray(fit.conf_int(alpha=0.05))
    return [Coefficient(name, float(est), float(low), float(high), float(p))
            for name, est, (low, high), p in zip(names, np.asarray(fit.params), ci, np.asarray(fit.pvalues))]


def _status_summary(share: pd.Series, terms: list[Coefficient], p_value: float) -> str:
    shares = ", ".join(f"in {status} countries {s:.0%}" for status, s in share.items())
    ratios = " and ".join(f"{np.exp(t.estimate):.2f} times as high in {t.name} ones (95% CI "
                          f"{np.exp(t.ci_low):.2f}–{np.exp(t.ci_high):.2f})" for t in terms)
    verdict = "beyond chance" if p_value < 0.05 else "within chance"
    return (f"Students with a professional contract: {shares}. Against {REFERENCE_STATUS} countries, the odds are "
            f"{ratios}; the differences are {verdict} ({_chance(p_value)}).")


def _forecast_summary(coefficients: list[Coefficient], statistics: dict, median: pd.Series) -> str:
    grade, absence, km = coefficients[1:]
    effects = ", ".join(f"{unit} with {abs(c.estimate):.2f} {'more' if c.estimate > 0 else 'fewer'} contracts"
                        for unit, c in (("each extra point of mean grade goes", grade), ("each absence", absence),
                                        ("each km from home", km)))
    return (f"{effects[0].upper()}{effects[1:]}; together they explain {statistics['r_squared']:.0%} of the "
            f"differences between students. A typical student (mean grade {median['mean_grade']:.1f}/20, "
            f"{median['absences']:.0f} absences, {median['distance']:.0f} km) is forecast to hold "
            f"{statistics['forecast_median_student']:.1f} contracts (95% CI {statistics['forecast_ci_low']:.1f}–"
            f"{statistics['forecast_ci_high']:.1f}).")
