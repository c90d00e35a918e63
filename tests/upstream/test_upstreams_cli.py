"""``guarita upstreams add | list | disable | enable | remove`` as an operator runs them
(``docs/upstreams.md`` › Registering a provider): the secret from a file or the environment,
stored sealed and never shown; a key pair per private_key_jwt provider with its JWKS URL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
from pathlib import Path

from guarita.storage.upstream_tables import UpstreamProvider
from tests.support.server import GUARITA, ROOT, migrate, server_env

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GUARITA), "upstreams", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def _rows(url: str) -> list[UpstreamProvider]:
    from sqlalchemy import select

    from guarita.runtime import Runtime
    from tests.conftest import make_settings

    async def read():  # noqa: ANN202
        runtime = Runtime.build(make_settings(url))
        try:
            async with runtime.db.read() as session:
                return list((await session.execute(select(UpstreamProvider))).scalars())
        finally:
            await runtime.close()

    return asyncio.run(read())


def test_add_list_disable_remove_with_the_secret_never_on_the_command_line():
    directory = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{directory}/u.db"
    migrate(url)
    env = server_env(url, GUARITA_BASE_URL="https://guarita.exemplo.gov.br")
    secret_file = directory / "segredo.txt"
    secret_file.write_text("s3gr3do-do-banco-exemplo\n")
    logo = directory / "logo.png"
    logo.write_bytes(PNG)

    added = run(env, "add", "--kind", "bank", "--name", "Banco Exemplo", "--code", "001",
                "--issuer", "https://banco.exemplo.com.br", "--client-id", "guarita-inss",
                "--client-secret-file", str(secret_file), "--logo", str(logo), "--json")
    assert added.returncode == 0, added.stderr
    bank = json.loads(added.stdout)
    assert bank["id"] == "banco-exemplo" and bank["kind"] == "bank"
    assert bank["redirect_uri"] == "https://guarita.exemplo.gov.br/upstream/callback"
    assert bank["scopes"] == "openid cpf" and bank["cpf_claim"] == "cpf"
    assert bank["has_secret"] and bank["has_logo"] and bank["jwks_url"] is None

    # The secret from the environment, for private_key_jwt none is taken: a key pair instead.
    pk = run({**env, "GUARITA_UPSTREAM_SECRET": "nao-usado"}, "add", "--kind", "bank",
             "--name", "Banco Aberto", "--issuer", "https://aberto.exemplo.com.br",
             "--client-id", "guarita", "--auth-method", "private_key_jwt", "--require-par",
             "--json")
    assert pk.returncode == 0, pk.stderr
    open_bank = json.loads(pk.stdout)
    assert open_bank["jwks_url"] == "https://guarita.exemplo.gov.br/upstream/banco-aberto/jwks.json"
    assert not open_bank["has_secret"] and open_bank["require_par"]

    from_env = run({**env, "GUARITA_UPSTREAM_SECRET": "segredo-do-gov"}, "add", "--kind",
                   "govbr", "--name", "gov.br", "--issuer", "https://sso.acesso.gov.br",
                   "--client-id", "guarita.exemplo.gov.br", "--json")
    assert from_env.returncode == 0, from_env.stderr
    gov = json.loads(from_env.stdout)
    assert gov["cpf_claim"] == "sub" and "govbr_confiabilidades" in gov["scopes"]

    listed = run(env, "list", "--json")
    assert listed.returncode == 0
    everything = listed.stdout + added.stdout + pk.stdout + from_env.stdout
    for secret in ("s3gr3do-do-banco-exemplo", "segredo-do-gov", "\"d\":", "\"p\":"):
        assert secret not in everything, secret
    assert [p["id"] for p in json.loads(listed.stdout)] == ["banco-exemplo", "banco-aberto",
                                                            "gov-br"]
    # At rest the secrets are sealed: the database file holds neither of them in clear.
    rows = {r.id: r for r in _rows(url)}
    assert rows["banco-exemplo"].secret_sealed.startswith("u1:")
    assert "s3gr3do" not in rows["banco-exemplo"].secret_sealed
    assert rows["banco-aberto"].private_key_sealed and '"d"' not in rows["banco-aberto"].public_jwk
    assert b"s3gr3do" not in (directory / "u.db").read_bytes()

    disabled = run(env, "disable", "banco-exemplo", "--json")
    assert disabled.returncode == 0 and json.loads(disabled.stdout)["enabled"] is False
    removed = run(env, "remove", "banco-aberto", "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout)["removed"]
    after = {p["id"]: p["enabled"] for p in json.loads(run(env, "list", "--json").stdout)}
    assert after == {"banco-exemplo": False, "gov-br": True}


def test_plain_refusals_for_what_cannot_work():
    directory = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{directory}/u.db"
    migrate(url)
    env = server_env(url, GUARITA_BASE_URL="https://guarita.exemplo.gov.br")
    base = ["add", "--kind", "bank", "--name", "Banco", "--client-id", "x"]
    cases = [
        (base + ["--issuer", "https://b.exemplo"], "segredo"),             # no secret anywhere
        (base + ["--issuer", "http://b.exemplo"], "https://"),              # not https
        (["add", "--kind", "nuvem", "--name", "B", "--client-id", "x", "--issuer",
          "https://b.exemplo", "--auth-method", "private_key_jwt"], "bank, govbr ou oidc"),
        (base + ["--issuer", "https://b.exemplo", "--auth-method", "private_key_jwt",
                 "--logo", str(directory / "nada.png")], "logotipo"),
        (["disable", "nao-existe"], "não encontrado"),
    ]
    for args, words in cases:
        done = run(env, *args)
        assert done.returncode == 1, (args, done.stdout)
        assert words in done.stderr + done.stdout, (args, done.stderr)
        assert "Traceback" not in done.stderr
    svg = directory / "logo.svg"
    svg.write_text("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    done = run(env, *base, "--issuer", "https://b.exemplo", "--auth-method", "private_key_jwt",
               "--logo", str(svg))
    assert done.returncode == 1 and "PNG ou JPEG" in done.stderr + done.stdout
