"""The privacy database K (entities: prompt, sample images, features, threshold)."""

from .store import Entity, PrivacyDB

__all__ = ["Entity", "PrivacyDB"]
