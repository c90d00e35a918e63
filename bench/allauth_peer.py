"""django-allauth as the peer of ``bench/login.py``: a generic Django sign-in, measured the same way.

django-allauth 65 (headless, JSON: ``POST /_allauth/app/v1/auth/login``), Django's session in
SQLite, the same argon2id parameters as Guarita (m=19456 KiB, t=2, p=1), under gunicorn with one
sync worker pinned to the server's core. Its packages live in their own virtual environment,
``.bench-venv/allauth`` (made with pip on first use: they are no dependency of Guarita's), and
the Django project is written to the run's temporary directory. ``measure`` returns sign-ins per
CPU-second of gunicorn (master and worker, /proc), or None when the environment cannot be made.

By hand: ``python -m venv .bench-venv/allauth && .bench-venv/allauth/bin/pip install
'django-allauth[headless]>=65,<66' gunicorn argon2-cffi``, then ``bench/login.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from bench.cpu import tree_cpu

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench-venv" / "allauth"
PACKAGES = ["django-allauth[headless]>=65,<66", "gunicorn", "argon2-cffi"]
PASSWORD = "uma frase bem comprida para lembrar"  # noqa: S105 - a benchmark account

SETTINGS = '''
from pathlib import Path
from django.contrib.auth.hashers import Argon2PasswordHasher

HERE = Path(__file__).resolve().parent
SECRET_KEY = "bench-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "peer_urls"
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "allauth", "allauth.account", "allauth.headless",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(HERE / "peer.db"),
                         "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"}}}
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request"]}}]


class GuaritaArgon2(Argon2PasswordHasher):
    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19456
    parallelism = 1


PASSWORD_HASHERS = ["peer_settings.GuaritaArgon2"]
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_RATE_LIMITS = False
HEADLESS_ONLY = True
HEADLESS_CLIENTS = ("app",)
HEADLESS_FRONTEND_URLS = {}
USE_TZ = True
LOGGING = {"version": 1, "disable_existing_loggers": True}
'''

URLS = '''
from django.urls import include, path
urlpatterns = [path("_allauth/", include("allauth.headless.urls"))]
'''

SEED = '''
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "peer_settings"
import django
django.setup()
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management import call_command
call_command("migrate", verbosity=0)
hashed = make_password(sys.argv[2])
User.objects.bulk_create([User(username=f"user{i}", password=hashed) for i in range(int(sys.argv[1]))])
'''


@dataclass
class Peer:
    per_cpu: float
    wall: float
    failures: int


def environment() -> Path | None:
    """The peer's Python, its virtual environment made with pip on first use; None if it cannot."""
    python = VENV / "bin" / "python"
    if not python.exists():
        VENV.parent.mkdir(exist_ok=True)
        made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False)  # noqa: S603
        if made.returncode != 0:
            return None
        installed = subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES],  # noqa: S603
                                   check=False)
        if installed.returncode != 0:
            return None
    return python


def measure(directory: Path, users: int, requests: int, concurrency: int,
            cpu: int | None) -> Peer | None:
    python = environment()
    if python is None:
        return None
    project = directory / "allauth-peer"
    project.mkdir(exist_ok=True)
    (project / "peer_settings.py").write_text(SETTINGS)
    (project / "peer_urls.py").write_text(URLS)
    (project / "seed.py").write_text(SEED)
    subprocess.run([str(python), "seed.py", str(users), PASSWORD], cwd=project, check=True)  # noqa: S603
    port = _free_port()
    command = [str(python), "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
               "--env", "DJANGO_SETTINGS_MODULE=peer_settings", "django.core.wsgi:get_wsgi_application()"]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    process = subprocess.Popen(command, cwd=project)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, process)
        login = f"{base}/_allauth/app/v1/auth/login"
        body = json.dumps({"username": "user0", "password": PASSWORD})
        warm = httpx.post(login, content=body, headers={"Content-Type": "application/json"})
        if warm.status_code != 200:
            raise RuntimeError(f"django-allauth respondeu {warm.status_code}: {warm.text[:300]}")
        before = tree_cpu(process.pid)
        started = time.perf_counter()
        failures = _hammer(login, users, requests, concurrency)
        wall = time.perf_counter() - started
        used = tree_cpu(process.pid) - before
    finally:
        process.terminate()
        process.wait(timeout=10)
    return Peer(per_cpu=requests / used, wall=wall, failures=failures)


def _hammer(login: str, users: int, requests: int, concurrency: int) -> int:
    import asyncio

    async def run() -> int:
        queue = list(range(requests))
        failures = 0
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            async def worker() -> None:
                nonlocal failures
                while queue:
                    i = queue.pop()
                    response = await http.post(login, json={"username": f"user{i % users}",
                                                            "password": PASSWORD})
                    failures += response.status_code != 200

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return failures

    return asyncio.run(run())


def _wait(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn (django-allauth) saiu")
        try:
            httpx.get(f"{base}/_allauth/app/v1/config", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn (django-allauth) não subiu")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
