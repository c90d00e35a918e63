"""``guarita clients`` and ``guarita keys`` against the running server's database."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.interop.conftest import GUARITA

pytestmark = pytest.mark.interop


def test_clients_add_shows_the_secret_once_and_list_never(live_server):
    added = live_server.cli(
        "clients",
        "add",
        "--name",
        "Aplicativo do Instituto",
        "--public",
        "--native",
        "--redirect-uri",
        "br.gov.exemplo.app:/callback",
        "--redirect-uri",
        "http://127.0.0.1/callback",
        "--scopes",
        "openid profile",
    )
    assert added["client_secret"] is None and added["token_endpoint_auth_method"] == "none"
    backend = live_server.cli(
        "clients",
        "add",
        "--name",
        "Sistema de benefícios",
        "--grant-type",
        "client_credentials",
        "--scopes",
        "beneficiarios.leitura",
    )
    assert len(backend["client_secret"]) >= 43  # 256 bits
    listed = live_server.cli("clients", "list")
    assert {c["client_id"] for c in listed} >= {added["client_id"], backend["client_id"]}
    assert backend["client_secret"] not in str(listed)
    assert not any({"client_secret", "secret_hash"} & set(c) for c in listed)
    token = httpx.post(
        live_server.base_url + "/oauth/token",
        auth=(backend["client_id"], backend["client_secret"]),
        data={"grant_type": "client_credentials"},
    )
    assert token.status_code == 200 and token.json()["scope"] == "beneficiarios.leitura"


def test_bad_client_metadata_is_one_line_and_exit_1(live_server):
    done = subprocess.run(
        [str(GUARITA), "clients", "add", "--name", "X", "--redirect-uri", "http://evil.example/cb"],
        env=live_server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "https" in done.stderr and "Traceback" not in done.stderr


def test_keys_rotate_adds_keys_that_start_later(live_server):
    before = {k["kid"] for k in live_server.cli("keys", "list")}
    changes = live_server.cli("keys", "rotate")
    added = {c["kid"] for c in changes if not c.get("deleted")}
    assert len(added) == 2 and not added & before
    after = live_server.cli("keys", "list")
    assert {k["alg"] for k in after if k["kid"] in added} == {"RS256", "ES256"}
    # The running server still signs with the old keys: the new ones only start after the JWKS
    # cache time, so every relying party sees them first.
    assert all(k["superseded_at"] for k in after if k["kid"] in before)


def test_clients_add_govbr_profile_warns_that_sub_is_the_cpf(live_server):
    done = subprocess.run(
        [str(GUARITA), "clients", "add", "--name", "Portal legado do gov.br", "--profile", "govbr",
         "--redirect-uri", "https://portal.example.gov.br/callback"],
        env=live_server.env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "sub é o CPF" in " ".join(done.stdout.split())
    listed = subprocess.run(
        [str(GUARITA), "clients", "list"], env=live_server.env, capture_output=True, text=True,
        timeout=60,
    )
    assert "gov.br" in listed.stdout
    # A standard client is warned of nothing.
    plain = live_server.cli("clients", "add", "--name", "Portal", "--redirect-uri",
                            "https://portal.example.gov.br/cb2")
    assert plain["profile"] == "standard" and plain["warnings"] == []


def test_clients_legal_basis_on_add_and_update(live_server):
    added = live_server.cli(
        "clients", "add", "--name", "Portal do Beneficiário",
        "--redirect-uri", "https://portal.example.org/callback",
        "--legal-basis", "legal_duty", "--legal-basis-text", "Lei 8.213/1991, art. 124",
    )
    assert added["legal_basis"] == "legal_duty"
    assert added["legal_basis_text"] == "Lei 8.213/1991, art. 124"
    updated = live_server.cli("clients", "update", added["client_id"], "--legal-basis", "consent")
    assert (updated["legal_basis"], updated["legal_basis_text"]) == ("consent", None)
    default = live_server.cli(
        "clients", "add", "--name", "Outro", "--redirect-uri", "https://outro.example.org/cb",
    )
    assert default["legal_basis"] == "consent"
    refused = subprocess.run(
        [str(GUARITA), "clients", "update", added["client_id"], "--legal-basis", "legal_duty"],
        env=live_server.env, capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode == 1 and "informe a lei ou o contrato" in refused.stderr
