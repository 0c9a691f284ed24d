"""The whole chain through the real GNU Radio sim_channel flowgraph: Bob and Eve both
decode the image (and only Bob resolves the entity)."""

from privsem.loopback import run_loopback


def test_bob_and_eve_decode_over_gnuradio(gr_python, example_db, tmp_path):
    db, scenes = example_db
    # built for 10 dB: Eve, 2 dB below it, still decodes the hybrid's base layer on the
    # flowgraph's multipath (built for 12 dB the base layer is 16qam-1/2, 5 dB of AWGN
    # margin, which the multipath eats at 8 dB: docs/codec.md)
    r = run_loopback(scenes / "chelsea.png", db, 12.0, "awgn", tmp_path, seed=1, via="gnuradio",
                     impairments=True, eve_snr_db=8.0, design_snr_db=10.0)
    assert r["via"] == "gnuradio"
    for role, snr in (("bob", 12.0), ("eve", 8.0)):
        link = r[role]["link"]
        assert link["frames_received"] == link["frames_sent"] == 4, link
        assert link["crc_failures"] == 0
        assert abs(link["snr_est_db"] - (snr + 0.74)) < 2.5
        assert r[role]["psnr_background"] > 24.0
    assert r["bob"]["entity_resolved"] == "chelsea" and r["bob"]["identity_recognized"]
    assert r["eve"]["entity_resolved"] is None and not r["eve"]["identity_recognized"]
    assert (tmp_path / "bob.png").is_file() and (tmp_path / "eve.png").is_file()
