import numpy as np
import pytest
from PIL import Image

from privsem.errors import PrivsemError
from privsem.imageio import load_image, save_image


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "I;16", "F", "1"])
def test_modes_become_rgb(tmp_path, mode):
    rng = np.random.default_rng(0)
    if mode == "I;16":
        im = Image.fromarray((rng.random((20, 30)) * 65535).astype(np.uint16))
        assert im.mode.startswith("I;16")
    elif mode == "F":
        im = Image.fromarray(rng.random((20, 30)).astype(np.float32) * 100)
    else:
        im = Image.fromarray((rng.random((20, 30, 3)) * 255).astype(np.uint8)).convert(mode)
    path = tmp_path / ("x.tif" if mode in ("I;16", "F") else "x.png")
    im.save(path)
    img = load_image(path)
    assert img.shape == (20, 30, 3) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0 and img.max() > 0.2


def test_rgba_alpha_composited_on_black(tmp_path):
    a = np.zeros((4, 4, 4), np.uint8)
    a[..., :3] = 255
    a[:2, :, 3] = 255  # top half opaque white, bottom transparent
    Image.fromarray(a, "RGBA").save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert np.all(img[:2] == 1.0) and np.all(img[2:] == 0.0)


def test_bad_images(tmp_path):
    (tmp_path / "t.png").write_text("not an image")
    with pytest.raises(PrivsemError, match="cannot read image"):
        load_image(tmp_path / "t.png")
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(PrivsemError, match="cannot read image"):
        load_image(tmp_path / "e.png")
    with pytest.raises(PrivsemError, match="not found"):
        load_image(tmp_path / "missing.png")


def test_huge_image_refused(tmp_path, monkeypatch):
    import privsem.imageio as io

    save_image(tmp_path / "big.png", np.zeros((100, 100, 3), np.float32))
    monkeypatch.setattr(io, "MAX_PIXELS", 5000)
    with pytest.raises(PrivsemError, match="too large"):
        load_image(tmp_path / "big.png")
