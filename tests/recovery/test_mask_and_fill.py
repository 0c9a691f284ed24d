import numpy as np
import pytest

from privsem.codec.data import skimage_image
from privsem.errors import PrivsemError
from privsem.recovery import OpenCVRecovery, PushPullRecovery, estimate_mask
from privsem.recovery.exemplar import resolve_prompt


def _hole(img):
    mask = np.zeros(img.shape[:2], bool)
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    mask[(yy - 200) ** 2 / 80**2 + (xx - 300) ** 2 / 120**2 < 1] = True
    return mask


def test_mask_estimate_finds_a_noisy_hole():
    img = skimage_image("coffee")
    mask = _hole(img)
    a = img * ~mask[..., None]
    noisy = np.clip(a + np.random.default_rng(0).normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    est = estimate_mask(noisy)
    iou = (est & mask).sum() / (est | mask).sum()
    assert iou > 0.85


def test_push_pull_fills_smoothly_and_keeps_background():
    img = skimage_image("coffee")
    mask = _hole(img)
    out = PushPullRecovery()(img * ~mask[..., None], mask, None)
    np.testing.assert_array_equal(out[~mask], img[~mask])
    # The fill is closer to the truth than leaving the hole black.
    err_fill = np.mean((out[mask] - img[mask]) ** 2)
    err_black = np.mean(img[mask] ** 2)
    assert err_fill < 0.5 * err_black


def test_resolve_prompt_picks_nearest():
    p = np.eye(4, dtype=np.float32)
    k, s = resolve_prompt(np.array([0.1, 0.9, 0.2, 0.0], np.float32), p)
    assert k == 1 and 0.9 < s <= 1.0


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_opencv_inpainting_fills_and_keeps_background(method):
    img = skimage_image("coffee")
    mask = _hole(img)
    rec = OpenCVRecovery(method)
    out = rec(img * ~mask[..., None], mask, None)
    assert rec.name == f"opencv-{method}" and out.dtype == np.float32
    np.testing.assert_array_equal(out[~mask], img[~mask])
    assert np.mean((out[mask] - img[mask]) ** 2) < 0.5 * np.mean(img[mask] ** 2)
    # empty mask: unchanged; full mask: nothing to inpaint from, mid-grey
    np.testing.assert_array_equal(rec(img, np.zeros(mask.shape, bool), None), img)
    assert np.all(rec(img, np.ones(mask.shape, bool), None) == 0.5)


def test_opencv_unknown_method_is_a_user_error():
    with pytest.raises(PrivsemError, match="unknown OpenCV"):
        OpenCVRecovery("patchmatch")


def test_reserved_black_finds_the_hole_on_a_black_picture():
    """On a night sky the picture's own black looks removed; with black reserved by the
    transmitter M̂ is the hole only, and the restored Â equals the picture outside it."""
    from privsem.guard import RESERVED_BLACK, apply_guard
    from privsem.recovery.mask_estimate import find_removed

    img = skimage_image("hubble_deep_field")[:400, :600]
    mask = _hole(img)
    noise = np.random.default_rng(0).normal(0, 0.05, img.shape)
    plain = np.clip(apply_guard(img, mask) + noise, 0, 1).astype(np.float32)
    est = estimate_mask(plain)
    assert (est & mask).sum() / (est | mask).sum() < 0.75  # much of the sky is taken for the hole
    sent = apply_guard(img, mask, RESERVED_BLACK)
    assert sent[mask].max() == 0 and sent[~mask].min() >= RESERVED_BLACK - 1e-6
    m_hat, a_hat = find_removed(np.clip(sent + noise, 0, 1).astype(np.float32), RESERVED_BLACK)
    assert (m_hat & mask).sum() / (m_hat | mask).sum() > 0.9
    clean_m, clean_a = find_removed(sent, RESERVED_BLACK)
    keep = ~mask
    np.testing.assert_allclose(clean_a[keep], img[keep], atol=1e-5)
    assert clean_m[mask].mean() > 0.99
