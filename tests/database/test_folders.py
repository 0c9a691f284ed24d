import numpy as np
import pytest

from privsem.codec.data import skimage_image
from privsem.database import PrivacyDB
from privsem.database.folders import entity_name, import_folders
from privsem.errors import PrivsemError
from privsem.imageio import save_image


def test_cat_individuals_layout(tmp_path):
    src = tmp_path / "cat-individuals"
    img = skimage_image("chelsea")
    for cat, boxes in {"Vicky 01": [(0, 200, 0, 200), (50, 250, 100, 300), (100, 300, 200, 400)],
                       "Tom": [(0, 150, 250, 450)]}.items():
        (src / cat).mkdir(parents=True)
        for i, (y0, y1, x0, x1) in enumerate(boxes):
            save_image(src / cat / f"{i}.jpg", img[y0:y1, x0:x1])
        (src / cat / "notes.txt").write_text("not an image")
    names = import_folders(tmp_path / "db", src, max_samples=2)
    assert names == ["tom", "vicky_01"]
    db = PrivacyDB.open(tmp_path / "db")
    assert {e.name: (e.prompt, len(e.samples)) for e in db.entities} == {
        "tom": ("the cat Tom", 1), "vicky_01": ("the cat Vicky 01", 2)}
    assert all(np.isfinite(e.feature).all() for e in db.entities)


def test_bad_sources(tmp_path):
    with pytest.raises(PrivsemError, match="not a folder"):
        import_folders(tmp_path / "db", tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PrivsemError, match="no sub-folders"):
        import_folders(tmp_path / "db", tmp_path / "empty")
    assert entity_name("Mr. Whiskers!") == "mr_whiskers"
