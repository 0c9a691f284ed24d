"""Bob's first recovery: fill M̂ from the privacy DB's own sample images of the entity.

The received prompt embedding î is matched (cosine) against the embeddings of the DB's
prompts to find the entity k; the sample image of k whose aspect ratio best fits M̂'s
bounding box is resized into that box and composited inside M̂ with a feathered edge.
This uses the DB exactly where the paper's fine-tuned diffusion model will (a trained
RePaint recovery replaces this stage); Eve, without the DB, cannot do it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from ..imageio import load_image, to_uint8
from .base import Recovery
from .classical import push_pull_fill


def resolve_prompt(embedding: np.ndarray, prompt_embeddings: np.ndarray) -> tuple[int, float]:
    """Index and cosine similarity of the DB prompt nearest to a received embedding.

    Args:
        embedding: float32 ``(d,)`` received (noisy) î.
        prompt_embeddings: float32 ``(N, d)`` L2-normalised embeddings of the DB prompts.
    """
    e = embedding / max(float(np.linalg.norm(embedding)), 1e-12)
    sims = prompt_embeddings @ e
    k = int(np.argmax(sims))
    return k, float(sims[k])


class ExemplarRecovery(Recovery):
    """``ExemplarRecovery(samples_per_entity, prompt_embeddings, read)``.

    Args:
        samples: list over entities of lists of sample image paths (the DB's S_k).
        prompt_embeddings: float32 ``(N, d)`` embeddings of the entities' prompts.
        read: path → float32 ``(H, W, 3)`` image; the DB's
            :meth:`~privsem.database.PrivacyDB.read_sample` (decrypts encrypted samples).
    """

    name = "exemplar"

    def __init__(self, samples: list[list], prompt_embeddings: np.ndarray, read=load_image) -> None:
        self.samples, self.prompt_embeddings, self.read = samples, prompt_embeddings, read
        self.last_entity: int | None = None

    def __call__(self, image, mask, prompt_embedding=None, steps=0, seed=0):
        if not mask.any() or prompt_embedding is None or not self.samples:
            return image.copy()
        k, _ = resolve_prompt(prompt_embedding, self.prompt_embeddings)
        self.last_entity = k
        rows, cols = np.nonzero(mask)
        y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        bh, bw = y1 - y0, x1 - x0
        exemplars = [self.read(p) for p in self.samples[k]]
        aspect = bw / bh
        ex = min(exemplars, key=lambda e: abs(np.log(e.shape[1] / e.shape[0] / aspect)))
        patch = np.asarray(Image.fromarray(to_uint8(ex)).resize((bw, bh), Image.BICUBIC),
                           dtype=np.float32) / 255.0
        # Background first (a smooth fill), then the exemplar feathered inside M̂.
        out = push_pull_fill(image, mask)
        alpha = np.clip(ndimage.gaussian_filter(mask.astype(np.float32), 2.0) * 2 - 1, 0, 1)
        alpha[~mask] = 0.0
        box = (slice(y0, y1), slice(x0, x1))
        a = alpha[box][..., None]
        out[box] = a * patch + (1 - a) * out[box]
        return out
