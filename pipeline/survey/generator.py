"""Generated survey submissions for `pipeline produce survey`, the tests and the benchmark: valid forms with the
form's values, some broken on purpose (each with the reason cleaning must give), some sent twice (a client retry
with the same submission id, which must count once)."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, replace

from pipeline.survey.form import ADVERTISEMENT, ALTERNATIVES, CAMPUS_LETTERS, COUNTRIES, MOBILITY, SurveyForm

# How a record is broken, and the quarantine reason it must get.
MALFORMED = {
    "invalid_json": lambda record: b'{"country": "A", ',
    "not_an_object": lambda record: b'["A", "A_C"]',
    "missing_submission_id": lambda record: _json({k: v for k, v in record.items() if k != "submission_id"}),
    "invalid_country": lambda record: _json({**record, "country": "1234"}),
    "invalid_distance": lambda record: _json({**record, "distance": "far away"}),
    "invalid_pro_contract": lambda record: _json({**record, "pro_contract": "maybe"}),
}


@dataclass(frozen=True)
class Submission:
    submission_id: str
    key: bytes
    value: bytes
    expected_reason: str | None  # None: valid
    retry: bool = False  # a second send of an earlier submission


def _json(record: dict) -> bytes:
    return json.dumps(record).encode()


def random_form(rng: random.Random, submission_id: str | None = None) -> SurveyForm:
    country = rng.choice(COUNTRIES)
    return SurveyForm(submission_id=submission_id, country=country, campus=f"{country}_{rng.choice(CAMPUS_LETTERS)}",
                      mobility=rng.choice(MOBILITY), contracts=rng.randint(0, 6),
                      alternative_choice=rng.choice(ALTERNATIVES), distance=round(rng.uniform(0.5, 80), 1),
                      pro_contract=rng.random() < 0.3, advertisement=rng.choice(ADVERTISEMENT), consent=True)


def generate_submissions(count: int, seed: int = 42, malformed_fraction: float = 0.0,
                         retry_fraction: float = 0.0) -> list[Submission]:
    rng = random.Random(seed)
    submissions: list[Submission] = []
    while len(submissions) < count:
        submission_id = str(uuid.UUID(int=rng.getrandbits(128)))
        record = random_form(rng, submission_id).record()
        valid = [s for s in submissions if s.expected_reason is None and not s.retry]
        if valid and rng.random() < retry_fraction:
            submissions.append(replace(valid[rng.randrange(len(valid))], retry=True))
        elif rng.random() < malformed_fraction:
            reason = rng.choice(sorted(MALFORMED))
            submissions.append(Submission(submission_id, submission_id.encode(), MALFORMED[reason](record), reason))
        else:
            submissions.append(Submission(submission_id, submission_id.encode(), _json(record), None))
    return submissions
