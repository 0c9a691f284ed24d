import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def example_db(tmp_path_factory):
    """The example DB and its scenes, built once per test session: (db_dir, scenes_dir)."""
    from privsem.database.example import build_example_db

    root = tmp_path_factory.mktemp("example")
    build_example_db(root / "db", root / "scenes")
    return root / "db", root / "scenes"


@pytest.fixture
def keep_screenshot():
    """``keep_screenshot(path)``: also copy a screenshot a test took into
    ``$PRIVSEM_SCREENSHOT_DIR`` when set (docs/view.md's come from ``docs/view``)."""

    def keep(path: Path) -> None:
        d = os.environ.get("PRIVSEM_SCREENSHOT_DIR")
        if d:
            Path(d).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(d) / Path(path).name)

    return keep
