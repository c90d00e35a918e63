"""``/dev/outbox`` (placeholder until the messaging work lands)."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
