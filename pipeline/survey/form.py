"""The survey form: its fields, allowed values and rules, checked before anything is published.

The seed's fields (country A–F, campus `<country>_<A–F>`, mobility, contracts, alternative choice, distance in
km, professional contract) plus how the student heard of the school (`advertisement`, which the seed's form
asked but dropped; analysis question 5 needs it) and a consent box that must be ticked and is never stored.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

COUNTRIES = ("A", "B", "C", "D", "E", "F")
CAMPUS_LETTERS = COUNTRIES
MOBILITY = ("car", "bike", "foot", "public transport")
ALTERNATIVES = ("alternative A", "alternative B", "alternative C")
ADVERTISEMENT = ("social media", "websites", "fair", "friends")  # the seed's form wrote "fiends"
MAX_DISTANCE_KM = 20_000.0  # half the Earth's circumference: anything farther is a typing error
MAX_CONTRACTS = 100


class SurveyForm(BaseModel):
    """One submission as the form and `POST /api/survey` take it; a ValidationError names each field and rule."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    country: Literal[COUNTRIES]
    campus: str = Field(pattern=r"^[A-F]_[A-F]$", description="`<country>_<letter>`, e.g. A_C")
    mobility: Literal[MOBILITY]
    contracts: int = Field(ge=0, le=MAX_CONTRACTS, description="jobs or contracts held so far")
    alternative_choice: Literal[ALTERNATIVES]
    distance: float = Field(ge=0, le=MAX_DISTANCE_KM, description="km from home to the university")
    pro_contract: bool = False
    advertisement: Literal[ADVERTISEMENT]
    consent: bool = Field(json_schema_extra={"const": True}, description="must be true: taking part needs consent")
    submission_id: str | None = Field(None, pattern=r"^[A-Za-z0-9-]{8,64}$",
                                      description="set by the client so that a retry counts once; new when absent")

    @field_validator("campus")
    @classmethod
    def _campus_in_country(cls, campus: str, info: ValidationInfo) -> str:
        country = info.data.get("country")  # absent when the country itself was invalid
        if country and not campus.startswith(f"{country}_"):
            raise ValueError(f"campus {campus} is not a campus of country {country}")
        return campus

    @field_validator("consent")
    @classmethod
    def _consent_given(cls, consent: bool) -> bool:
        if not consent:
            raise ValueError("consent is required to take part")
        return consent

    def record(self) -> dict:
        """What is published: every field but consent, and the submission's id (the client's, or a new one)."""
        return {"submission_id": self.submission_id or str(uuid.uuid4()),
                **self.model_dump(exclude={"consent", "submission_id"})}
