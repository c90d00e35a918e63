"""The OpenID provider under load: requests per CPU-second of the server, and p50/p99 latency.

Starts ``guarita serve`` (uvicorn, one worker) pinned to CPU 0 with a fresh database, prepares
what each endpoint needs (authorization codes, refresh tokens and access tokens written straight
to the database, the way the provider itself stores them), then drives every endpoint with
``wrk`` pinned to CPU 1. The server's CPU time is read from /proc before and after each run, so
the figure is requests per CPU-second of the server whatever the machine's other load. Then the
same for node-oidc-provider (frontend/node_modules, in-memory adapter, bench/node_provider.mjs)
on discovery, JWKS and client_credentials.

    .venv/bin/python bench/oidc.py [--seconds 10] [--connections 32] [--database-url URL]
                                   [--skip-node] [--only discovery,jwks,...]

Needs ``wrk`` (Debian package; installed here with apt-get when missing and running as root)
and ``taskset``. Every address is 127.0.0.1. Prints one table; docs/oidc.md keeps the figures
of a reference run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cpu import tree_cpu  # noqa: E402
from tests.support.captcha import solve  # noqa: E402
from tests.support.server import free_port, migrate, running_server, server_env  # noqa: E402

LUA = Path(__file__).with_name("wrk_bodies.lua")
NODE_PROVIDER = Path(__file__).with_name("node_provider.mjs")
NODE_MODULES = ROOT / "frontend" / "node_modules"
PASSWORD = "uma frase bem comprida para lembrar"  # noqa: S105 - a test account
REDIRECT = "https://portal.example.org/callback"
VERIFIER = "v" * 43 + "bench-verifier-0123456789"
TARGETS = {
    "discovery": 5000,
    "jwks": 5000,
    "token: authorization_code": 2000,
    "token: refresh_token": 2000,
    "userinfo": 4000,
    "introspection": 4000,
}


# -- measuring ---------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """CPU of a process, its live children and the children it reaped (``bench/cpu.py``): a
    PostgreSQL backend that exits during a row still counts."""
    return tree_cpu(pid)


@dataclass
class Result:
    endpoint: str
    server: str
    requests: int
    per_cpu_second: float
    per_second: float
    p50_ms: float
    p99_ms: float
    failures: int
    note: str = ""


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    url: str,
    *,
    server_pid: int,
    seconds: int,
    connections: int,
    headers: dict[str, str],
    body: str | None = None,
    bodies: Path | None = None,
    cpu: int | None,
    database_pid: int | None = None,
) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    env = {**os.environ, "WRK_METHOD": "POST" if (body or bodies) else "GET"}
    if body is not None:
        env["WRK_BODY"] = body
    if bodies is not None:
        env["WRK_BODIES"] = str(bodies)
    before = cpu_seconds(server_pid) + (cpu_seconds(database_pid) if database_pid else 0)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    used = cpu_seconds(server_pid) + (cpu_seconds(database_pid) if database_pid else 0) - before
    out = done.stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    failures = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        failures += sum(int(g) for g in errors.groups())
    return {
        "requests": total,
        "cpu": used,
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "failures": failures,
    }


def measure(
    name: str, server: str, url: str, pid: int, args: argparse.Namespace, *, note: str = "", **kw
) -> Result:  # noqa: ANN003
    # With --postgres the database's CPU counts too: both run on the server's core.
    database_pid = getattr(args, "database_pid", None) if server == "guarita" else None
    found = run_wrk(
        url,
        server_pid=pid,
        seconds=args.seconds,
        connections=args.connections,
        cpu=args.client_cpu,
        database_pid=None if note.startswith("with ") else database_pid,
        **kw,
    )
    per_cpu = found["requests"] / found["cpu"] if found["cpu"] > 0 else float("nan")
    return Result(
        name,
        server,
        found["requests"],
        per_cpu,
        found["rate"],
        found["p50"],
        found["p99"],
        found["failures"],
        note,
    )


# -- preparing what the token endpoints consume ------------------------------------------------
def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def prepare(database_url: str, base_url: str) -> dict:
    """A person, a portal client and a back-end client; codes are made later, just in time."""
    from tests.conftest import make_settings
    from tests.support.factories import add_beneficiary

    from guarita.oidc import clients
    from guarita.oidc.clients import ClientSpec
    from guarita.runtime import Runtime
    from guarita.services.registration import RegistrationInput, register
    from guarita.storage.audit import RequestContext

    runtime = Runtime.build(make_settings(database_url, base_url=base_url))
    try:
        b = await add_beneficiary(runtime, card="100200300")
        person = await register(
            runtime,
            RegistrationInput(
                b.card_number, b.cpf, False, b.birth_date.isoformat(), PASSWORD, PASSWORD,
                captcha=solve(runtime.settings),
            ),
            RequestContext(),
        )
        async with runtime.db.transaction() as session:
            portal, portal_secret = await clients.register(
                session, ClientSpec(name="Portal (bench)", redirect_uris=[REDIRECT])
            )
            portal_es, portal_es_secret = await clients.register(
                session,
                ClientSpec(
                    name="App (bench, ES256 ID tokens)",
                    redirect_uris=[REDIRECT],
                    id_token_alg="ES256",  # noqa: S106 - an algorithm name
                ),
            )
            backend, backend_secret = await clients.register(
                session,
                ClientSpec(
                    name="Sistema (bench)",
                    grant_types=["client_credentials"],
                    scopes=["beneficiarios"],
                ),
            )
        return {
            "account_id": person.account_id,
            "sid": person.session.sid,
            "portal": (portal.id, portal_secret),
            "portal_es": (portal_es.id, portal_es_secret),
            "backend": (backend.id, backend_secret),
        }
    finally:
        await runtime.close()


async def mint(
    database_url: str, base_url: str, ctx: dict, kind: str, count: int, client: str = "portal"
) -> list[str]:
    """``count`` authorization codes or refresh tokens, each with its own grant, in bulk."""
    from sqlalchemy import insert
    from tests.conftest import make_settings

    from guarita.oidc.pkce import s256
    from guarita.oidc.tokens import new_id, new_opaque, opaque_hash
    from guarita.runtime import Runtime
    from guarita.storage.oidc_tables import OidcAuthorizationCode, OidcGrant, OidcRefreshToken
    from guarita.storage.types import utcnow

    runtime = Runtime.build(make_settings(database_url, base_url=base_url))
    now = utcnow()
    client_id = ctx[client][0]
    scope = "openid profile email phone cpf beneficiary trust"
    values, grants, rows = [], [], []
    for _ in range(count):
        value, grant_id = new_opaque(), new_id()
        values.append(value)
        grants.append(
            {
                "id": grant_id,
                "client_id": client_id,
                "account_id": ctx["account_id"],
                "scope": scope,
                "sid": ctx["sid"],
                "auth_time": now,
                "acr": "urn:guarita:loa:bronze",
                "amr": ["pwd"],
                "created_at": now,
                "expires_at": now + timedelta(days=30),
            }
        )
        if kind == "code":
            rows.append(
                {
                    "code_hash": opaque_hash(value),
                    "grant_id": grant_id,
                    "client_id": client_id,
                    "redirect_uri": REDIRECT,
                    "code_challenge": s256(VERIFIER),
                    "code_challenge_method": "S256",
                    "nonce": "n",
                    "created_at": now,
                    "expires_at": now + timedelta(seconds=60),
                }
            )
        else:
            rows.append(
                {
                    "token_hash": opaque_hash(value),
                    "grant_id": grant_id,
                    "client_id": client_id,
                    "scope": scope,
                    "created_at": now,
                    "expires_at": now + timedelta(days=14),
                }
            )
    table = OidcAuthorizationCode if kind == "code" else OidcRefreshToken
    try:
        async with runtime.db.transaction() as session:
            for start in range(0, count, 2000):
                await session.execute(insert(OidcGrant), grants[start : start + 2000])
                await session.execute(insert(table), rows[start : start + 2000])
    finally:
        await runtime.close()
    return values


def body_file(directory: Path, name: str, lines: list[str]) -> Path:
    path = directory / f"{name}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


# -- node-oidc-provider ------------------------------------------------------------------------
@contextmanager
def node_provider(cpu: int | None):
    port = free_port()
    secret = secrets.token_urlsafe(32)
    command = ["node", str(NODE_PROVIDER)]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_SECRET": secret,
        "NODE_ENV": "production",
        "NODE_PATH": str(NODE_MODULES),
    }
    runnable = NODE_MODULES.parent / f".bench-node-provider-{os.getpid()}.mjs"
    shutil.copyfile(NODE_PROVIDER, runnable)  # ES modules resolve packages from their own folder
    command[command.index(str(NODE_PROVIDER))] = str(runnable)
    process = subprocess.Popen(  # noqa: S603 - fixed command
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts Python slowly
        while True:
            if process.poll() is not None:
                raise RuntimeError("node-oidc-provider saiu: " + process.stderr.read()[-2000:])
            try:
                if (
                    httpx.get(base + "/.well-known/openid-configuration", timeout=1).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("node-oidc-provider não subiu")
            time.sleep(0.1)
        yield base, process, ("bench-backend", secret)
    finally:
        process.terminate()
        process.wait(timeout=10)
        runnable.unlink(missing_ok=True)


# -- the run -----------------------------------------------------------------------------------
def ensure_tools() -> None:
    """wrk from Debian: installed when missing and running as root (one update, one install)."""
    apt = ["/usr/bin/apt-get", "-qq"]
    if shutil.which("wrk") is None and os.geteuid() == 0:
        subprocess.run([*apt, "install", "-y", "wrk"], check=False, capture_output=True)  # noqa: S603
        if shutil.which("wrk") is None:
            subprocess.run([*apt, "update"], check=False, capture_output=True)  # noqa: S603
            subprocess.run([*apt, "install", "-y", "wrk"], check=False, capture_output=True)  # noqa: S603
    if shutil.which("wrk") is None:
        raise SystemExit("wrk não está instalado: apt-get install wrk")


def guarita_runs(args: argparse.Namespace, directory: Path) -> list[Result]:
    url = args.database_url or f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    migrate(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ctx = asyncio.run(prepare(url, base))
    portal_auth = basic(*ctx["portal"])
    backend_auth = basic(*ctx["backend"])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    results: list[Result] = []
    wanted = set(args.only.split(",")) if args.only else None
    env = server_env(url, GUARITA_BASE_URL=base)
    with running_server(env, port=port, cpu=args.server_cpu) as (base, process):
        pid = process.pid
        # Warm up: keys generated, code paths and statement caches hot.
        httpx.get(base + "/oauth/jwks")
        cc = httpx.post(
            base + "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": backend_auth},
        )
        cc.raise_for_status()

        def want(name: str) -> bool:
            return wanted is None or name in wanted

        if want("discovery"):
            results.append(
                measure(
                    "discovery",
                    "guarita",
                    base + "/.well-known/openid-configuration",
                    pid,
                    args,
                    headers={},
                )
            )
        if want("jwks"):
            results.append(measure("jwks", "guarita", base + "/oauth/jwks", pid, args, headers={}))
        if want("client_credentials"):
            results.append(
                measure(
                    "token: client_credentials",
                    "guarita",
                    base + "/oauth/token",
                    pid,
                    args,
                    headers={**form, "Authorization": backend_auth},
                    body="grant_type=client_credentials",
                    note="JWT ES256",
                )
            )
        budget = int(args.seconds * args.expected_rate)
        if want("authorization_code"):
            codes = asyncio.run(mint(url, base, ctx, "code", budget))
            lines = [
                f"grant_type=authorization_code&code={c}&redirect_uri={REDIRECT}&code_verifier={VERIFIER}"
                for c in codes
            ]
            results.append(
                measure(
                    "token: authorization_code",
                    "guarita",
                    base + "/oauth/token",
                    pid,
                    args,
                    headers={**form, "Authorization": portal_auth},
                    bodies=body_file(directory, "codes", lines),
                    note="ID token RS256 + AT ES256 + RT, DB write",
                )
            )
        if want("authorization_code_es256"):
            codes = asyncio.run(mint(url, base, ctx, "code", budget, client="portal_es"))
            lines = [
                f"grant_type=authorization_code&code={c}&redirect_uri={REDIRECT}&code_verifier={VERIFIER}"
                for c in codes
            ]
            results.append(
                measure(
                    "token: authorization_code",
                    "guarita",
                    base + "/oauth/token",
                    pid,
                    args,
                    headers={**form, "Authorization": basic(*ctx["portal_es"])},
                    bodies=body_file(directory, "codes-es", lines),
                    note="same, client with ES256 ID tokens",
                )
            )
        if want("refresh_token"):
            tokens = asyncio.run(mint(url, base, ctx, "refresh", budget))
            lines = [f"grant_type=refresh_token&refresh_token={t}" for t in tokens]
            results.append(
                measure(
                    "token: refresh_token",
                    "guarita",
                    base + "/oauth/token",
                    pid,
                    args,
                    headers={**form, "Authorization": portal_auth},
                    bodies=body_file(directory, "refresh", lines),
                    note="rotation: AT ES256 + new RT, DB write",
                )
            )
        if want("userinfo") or want("introspection"):
            token = asyncio.run(mint(url, base, ctx, "refresh", 1))[0]
            access = httpx.post(
                base + "/oauth/token",
                headers={"Authorization": portal_auth},
                data={"grant_type": "refresh_token", "refresh_token": token},
            ).json()["access_token"]
            if want("userinfo"):
                results.append(
                    measure(
                        "userinfo",
                        "guarita",
                        base + "/oauth/userinfo",
                        pid,
                        args,
                        headers={"Authorization": f"Bearer {access}"},
                        note="all scopes, DB read",
                    )
                )
            if want("introspection"):
                results.append(
                    measure(
                        "introspection",
                        "guarita",
                        base + "/oauth/introspect",
                        pid,
                        args,
                        headers={**form, "Authorization": portal_auth},
                        body=f"token={access}&token_type_hint=access_token",
                        note="DB read",
                    )
                )
    return results


@contextmanager
def full_stack_server(args: argparse.Namespace, directory: Path):
    """Guarita without ``endpoints.fast_path`` (``app.create_app`` as the factory): discovery
    and JWKS through FastAPI's routing and the whole middleware stack, for comparison with
    ``guarita serve``, which answers them on the fast path (see docs/oidc.md)."""
    url = f"sqlite+aiosqlite:///{directory / 'full-stack.db'}"
    migrate(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(url, GUARITA_BASE_URL=base)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "guarita.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if args.server_cpu is not None:
        command = ["taskset", "-c", str(args.server_cpu), *command]
    process = subprocess.Popen(  # noqa: S603 - a fixed command
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts Python slowly
        while True:
            try:
                if httpx.get(base + "/oauth/jwks", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("o servidor sem fast path não subiu")
            time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def full_stack_runs(args: argparse.Namespace, directory: Path) -> list[Result]:
    with full_stack_server(args, directory) as (base, process):
        return [
            measure(
                "discovery",
                "guarita",
                base + "/.well-known/openid-configuration",
                process.pid,
                args,
                headers={},
                note="full stack, without endpoints.fast_path",
            ),
            measure(
                "jwks",
                "guarita",
                base + "/oauth/jwks",
                process.pid,
                args,
                headers={},
                note="full stack, without endpoints.fast_path",
            ),
        ]


SIGN_ALONE = """
import json, sys, time
from datetime import UTC, datetime
from guarita.oidc import keys, tokens
alg, seconds = sys.argv[1], float(sys.argv[2])
made = keys.generate(alg)
loaded = keys.LoadedKey(made.kid, alg, made, made.as_dict(private=False),
                        datetime(2020, 1, 1, tzinfo=UTC), None)
store = keys.KeyStore([loaded], type("S", (), {"id_token_ttl_seconds": 300,
                      "access_token_ttl_seconds": 300, "clock_skew_seconds": 0})(),
                      datetime.now(UTC))
auth = tokens.Authentication("a" * 43, 1_700_000_000, "urn:guarita:loa:bronze", ("pwd",), "s" * 22)
done, wall, cpu = 0, time.perf_counter(), time.process_time()
while time.perf_counter() - wall < seconds:
    for _ in range(50):
        tokens.id_token(store, issuer="http://127.0.0.1:8000", client_id="c" * 22, alg=alg,
                        auth=auth, nonce="n" * 22, ttl=300)
    done += 50
print(json.dumps({"done": done, "cpu": time.process_time() - cpu,
                  "wall": time.perf_counter() - wall}))
"""


def sign_alone(args: argparse.Namespace) -> list[Result]:
    """Reference rows: an ID token signed by ``tokens.id_token`` in a loop, alone on the server's
    core, so the table says how much of a grant's CPU the signature itself takes (an RS256
    signature with a 2048-bit key bounds what authorization_code can reach)."""
    results = []
    for alg in ("RS256", "ES256"):
        command = [sys.executable, "-c", SIGN_ALONE, alg, str(args.seconds)]
        if args.server_cpu is not None:
            command = ["taskset", "-c", str(args.server_cpu), *command]
        done = subprocess.run(  # noqa: S603 - a fixed command
            command, capture_output=True, text=True, check=True, cwd=ROOT
        )
        found = json.loads(done.stdout)
        results.append(
            Result(
                f"reference: {alg} ID token signed alone",
                "guarita",
                found["done"],
                found["done"] / found["cpu"],
                found["done"] / found["wall"],
                0.0,
                0.0,
                0,
                "tokens.id_token in a loop, no HTTP, no database",
            )
        )
    return results


def node_runs(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    with node_provider(args.server_cpu) as (base, process, (client_id, secret)):
        pid = process.pid
        httpx.get(base + "/jwks")
        results.append(
            measure(
                "discovery",
                "node-oidc-provider",
                base + "/.well-known/openid-configuration",
                pid,
                args,
                headers={},
            )
        )
        results.append(measure("jwks", "node-oidc-provider", base + "/jwks", pid, args, headers={}))
        results.append(
            measure(
                "token: client_credentials",
                "node-oidc-provider",
                base + "/token",
                pid,
                args,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": basic(client_id, secret),
                },
                body="grant_type=client_credentials",
                note="opaque AT, in memory",
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--database-url", default=None, help="padrão: SQLite num diretório temporário"
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="um PostgreSQL 15 descartável (fsync ligado); a CPU do banco entra na conta",
    )
    parser.add_argument(
        "--expected-rate",
        type=float,
        default=4000,
        help="códigos e refresh tokens preparados por segundo de teste",
    )
    parser.add_argument("--skip-node", action="store_true")
    parser.add_argument(
        "--only",
        default=None,
        help="discovery,jwks,client_credentials,authorization_code,authorization_code_es256,"
        "refresh_token,userinfo,introspection,sign (the reference rows come with"
        " authorization_code too)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    args.server_cpu, args.client_cpu = (0, 1) if cpus > 1 else (None, None)
    ensure_tools()
    args.database_pid = None
    cluster = None
    if args.postgres:
        from tests.support import postgres

        cluster = postgres.start(durable=True)
        args.database_url = cluster.url("guarita_bench")
        cluster.psql("CREATE DATABASE guarita_bench")
        args.database_pid = int(
            (cluster.directory / "data" / "postmaster.pid").read_text().split()[0]
        )
        if args.server_cpu is not None:  # the database shares the server's core
            subprocess.run(  # noqa: S603
                ["taskset", "-a", "-cp", str(args.server_cpu), str(args.database_pid)],  # noqa: S607
                check=False,
                capture_output=True,
            )
    try:
        with tempfile.TemporaryDirectory(prefix="guarita-bench-oidc-") as tmp:
            results = guarita_runs(args, Path(tmp))
            grants = {"authorization_code", "authorization_code_es256", "sign"}
            if args.only is None or grants & set(args.only.split(",")):
                results += sign_alone(args)
            if args.only is None or {"discovery", "jwks"} & set(args.only.split(",")):
                results += full_stack_runs(args, Path(tmp))
            if (
                not args.skip_node
                and shutil.which("node")
                and (NODE_MODULES / "oidc-provider").is_dir()
            ):
                results += node_runs(args)
    finally:
        if cluster is not None:
            cluster.stop()
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
        return
    where = (
        "PostgreSQL 15 (fsync on), its CPU included"
        if args.postgres
        else "SQLite (WAL, synchronous=FULL)"
    )
    table = Table(
        title=f"OpenID provider — {args.seconds} s per row, {args.connections} connections, "
        f"server on CPU {args.server_cpu}, wrk on CPU {args.client_cpu}; {where}"
    )
    for column in (
        "endpoint",
        "server",
        "req/CPU-s",
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "what",
    ):
        table.add_column(
            column, justify="right" if column not in ("endpoint", "server", "what") else "left"
        )
    for r in results:
        target = (
            TARGETS.get(r.endpoint)
            if r.server == "guarita" and not r.note.startswith(("same,", "with "))
            else None
        )
        table.add_row(
            r.endpoint,
            r.server,
            f"{r.per_cpu_second:,.0f}",
            f"≥ {target:,}" if target else "",
            f"{r.per_second:,.0f}",
            f"{r.p50_ms:.2f}" if r.p50_ms else "",
            f"{r.p99_ms:.2f}" if r.p99_ms else "",
            str(r.failures),
            r.note,
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
