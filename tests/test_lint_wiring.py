"""`make test` lints first, and the layers of DESIGN.md › Layout hold (import-linter contracts in
pyproject.toml): CI runs `make test`, so a broken layer stops it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_test_runs_ruff_and_lint_imports_before_the_suite():
    plan = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True  # noqa: S607
    ).stdout
    ruff = plan.index("ruff check src tests bench")
    layers = plan.index("lint-imports")
    suite = plan.index("scripts/test-all.sh")
    assert ruff < suite and layers < suite


def test_the_import_layers_hold():
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "lint-imports")], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
