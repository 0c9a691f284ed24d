"""The privacy guard: encoder S_α, identifier P (cosine to f_k), mask decoder M_χ."""

from .encoders import ENCODERS, build_encoder
from .guard import Guard, GuardResult, apply_guard

__all__ = ["ENCODERS", "Guard", "GuardResult", "apply_guard", "build_encoder"]
