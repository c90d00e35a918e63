"""SERPRO Datavalid ``pf-facial``: compares a selfie with the photo of the CNH (driving licence)
of a CPF (Datavalid's public documentation; RFC 6749 §4.4 for the token).

- The token: ``POST <token_url>`` with ``grant_type=client_credentials`` and HTTP Basic
  ``consumer key : consumer secret``; the answer's ``access_token`` is kept until shortly before
  ``expires_in`` runs out, and fetched again after a 401.
- The comparison: ``POST <datavalid_url>`` with ``{"cpf": …, "validacao": {"biometria_face":
  "<base64 JPEG>"}}``; the answer's ``biometria_face`` says whether a photo was
  ``disponivel``, the ``similaridade`` (0–1) and the ``probabilidade`` band.
- Errors come as ``[{"code": "DV040", "message": …}]`` (or one object): DV040 means there is no
  photo for the CPF to compare with.

Every call has a bounded timeout; a failure, a timeout or an answer that does not read as the
contract fails closed (``service_unavailable``): no answer is never a match.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from typing import Any

import httpx

from guarita.domain.errors import ErrorCode, GuaritaError

PHOTO_NOT_AVAILABLE = "DV040"


@dataclass(frozen=True)
class DatavalidAnswer:
    available: bool
    similarity: float
    probability: str | None


class DatavalidError(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code


def unavailable() -> GuaritaError:
    return GuaritaError(ErrorCode.SERVICE_UNAVAILABLE, message=(
        "A validação facial está fora do ar no momento. Tente mais tarde ou use outra forma de "
        "recuperação."))


class DatavalidClient:
    def __init__(self, *, token_url: str, url: str, consumer_key: str, consumer_secret: str,
                 timeout: float, transport: httpx.AsyncBaseTransport | None = None):
        self.token_url = token_url
        self.url = url
        self._basic = (consumer_key, consumer_secret)
        self.timeout = timeout
        self._transport = transport
        self._token: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    async def _new_token(self, client: httpx.AsyncClient) -> str:
        response = await client.post(self.token_url, data={"grant_type": "client_credentials"},
                                     auth=self._basic)
        if response.status_code != 200:
            raise DatavalidError("token", f"HTTP {response.status_code}")
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise DatavalidError("token", "sem access_token")
        lifetime = float(body.get("expires_in") or 300)
        self._token = (token, time.monotonic() + max(0.0, lifetime - 30))
        return token

    async def _bearer(self, client: httpx.AsyncClient, *, renew: bool = False) -> str:
        async with self._lock:
            if not renew and self._token and self._token[1] > time.monotonic():
                return self._token[0]
            return await self._new_token(client)

    async def compare(self, cpf: str, jpeg: bytes) -> DatavalidAnswer:
        """Datavalid's verdict, or :class:`DatavalidError`; raises ``service_unavailable``
        when the service fails or does not answer within the timeout."""
        body = {"cpf": cpf, "validacao": {"biometria_face": base64.b64encode(jpeg).decode()}}
        try:
            async with asyncio.timeout(self.timeout):
                async with httpx.AsyncClient(timeout=self.timeout,
                                             transport=self._transport) as client:
                    response = await self._post(client, body)
                    if response.status_code == 401:
                        await self._bearer(client, renew=True)
                        response = await self._post(client, body)
                    return _read(response)
        except DatavalidError as error:
            if error.code == PHOTO_NOT_AVAILABLE:
                raise
            raise unavailable() from error
        except (httpx.HTTPError, TimeoutError, ValueError) as error:
            raise unavailable() from error

    async def _post(self, client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
        token = await self._bearer(client)
        return await client.post(self.url, json=body,
                                 headers={"Authorization": f"Bearer {token}",
                                          "Accept": "application/json"})


def _read(response: httpx.Response) -> DatavalidAnswer:
    payload = response.json()
    if response.status_code != 200:
        errors = payload if isinstance(payload, list) else [payload]
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        raise DatavalidError(str(first.get("code", f"HTTP {response.status_code}")),
                             str(first.get("message", "")))
    face = payload.get("biometria_face") if isinstance(payload, dict) else None
    if not isinstance(face, dict) or "disponivel" not in face:
        raise DatavalidError("contract", "resposta sem biometria_face.disponivel")
    available = bool(face.get("disponivel"))
    similarity = float(face.get("similaridade") or 0.0) if available else 0.0
    return DatavalidAnswer(available=available, similarity=similarity,
                           probability=face.get("probabilidade"))
