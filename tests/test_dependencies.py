"""The declared dependency floors keep out releases with known security holes."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# aiohttp 3.12.14 fixed the last known request-smuggling issue in its HTTP parser.
AIOHTTP_FLOOR = Version("3.12.14")


def requirement(name: str) -> Requirement:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    found = [Requirement(d) for d in dependencies if Requirement(d).name.lower() == name]
    assert len(found) == 1, name
    return found[0]


def test_aiohttp_floor_excludes_releases_with_request_smuggling() -> None:
    spec = requirement("aiohttp").specifier
    assert not spec.contains("3.12.13") and not spec.contains("3.9.5")
    assert spec.contains(str(AIOHTTP_FLOOR))
    assert not spec.contains("4.0.0")


def test_the_installed_aiohttp_has_the_fixes() -> None:
    installed = Version(version("aiohttp"))
    assert installed >= AIOHTTP_FLOOR
    assert requirement("aiohttp").specifier.contains(installed)
