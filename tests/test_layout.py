"""House rule: handlers are thin. These handler modules reach the database only through
bot/services; a repository or SQLAlchemy import here would put SQL back in a Router."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Every handler module, the organiser's view (handlers/workshop_admin.py) included.
THIN = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "handlers").glob("*.py") if p.name != "__init__.py"
)


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


ALLOWED_SQLALCHEMY = {"sqlalchemy.ext.asyncio", "sqlalchemy.ext.asyncio.AsyncSession"}


def is_sql(module: str) -> bool:
    """A repository or SQLAlchemy proper; the AsyncSession type for annotations is fine."""
    if module.startswith("storage.repositories"):
        return True
    return module.split(".")[0] == "sqlalchemy" and module not in ALLOWED_SQLALCHEMY


@pytest.mark.parametrize("handler", THIN)
def test_handler_calls_services_not_storage(handler: str) -> None:
    assert sorted(m for m in imported_modules(ROOT / handler) if is_sql(m)) == []


def test_every_handler_module_is_checked() -> None:
    """A new handler file is covered without anyone remembering to list it."""
    assert "handlers/workshop_admin.py" in THIN
    assert len(THIN) >= 15
