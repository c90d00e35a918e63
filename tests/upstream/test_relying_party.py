"""The relying party's own rules, against a real loopback server standing in for a provider
(``methods/upstream_rp.py``; docs/upstreams.md › The trip): the JWKS is cached and fetched again
only for an unknown ``kid`` (a rotation), at most every ``jwks_refresh_min_seconds``; discovery
whose ``issuer`` is another's, or without S256, is refused; a provider that never answers fails
within the bound."""

from __future__ import annotations

import json
import time

import pytest
from joserfc.jwk import RSAKey

from guarita.methods import upstream_rp
from guarita.methods.upstream_rp import UpstreamProblem
from tests.conftest import make_settings
from tests.support.http_server import RecordingHttpServer


def _settings(**upstream):  # noqa: ANN003, ANN202
    return make_settings("sqlite+aiosqlite:///:memory:",
                         upstream={"timeout_seconds": 1.0, **upstream})


def _jwks(*kids: str) -> str:
    return json.dumps({"keys": [RSAKey.generate_key(2048, parameters={"kid": k, "use": "sig"})
                                .as_dict(private=False) for k in kids]})


async def test_the_jwks_is_cached_and_fetched_again_only_for_an_unknown_kid():
    upstream_rp.forget_caches()
    settings = _settings(jwks_refresh_min_seconds=0)
    with RecordingHttpServer() as server:
        uri = server.url + "/jwks"
        server.respond(200, body=_jwks("a"))
        first = await upstream_rp.jwks(settings, uri, "a")
        again = await upstream_rp.jwks(settings, uri, "a")
        assert len(server.requests) == 1  # cached
        assert first.get_by_kid("a") is not None and again.get_by_kid("a") is not None
        server.respond(200, body=_jwks("a", "b"))  # the provider rotated
        rotated = await upstream_rp.jwks(settings, uri, "b")
        assert len(server.requests) == 2 and rotated.get_by_kid("b") is not None


async def test_unknown_kids_do_not_turn_guarita_into_a_flood():
    upstream_rp.forget_caches()
    settings = _settings(jwks_refresh_min_seconds=60)
    with RecordingHttpServer() as server:
        uri = server.url + "/jwks"
        server.respond(200, body=_jwks("a"))
        await upstream_rp.jwks(settings, uri, "a")
        for forged in ("x", "y", "z"):
            await upstream_rp.jwks(settings, uri, forged)
        assert len(server.requests) == 1


@pytest.mark.parametrize(("document", "reason"), [
    ({"issuer": "https://outro.exemplo", "authorization_endpoint": "a", "token_endpoint": "t",
      "jwks_uri": "j"}, "discovery_failed"),
    ({"authorization_endpoint": "a", "token_endpoint": "t", "jwks_uri": "j",
      "code_challenge_methods_supported": ["plain"]}, "discovery_failed"),
    ({"authorization_endpoint": "a", "jwks_uri": "j"}, "discovery_failed"),
])
async def test_discovery_that_cannot_be_trusted_is_refused(document, reason):
    upstream_rp.forget_caches()
    with RecordingHttpServer() as server:
        server.respond(200, body=json.dumps({"issuer": server.url, **document}))
        with pytest.raises(UpstreamProblem) as refused:
            await upstream_rp.discovery(_settings(), server.url)
    assert refused.value.reason == reason


async def test_a_provider_that_never_answers_fails_within_the_bound():
    upstream_rp.forget_caches()
    with RecordingHttpServer() as server:
        server.hang = True
        started = time.monotonic()
        with pytest.raises(UpstreamProblem) as refused:
            await upstream_rp.discovery(_settings(), server.url)
    assert refused.value.reason == "timeout"
    assert time.monotonic() - started < 3
