"""Fuzzing what ``privsem view`` hears: any process on the machine can push to its events
endpoint, so whatever arrives must be used or refused (BadEvent, counted), never crash
the listener, and never put anything into the page's stream that is not strict JSON
(a NaN there would break every open page, and every page that reconnects)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from privsem.view.events import IMAGE_NAMES, ROLES
from privsem.view.state import PNG_MAGIC, BadEvent, ViewState

TYPES = ["run_start", "heartbeat", "image", "guard", "frame", "link", "result", "run_end", "other"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=20))
values = st.recursive(scalars, lambda v: st.one_of(st.lists(v, max_size=4), st.dictionaries(st.text(max_size=5), v,
                                                                                             max_size=4)),
                      max_leaves=12)
NUMBERS = ["snr_db", "cfo_hz", "msg_id", "seq", "frames_sent", "frames_received", "frames_lost", "crc_failures",
           "damaged", "snr_est_db", "psnr", "psnr_region", "ssim", "ssim_region", "score", "mask_fraction", "pid"]
OTHERS = ["crc_ok", "identity_recognized", "entity", "prompt", "status", "message", "command", "argv", "caption",
          "label", "iq"]
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70), values)
pairs = st.lists(st.lists(numbers, min_size=2, max_size=2), max_size=3)
# mostly well-formed (a valid role and image name, numbers where numbers go), with junk
# anywhere, so that events get past the first checks and reach what they fill in
events = st.builds(
    lambda t, run, role, name, nums, others: {"type": t, "run": run, "role": role, "name": name, **nums, **others},
    st.sampled_from(TYPES), st.sampled_from(["r1", "r2"]), st.one_of(st.sampled_from(ROLES), values),
    st.one_of(st.sampled_from(IMAGE_NAMES), values),
    st.dictionaries(st.sampled_from(NUMBERS), numbers, max_size=6),
    st.dictionaries(st.sampled_from(OTHERS), st.one_of(values, pairs), max_size=3))
payloads = st.one_of(st.none(), st.just(PNG_MAGIC + b"x" * 10), st.binary(max_size=16))


@settings(max_examples=500, derandomize=True, deadline=None, database=None, print_blob=False)
@given(st.lists(st.tuples(events, payloads), min_size=1, max_size=12))
def test_any_event_is_used_or_refused_and_the_stream_stays_json(seq):
    s = ViewState()
    for i, (ev, payload) in enumerate(seq):
        try:
            out = s.apply(ev, payload, now=100.0 + i)
        except BadEvent:
            continue
        json.dumps(out, allow_nan=False)  # what goes to the pages: strict JSON
    json.dumps(s.snapshot(), allow_nan=False)
    json.dumps(s.check_lost(now=1e9), allow_nan=False)
