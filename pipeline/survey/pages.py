"""The survey's pages, server-rendered (Jinja2, autoescaped) on the serving API:

- `GET /survey`: the form, with a new hidden submission id, so that sending the same page twice counts once;
- `POST /survey`: checked by the same rules as `POST /api/survey` (`SurveyForm`); errors are shown beside their
  fields with what was typed kept (422); accepted once Kafka confirmed it, then redirected to the confirmation
  (303, so a reload does not send it again); when Kafka does not confirm, the form comes back with the answers
  and the same submission id (503);
- `GET /survey/results`: a chart and plain words per analysis question, from Cassandra's `survey_results`.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from pipeline.survey import form as fields
from pipeline.survey.form import SurveyForm
from pipeline.survey.http import publish
from pipeline.serving.publisher import NotConfirmed
from pipeline.survey.serving import result_of_row
from pipeline.web import TEMPLATES
from pipeline.web.charts import render_chart

LABELS = {
    "country": "Country", "campus": "Campus", "mobility": "How do you come to the campus?",
    "contracts": "Jobs or contracts held so far", "alternative_choice": "Your other choice of school",
    "distance": "Distance from home to the campus (km)", "pro_contract": "I am in a professional contract now",
    "advertisement": "How did you hear of the school?", "consent": "I agree that my answers are used for this survey "
                                                                  "(required)",
    "submission_id": "Submission",
}
CHOICES = {"country": fields.COUNTRIES, "campus_letters": fields.CAMPUS_LETTERS, "mobility": fields.MOBILITY,
           "alternative_choice": fields.ALTERNATIVES, "advertisement": fields.ADVERTISEMENT}
CHECKBOXES = ("pro_contract", "consent")


def _form_page(request: Request, values: dict, errors: dict[str, str], submission_id: str, status_code: int = 200,
               unavailable: str | None = None) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "survey_form.html", status_code=status_code, context={
        "values": values, "errors": errors, "submission_id": submission_id, "unavailable": unavailable,
        "labels": LABELS, "choices": CHOICES, "max_contracts": fields.MAX_CONTRACTS,
        "max_distance": f"{fields.MAX_DISTANCE_KM:g}"})


def _answers(values: dict) -> dict:
    """The typed values as the form's model takes them: a field left empty is missing, a checkbox is a bool."""
    answers = {name: value for name, value in values.items() if value != "" and name not in CHECKBOXES}
    return {**answers, **{name: bool(values.get(name)) for name in CHECKBOXES}}


def _field_errors(error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else "form"
        errors.setdefault(name, problem["msg"].removeprefix("Value error, "))
    return errors


async def survey_form(request: Request) -> HTMLResponse:
    return _form_page(request, {}, {}, str(uuid.uuid4()))


async def submit_survey_form(request: Request) -> HTMLResponse | RedirectResponse:
    posted = await request.form()
    values = {name: str(posted.get(name, "")).strip() for name in LABELS}
    submission_id = values.pop("submission_id") or str(uuid.uuid4())
    try:
        form = SurveyForm(**_answers(values), submission_id=submission_id)
    except ValidationError as error:
        return _form_page(request, values, _field_errors(error), submission_id, status_code=422)
    try:
        accepted = await publish(request, form)
    except NotConfirmed as error:
        return _form_page(request, values, {}, submission_id, status_code=503, unavailable=f"{error}.")
    return RedirectResponse(f"/survey/thanks?submission_id={quote(accepted.submission_id)}", status_code=303)


async def survey_thanks(request: Request, submission_id: str = "") -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "survey_thanks.html", context={"submission_id": submission_id})


async def survey_results(request: Request) -> HTMLResponse:
    rows = sorted(await request.app.state.store.rows("survey_results"), key=lambda row: row["question"])
    results = [result_of_row(row) for row in rows]
    responses = next((r.sample_size for r in results if r.question == 0), None)
    computed_at = max((row["computed_at"] for row in rows if row["computed_at"]), default=None)
    return TEMPLATES.TemplateResponse(request, "survey_results.html", context={
        "results": [{"result": result, "chart": render_chart(result.chart)} for result in results],
        "responses": responses,
        "computed_at": computed_at.strftime("%Y-%m-%d %H:%M") if computed_at else None})


def mount_pages(app: FastAPI) -> None:
    for path, endpoint, methods in (("/survey", survey_form, ["GET"]), ("/survey", submit_survey_form, ["POST"]),
                                    ("/survey/thanks", survey_thanks, ["GET"]),
                                    ("/survey/results", survey_results, ["GET"])):
        app.add_api_route(path, endpoint, methods=methods, response_class=HTMLResponse, response_model=None,
                          include_in_schema=False)
