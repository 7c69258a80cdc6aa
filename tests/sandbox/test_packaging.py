"""The package as a user installs it: a wheel built from this tree, installed in a fresh
virtualenv, runs `coalmine rehearse` on a shipped scenario from a directory that is not a checkout,
and `coalmine deploy` needs nothing but boto3 and pydantic.

Offline: the wheel is built without build isolation (setuptools and wheel come from the dev
environment) and the fresh virtualenv borrows the dev environment's third-party packages through a
path entry placed after its own site-packages, so it installs nothing from a registry.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "CONTRIBUTING.md",
    "LICENSE",
    "template.yaml",
)
TREES = ("functions", "sandbox", "cli", "statemachine", "layers", "scenarios", "events", "docs")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")
#: Packages the sandbox extra brings; `coalmine deploy` must run with none of them importable.
SANDBOX_ONLY = ("moto", "aws_lambda_powertools", "time_machine", "samtranslator", "yaml")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the tree, so the build leaves nothing in the checkout."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        shutil.copy2(REPO / name, src / name)
    for name in TREES:
        shutil.copytree(REPO / name, src / name, ignore=SKIP)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=src,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("coalmine-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed (no dependencies from a registry)."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, capture_output=True)
    py = root / "bin" / "python"
    subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    purelib = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    borrowed = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    Path(purelib, "zz_borrowed_dependencies.pth").write_text(
        "\n".join(dict.fromkeys(borrowed)) + "\n"
    )
    return root


def _run(venv: Path, args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)


def test_the_wheel_holds_the_project_packages_and_the_sandbox_bundle(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.startswith("coalmine-")}
    assert top == {"coalmine", "coalmine_sandbox", "coalmine_cli"}
    bundle = "coalmine_sandbox/bundle/"
    for needed in (
        "template.yaml",
        "statemachine/deployment.asl.json",
        "functions/orchestrator/coalmine/handlers/analyze.py",
        "functions/brand_api/brand_api/app.py",
        "scenarios/healthy-canary.json",
        "events/execution-canary.json",
    ):
        assert bundle + needed in names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    base = [line for line in requires if "extra ==" not in line]
    assert sorted(line.split()[1].split(">")[0] for line in base) == ["boto3", "pydantic"]


def test_rehearse_runs_a_shipped_scenario_outside_a_checkout(venv: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    done = _run(
        venv,
        [str(venv / "bin" / "coalmine"), "rehearse", "healthy-canary", "--json", str(out)],
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["outcome"] == "PROMOTED"
    show_root = "import coalmine_sandbox.resources as r; print(r.REPO)"
    where = _run(venv, [str(venv / "bin" / "python"), "-c", show_root], cwd=tmp_path)
    assert "site-packages" in where.stdout
    assert where.stdout.strip().endswith("coalmine_sandbox/bundle")


def test_deploy_needs_only_boto3_and_pydantic(venv: Path, tmp_path: Path) -> None:
    """Bad input is refused locally (exit 2, field named) with every sandbox-only package made
    unimportable: deploy's code path imports none of them."""
    bad = tmp_path / "input.json"
    request = {"functionName": "brand-api", "targetVersion": "3", "strategy": "Canary"}
    bad.write_text(json.dumps(request))
    blocker = (
        "import sys, importlib.abc\n"
        f"BLOCKED = {SANDBOX_ONLY!r}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError(f'{name} is not installed')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from coalmine_cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:coalmine"
    deploy = ["deploy", "--input", str(bad), "--state-machine-arn", arn, "--region", "us-east-1"]
    done = _run(venv, [str(venv / "bin" / "python"), "-c", blocker, *deploy], cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "strategy" in done.stderr
