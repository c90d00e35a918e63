"""``/api/v1`` root: what version of the API this is."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(prefix="/api/v1", tags=["meta"])


class ApiInfo(BaseModel):
    name: str
    version: str


@router.get("", response_model=ApiInfo, summary="Versão da API")
async def api_root() -> ApiInfo:
    return ApiInfo(name="guarita", version="1")
