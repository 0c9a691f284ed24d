"""Recovery R: estimate the removed region M̂ from Â and fill it.

``Recovery.__call__(image, mask, prompt_embedding, steps, seed) -> image``. Bob's
recoveries may read the privacy DB; Eve's never receive one.
"""

from .base import Recovery
from .build import RECOVERIES, SCHEDULERS, RecoveryOptions, build_recovery
from .classical import OpenCVRecovery, PushPullRecovery
from .aligned import AlignedExemplar
from .exemplar import resolve_prompt
from .mask_estimate import estimate_mask

__all__ = ["RECOVERIES", "SCHEDULERS", "AlignedExemplar", "OpenCVRecovery", "PushPullRecovery", "Recovery", "RecoveryOptions",
           "build_recovery", "estimate_mask", "resolve_prompt"]
