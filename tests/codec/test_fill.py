"""The sender's fill of the removed region (issue 21): a sealed mask must not leave a flat
patch that shows the outline anyway."""

import numpy as np
import pytest

from privsem.codec.fill import smooth_fill, textured_fill
from privsem.codec.softcast import SoftCastCodec
from privsem.database.scenes import entity_scenes
from privsem.metrics.image import mask_iou
from privsem.metrics.outline import detail_map, flattest_region
from privsem.phy import PilotBlockModem
from privsem.channel import build_channel


@pytest.fixture(scope="module")
def scenes():
    return entity_scenes("heldout", 3)


def test_texture_hides_the_hole_from_the_flattest_region_attack(scenes):
    """On held-out scenes the attacker who knows the area finds most of a smooth fill and
    little more than chance of a textured one; the texture has the detail of its
    surroundings, and nothing outside the hole changes."""
    for sc in scenes:
        area = int(sc.mask.sum())
        smooth, tex = smooth_fill(sc.image, sc.mask), textured_fill(sc.image, sc.mask)
        assert np.array_equal(tex[~sc.mask], sc.image[~sc.mask])
        chance = area / (2 * sc.mask.size - area)
        assert mask_iou(flattest_region(smooth, area), sc.mask) > chance + 0.35
        assert mask_iou(flattest_region(tex, area), sc.mask) < chance + 0.1
        inside, around = detail_map(tex)[sc.mask].mean(), detail_map(sc.image)[~sc.mask].mean()
        assert 0.4 * around < inside < 2.5 * around
        assert detail_map(smooth)[sc.mask].mean() < 0.5 * inside


def test_the_fill_never_reads_the_hole(scenes):
    sc = scenes[0]
    other = sc.image.copy()
    other[sc.mask] = np.random.default_rng(1).random((int(sc.mask.sum()), 3))
    assert np.array_equal(textured_fill(sc.image, sc.mask, seed=3), textured_fill(other, sc.mask, seed=3))
    assert np.array_equal(smooth_fill(sc.image, sc.mask), smooth_fill(other, sc.mask))


def test_no_background_tile_left_gives_the_smooth_fill():
    img = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    hole = np.ones((64, 64), bool)
    hole[:4] = False
    assert np.array_equal(textured_fill(img, hole), smooth_fill(img, hole))
    assert np.array_equal(textured_fill(img[:8, :8], np.zeros((8, 8), bool)), img[:8, :8])  # smaller than a tile


def test_sealed_softcast_sends_texture_open_softcast_a_smooth_fill(scenes):
    """Through softcast at 10 dB: with the mask sealed Eve (no key) learns no mask and the
    attack finds little; with the mask in the clear the fill stays smooth (cheapest)."""
    sc = scenes[1]
    area = int(sc.mask.sum())
    got = {}
    for key in (b"k" * 32, None):
        codec = SoftCastCodec("1/6")
        x = codec.encode(sc.image.transpose(2, 0, 1)[None], 10.0, mask=sc.mask[None], seal_key=key)[0]
        modem = PilotBlockModem()
        ch = build_channel("awgn", seed=0)(modem.modulate(x), 10.0)
        y, no = modem.demodulate_zf(ch.y, x.size, ch.no)
        rec = codec.decode(y[None], 10.0, sc.mask.shape, codec.last_side, no=no[None])[0].transpose(1, 2, 0)
        assert codec.last_ok == [True] and (codec.last_mask[0] is None) == (key is not None)
        assert codec.last_sealed == [key is not None]  # decoded without the key: a sealed mask came
        got[key is None] = mask_iou(flattest_region(rec, area), sc.mask)
    assert got[False] < 0.3 < got[True]


def test_bench_outline_cli(tmp_path, capsys):
    import json

    from privsem.cli import main

    out = tmp_path / "o.json"
    assert main(["bench", "outline", "--scenes", "2", "--json", str(out)]) == 0
    rows = {r["fill"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["textured"]["eve_iou_mean"] < rows["smooth"]["eve_iou_mean"] - 0.2
    assert rows["textured"]["eve_iou_mean"] < rows["textured"]["chance_iou_mean"] + 0.1
    assert abs(rows["textured"]["psnr_outside_db"] - rows["smooth"]["psnr_outside_db"]) < 1.0
    capsys.readouterr()
    assert main(["bench", "outline", "--scenes", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("privsem: error:") and "--scenes" in err[0]
