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


class TinyTiles:
    """The smallest recovery sampler (``train_recovery``'s sampler factory): random 16²
    tiles in [-1, 1], a square hole, a random 384-d prompt embedding, seeded."""

    def __init__(self, seed):
        import torch

        self.g = torch.Generator().manual_seed(seed)

    def sample(self, n):
        import torch

        x = torch.rand(n, 3, 16, 16, generator=self.g) * 2 - 1
        mask = torch.zeros(n, 1, 16, 16)
        mask[..., 4:12, 4:12] = 1
        return x.numpy(), mask.numpy(), torch.randn(n, 384, generator=self.g).numpy()


@pytest.fixture
def tiny_tiles():
    """:class:`TinyTiles`, the class itself (a sampler factory)."""
    return TinyTiles
