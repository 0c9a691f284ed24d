import cv2
import numpy as np
import pytest
import skimage.data
from matplotlib import cbook

from privsem.guard.face import MATCH_DISTANCE, FaceEncoder, available, distance
from privsem.imageio import load_image

pytestmark = pytest.mark.skipif(not available(), reason="needs: pip install dlib-bin face-recognition-models")

# Eileen Collins' face in skimage.data.astronaut(), read off the picture: (row, col).
EILEEN_CENTRE = (125, 220)


def _rgb(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32) / 255.0
    return np.stack([a] * 3, axis=-1) if a.ndim == 2 else a


@pytest.fixture(scope="module")
def encoder():
    return FaceEncoder()


@pytest.fixture(scope="module")
def astronaut():
    return _rgb(skimage.data.astronaut())


@pytest.fixture(scope="module")
def eileen(encoder, astronaut):
    return encoder.faces(astronaut)[0]


def _views(img: np.ndarray, face_width: int):
    """(name, view, (row, col) of Eileen's face centre in the view)."""
    r, c = EILEEN_CENTRE
    for deg in (15, -15):
        m = cv2.getRotationMatrix2D((256.0, 256.0), deg, 1.0)
        yield f"rotated {deg}°", cv2.warpAffine(img, m, (512, 512)), tuple((m @ [c, r, 1])[::-1])
    yield "scaled 0.5", cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA), (r / 2, c / 2)
    yield "mirrored", np.ascontiguousarray(img[:, ::-1]), (r, 511 - c)
    yield "brighter", np.clip(img * 1.3, 0, 1), (r, c)
    yield "darker", img * 0.7, (r, c)
    # The head and shoulders, scaled so that the face is ~40 px wide, in a 512×384 scene.
    f = 40 / face_width
    head = cv2.resize(img[0:260, 100:360], None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    scene = cv2.resize(_rgb(skimage.data.coffee()), (512, 384), interpolation=cv2.INTER_AREA)
    scene[150 : 150 + head.shape[0], 250 : 250 + head.shape[1]] = head
    yield "pasted at 40 px", scene, (150 + r * f, 250 + (c - 100) * f)


def test_one_face_in_the_astronaut(encoder, astronaut, eileen):
    faces = encoder.faces(astronaut)
    assert len(faces) == 1
    top, left, bottom, right = eileen.box
    assert 60 <= top < 110 and 140 < bottom <= 190
    assert 160 <= left < 200 and 240 < right <= 290
    assert eileen.descriptor.shape == (128,) and eileen.descriptor.dtype == np.float32
    assert eileen.landmarks.shape == (5, 2) and eileen.landmarks.dtype == np.float32
    assert np.all((eileen.landmarks >= (top, left)) & (eileen.landmarks <= (bottom, right)))
    assert eileen.score > 0
    np.testing.assert_array_equal(encoder.descriptors_of(astronaut), eileen.descriptor[None])


def test_eileen_matches_views_of_herself(encoder, astronaut, eileen):
    distances = {}
    for name, view, (r, c) in _views(astronaut, eileen.box[3] - eileen.box[1]):
        there = [f for f in encoder.faces(view) if f.box[0] <= r <= f.box[2] and f.box[1] <= c <= f.box[3]]
        assert len(there) == 1, f"{name}: Eileen's face not found"
        distances[name] = distance(there[0].descriptor, eileen.descriptor)
    assert max(distances.values()) < MATCH_DISTANCE, distances


def test_other_people_do_not_match(encoder, eileen):
    grace = encoder.faces(load_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    assert len(grace) == 1
    assert distance(grace[0].descriptor, eileen.descriptor) > MATCH_DISTANCE
    for face in encoder.faces(_rgb(skimage.data.camera())):  # his face is small and turned
        assert distance(face.descriptor, eileen.descriptor) > MATCH_DISTANCE


def test_no_face_in_coffee(encoder):
    assert encoder.faces(_rgb(skimage.data.coffee())) == []
    assert encoder.descriptors_of(_rgb(skimage.data.coffee())).shape == (0, 128)
