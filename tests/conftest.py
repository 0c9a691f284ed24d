import pytest


@pytest.fixture(scope="session")
def example_db(tmp_path_factory):
    """The example DB and its scenes, built once per test session: (db_dir, scenes_dir)."""
    from privsem.database.example import build_example_db

    root = tmp_path_factory.mktemp("example")
    build_example_db(root / "db", root / "scenes")
    return root / "db", root / "scenes"
