"""Registries: the named implementations of one extension point (readers, rerankers, answer modes).

>>> shapes = Registry("RAG_SHAPE")
>>> @shapes.register("square")
... class Square: ...
>>> shapes.choose("square").__name__, list(shapes)
('Square', ['square'])
>>> shapes.choose("circle")
Traceback (most recent call last):
core.errors.SettingsError: RAG_SHAPE must be one of square; not 'circle'
"""
from __future__ import annotations

from typing import Any, Callable

from core.errors import SettingsError


class Registry(dict):
    """name -> implementation, filled by the `register` decorator; `choose` names the choices when a name is unknown."""

    def __init__(self, setting: str):
        super().__init__()
        self.setting = setting

    def register(self, *names: str) -> Callable[[Any], Any]:
        def add(implementation):
            for name in names:
                self[name] = implementation
            return implementation
        return add

    def choose(self, name: str):
        if name not in self:
            raise SettingsError(f"{self.setting} must be one of {', '.join(self)}; not {name!r}")
        return self[name]
