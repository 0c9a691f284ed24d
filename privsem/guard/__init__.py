"""The privacy guard: encoder S_α, identifier P (cosine to f_k), mask decoder M_χ."""

from .encoders import ENCODERS, build_encoder
from .guard import RESERVED_BLACK, Guard, GuardResult, apply_guard, restore_black

__all__ = ["ENCODERS", "RESERVED_BLACK", "Guard", "GuardResult", "apply_guard", "build_encoder", "restore_black"]
