"""The JSON error envelope of DESIGN.md (``{"error": {"code", "message", "field"}}``) as the
OpenAPI description shows it; shared by the public API and the support desk's API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    code: str = Field(examples=["invalid_credentials"])
    message: str = Field(examples=["Identificação ou senha incorretas."])
    field: str | None = None
    model_config = ConfigDict(extra="allow")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of an operation. One that validates its input (422) also answers 400
    ``validation_error`` when the body cannot even be read (not UTF-8, not JSON): FastAPI refuses
    it before validation. Found by the API fuzzing (tests/fuzz)."""
    wanted = set(statuses) | ({400} if 422 in statuses else set())
    return {
        status: {"model": ErrorEnvelope, "description": "Erro com código estável"}
        for status in sorted(wanted)
    }
