"""The provider's pure pieces: PKCE, redirect URI matching, trust levels, subjects, claims,
error descriptions, client metadata checks."""

from __future__ import annotations

from datetime import date

import pytest

from guarita.oidc import acr, pkce, redirect_uris
from guarita.oidc.claims import Person, claims_for
from guarita.oidc.clients import ClientRegistrationError, ClientSpec, _checked
from guarita.oidc.errors import OAuthError, OAuthErrorCode, spec_charset
from guarita.oidc.subject import sector_of, subject
from guarita.storage.plain_sql import Sql

SECRET = b"k" * 48


def test_pkce_s256_rfc7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # noqa: S105 - the RFC's example
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce.s256(verifier) == challenge
    assert pkce.verifier_matches(verifier, challenge, "S256")
    assert not pkce.verifier_matches(verifier, challenge, "plain")
    assert not pkce.verifier_matches(verifier, None, None)
    assert not pkce.verifier_matches("curto", pkce.s256("curto"), "S256")  # RFC 7636 §4.1: 43+
    assert pkce.challenge_problem(challenge, "S256") is None
    assert pkce.challenge_problem(challenge, None) and pkce.challenge_problem(None, "S256")
    assert pkce.challenge_problem("x" * 10, "S256")


@pytest.mark.parametrize(
    "registered,requested,ok",
    [
        (["https://a.example/cb"], "https://a.example/cb", True),
        (["https://a.example/cb"], "https://a.example/cb/", False),
        (["https://a.example/cb"], "https://A.example/cb", False),
        (["http://127.0.0.1/cb"], "http://127.0.0.1:49152/cb", True),
        (["http://127.0.0.1:8001/cb"], "http://127.0.0.1:9/cb", True),
        (["http://[::1]/cb"], "http://[::1]:6000/cb", True),
        (["http://127.0.0.1/cb"], "http://127.0.0.1:1/other", False),
        (["http://127.0.0.1/cb"], "http://127.0.0.1:abc/cb", False),
        (["http://127.0.0.1/cb"], "http://evil@127.0.0.1:80/cb", False),
        (["http://localhost/cb"], "http://localhost:5000/cb", False),  # RFC 8252 §8.3: IP literals
        (["https://a.example/cb"], "https://a.example:443/cb", False),
    ],
)
def test_redirect_uri_matching(registered, requested, ok):
    assert redirect_uris.matches(registered, requested, native=True) is ok


@pytest.mark.parametrize(
    "registered,requested",
    [
        (["http://127.0.0.1/cb"], "http://127.0.0.1:49152/cb"),
        (["http://127.0.0.1:8001/cb"], "http://127.0.0.1:9/cb"),
        (["http://[::1]/cb"], "http://[::1]:6000/cb"),
    ],
)
def test_any_port_loopback_is_for_native_clients_only(registered, requested):
    """RFC 8252 §7.3 is the native apps' exception: a web client's loopback redirect is exact,
    or a program on another local port of the person's machine could take the web client's
    code."""
    assert redirect_uris.matches(registered, requested, native=True)
    assert not redirect_uris.matches(registered, requested, native=False)
    assert redirect_uris.matches(registered, registered[0], native=False)


@pytest.mark.parametrize(
    "uri,native,ok",
    [
        ("https://a.example/cb", False, True),
        ("http://127.0.0.1:8001/cb", False, True),
        ("http://a.example/cb", False, False),
        ("https://a.example/cb#x", False, False),
        ("br.gov.exemplo.app:/cb", True, True),
        ("br.gov.exemplo.app:/cb", False, False),
        ("javascript:alert(1)", True, False),
    ],
)
def test_redirect_uri_registration(uri, native, ok):
    assert (redirect_uris.problem(uri, native=native) is None) is ok


def test_trust_levels():
    assert acr.requested_levels("urn:guarita:loa:prata urn:x urn:guarita:loa:nada") == ["prata"]
    assert acr.satisfies("ouro", ["prata"]) and acr.satisfies("prata", ["prata"])
    assert not acr.satisfies("bronze", ["prata"])
    assert acr.satisfies("bronze", ["ouro", "bronze"])  # the weakest listed is the minimum
    assert acr.satisfies("bronze", [])
    assert acr.value_of("prata") == "urn:guarita:loa:prata"


def test_subjects():
    assert subject("abc", "public", None, SECRET) == "abc"
    one = subject("abc", "pairwise", "portal.example.org", SECRET)
    assert one == subject("abc", "pairwise", "portal.example.org", SECRET)
    assert one != subject("abc", "pairwise", "outro.example.org", SECRET)
    assert one != subject("abd", "pairwise", "portal.example.org", SECRET)
    assert len(one) == 43 and "abc" not in one
    assert sector_of(["https://a.example/1", "https://a.example/2"]) == "a.example"
    assert sector_of(["https://a.example/1", "https://b.example/2"]) is None


def test_claims_only_verified_contacts():
    person = Person(
        "id1",
        "active",
        "prata",
        False,
        "Ana",
        date(1944, 1, 27),
        identifiers={
            "email": ("a@example.com", False),
            "phone": ("+5561999990000", True),
            "cpf": ("12345678909", True),
            "card": ("200100033", True),
        },
    )
    found = claims_for(
        person, ["openid", "email", "phone", "cpf", "beneficiary", "trust", "profile"], "s"
    )
    assert "email" not in found and found["phone_number_verified"] is True
    assert found["birthdate"] == "1944-01-27" and found["trust_level"] == "prata"
    assert found["trust_level_method"] == "registry_match"
    assert claims_for(person, ["openid"], "s") == {"sub": "s"}


def test_error_descriptions_use_the_allowed_characters():
    assert spec_charset('código "inválido" \\ já') == "codigo invalido  ja"
    error = OAuthError(OAuthErrorCode.INVALID_GRANT, "código expirado")
    assert error.body() == {"error": "invalid_grant", "error_description": "codigo expirado"}
    assert OAuthError(OAuthErrorCode.INVALID_CLIENT).status == 401


def test_client_metadata_checks():
    with pytest.raises(ClientRegistrationError, match="endereço de retorno"):
        _checked(ClientSpec(name="x"))
    with pytest.raises(ClientRegistrationError, match="JWKS"):
        _checked(
            ClientSpec(
                name="x", redirect_uris=["https://a.example/cb"], auth_method="private_key_jwt"
            )
        )
    with pytest.raises(ClientRegistrationError, match="públicos"):
        _checked(ClientSpec(name="x", public=True, grant_types=["client_credentials"]))
    spec = _checked(
        ClientSpec(name=" Portal ", redirect_uris=["https://a.example/cb"], scopes=["profile"])
    )
    assert spec.scopes == ["openid", "profile"] and spec.auth_method == "client_secret_basic"
    assert (
        _checked(
            ClientSpec(name="x", redirect_uris=["https://a.example/cb"], subject_type="pairwise")
        ).sector_identifier
        == "a.example"
    )


def test_sql_placeholders_for_asyncpg():
    statement = Sql("SELECT :a, :b, :a FROM t WHERE x = ':not' AND y::text = :b")
    text, names = statement.numbered
    assert names == ("a", "b")
    assert text == "SELECT $1, $2, $1 FROM t WHERE x = ':not' AND y::text = $2"
