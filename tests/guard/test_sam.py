"""SAM backends with randomly initialised models of the real architectures: shapes, the
checkpoint path a user would take, and the whole guard path (not quality)."""

import numpy as np
import pytest
import torch

from privsem.errors import PrivsemError
from privsem.guard import build_encoder
from privsem.guard.sam import build_sam


@pytest.fixture(scope="module")
def vit_t_checkpoint(tmp_path_factory):
    """A randomly initialised MobileSAM saved the way a user's checkpoint is (state dict)."""
    torch.manual_seed(0)
    _, model = build_sam("mobilesam-vit_t", random_init=True)
    path = tmp_path_factory.mktemp("sam") / "mobile_sam_random.pt"
    torch.save(model.state_dict(), path)
    return path


def test_checkpoint_is_required_and_checked(tmp_path, vit_t_checkpoint):
    with pytest.raises(PrivsemError, match="needs a checkpoint"):
        build_encoder("sam-vit_b")
    with pytest.raises(PrivsemError, match="checkpoint not found"):
        build_encoder("sam-vit_b", tmp_path / "missing.pth")
    with pytest.raises(PrivsemError, match="is not a sam-vit_b checkpoint"):
        build_encoder("sam-vit_b", vit_t_checkpoint)  # MobileSAM weights into ViT-B


def test_mobilesam_full_guard_path(tmp_path, vit_t_checkpoint, example_db, monkeypatch):
    from privsem.database import distractors, store

    # the negative bank's photos and the encoder mean's 14 pictures cost a 1024-px SAM
    # pass each (1.6 s here): this test is about SAM's path, three make the mean
    monkeypatch.setattr(store, "NEGATIVE_IMAGES", [])
    monkeypatch.setattr(store, "GENERIC_IMAGES", store.GENERIC_IMAGES[:3])
    monkeypatch.setattr(distractors, "generic_photo_names", lambda: [])
    store._negative_feature_maps.cache_clear()
    store._generic_feature_maps.cache_clear()
    try:
        _mobilesam_guard(tmp_path, vit_t_checkpoint, example_db)
    finally:  # the cut-down maps must not outlive this test
        store._negative_feature_maps.cache_clear()
        store._generic_feature_maps.cache_clear()


def _mobilesam_guard(tmp_path, vit_t_checkpoint, example_db):
    from privsem.database import PrivacyDB
    from privsem.guard import Guard
    from privsem.imageio import load_image

    db = PrivacyDB.create(tmp_path / "db", encoder="mobilesam-vit_t", checkpoint=vit_t_checkpoint)
    masks = sorted((example_db[0] / "masks/chelsea").glob("0[01].png"))
    db.add("chelsea", "the cat Chelsea", sorted((example_db[0] / "samples/chelsea").glob("0[01].png")), masks=masks)
    db = PrivacyDB.open(tmp_path / "db")
    e = db.entities[0]
    assert e.feature.shape == (256,) and db.encoder_checkpoint == str(vit_t_checkpoint.resolve())
    img = load_image(example_db[1] / "chelsea.png")
    feats = db.encoder().features(img)
    assert feats.shape == (-(-int(300 * 1024 / 451 + 0.5) // 16), 64, 256)
    r = Guard(db, threshold=-1.0)(img)  # every entity "found": SAM's decoder makes the mask
    assert r.detected == ["chelsea"] and r.mask.shape == (300, 451) and r.mask.dtype == bool
    assert len(r.points["chelsea"]) >= 1


def test_vit_b_features_and_mask():
    enc = build_encoder("sam-vit_b", random_init=True)
    img = np.random.default_rng(0).random((64, 96, 3)).astype(np.float32)
    f = enc.features(img)
    assert f.shape == (43, 64, 256) and f.dtype == np.float32
    m = enc.mask(img, np.array([[32, 48]]))
    assert m.shape == (64, 96) and m.dtype == bool


@pytest.mark.parametrize("name, params_m", [("sam-vit_l", 312), ("sam-vit_h", 641)])
def test_large_architectures_build(name, params_m):
    _, model = build_sam(name, random_init=True)
    n = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(n - params_m) < 10
    assert model.image_encoder.neck[0].out_channels == 256
