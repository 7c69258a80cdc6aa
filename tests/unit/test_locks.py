"""Every Lambda bundle and layer installs from a lock file: requirements.txt, compiled by
`make lock` (uv pip compile --generate-hashes) from requirements.in.

- every requirement line pins one version (==) and carries its distributions' hashes, so pip
  installs in --require-hashes mode (a transitive dependency left out fails the build);
- the direct dependencies in requirements.in are all in the lock, at the version they name;
- one version of each package: the same in every lock file, and inside what pyproject.toml allows
  where it names the package too (the sandbox runs the same handlers).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def _bundles() -> list[Path]:
    """Every CodeUri / ContentUri directory of the template that has Python requirements."""
    uris = re.findall(r"^\s+(?:CodeUri|ContentUri): (\S+/)\s*$", TEMPLATE.read_text(), re.M)
    return sorted({ROOT / uri for uri in uris if (ROOT / uri / "requirements.in").is_file()})


def _lines(path: Path) -> list[str]:
    """The requirement lines of a requirements file, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    return [line.split(" #")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def _locked(path: Path) -> dict[str, str]:
    pins = {}
    for line in _lines(path):
        requirement = Requirement(line.split(" --hash")[0])
        [spec] = requirement.specifier
        pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def test_every_bundle_with_dependencies_has_a_lock() -> None:
    bundles = {p.relative_to(ROOT).as_posix() for p in _bundles()}

    assert bundles >= {
        "functions/brand_api",
        "functions/brand_api_smoke",
        "functions/asset_processor",
        "layers/dependencies",
    }
    # a requirements.txt with requirements but no requirements.in would be an unlocked list
    # (sample_faults' names none: the layer has no third-party dependencies)
    for uri in re.findall(r"^\s+(?:CodeUri|ContentUri): (\S+/)\s*$", TEMPLATE.read_text(), re.M):
        requirements = ROOT / uri / "requirements.txt"
        if requirements.is_file() and _lines(requirements):
            assert (ROOT / uri / "requirements.in").is_file(), uri


@pytest.mark.parametrize("bundle", _bundles(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_line_is_pinned_with_hashes(bundle: Path) -> None:
    lines = _lines(bundle / "requirements.txt")

    assert lines
    for line in lines:
        requirement = Requirement(line.split(" --hash")[0])
        [spec] = requirement.specifier
        assert spec.operator == "==", line
        assert HASH.search(line), f"no hash: {line}"
        assert not requirement.extras, f"extras resolve at install time: {line}"


@pytest.mark.parametrize("bundle", _bundles(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_lock_holds_the_direct_dependencies_at_their_versions(bundle: Path) -> None:
    locked = _locked(bundle / "requirements.txt")
    direct = [Requirement(line) for line in _lines(bundle / "requirements.in")]

    assert direct
    for requirement in direct:
        name = canonicalize_name(requirement.name)
        assert name in locked, requirement
        assert requirement.specifier.contains(locked[name]), (requirement, locked[name])
    # and the transitive ones (Powertools' tracer brings aws-xray-sdk and wrapt)
    if any("tracer" in r.extras for r in direct):
        assert {"aws-xray-sdk", "wrapt"} <= set(locked)


def test_one_version_of_each_package_across_the_locks_and_pyproject() -> None:
    versions: dict[str, dict[str, str]] = {}
    for bundle in _bundles():
        for name, version in _locked(bundle / "requirements.txt").items():
            versions.setdefault(name, {})[bundle.relative_to(ROOT).as_posix()] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"]] + [
        Requirement(r) for extra in project["optional-dependencies"].values() for r in extra
    ]

    assert {"pydantic", "pydantic-core", "aws-xray-sdk", "wrapt", "jmespath"} <= set(versions)
    for name, where in versions.items():
        assert len(set(where.values())) == 1, (name, where)
    compared = 0
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        if name in versions:
            [version] = set(versions[name].values())
            assert requirement.specifier.contains(version), (str(requirement), version)
            compared += 1
    assert compared >= 2  # aws-lambda-powertools and pydantic at least
