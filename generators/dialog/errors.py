"""Errors of the dialog model core. Each message names the field, the value and what is allowed."""

from __future__ import annotations


class DialogInputError(ValueError):
    """A caller's input (prompt, token ids, sampling settings) is not acceptable; the message says why."""

    def __init__(self, field: str, value, allowed: str):
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: got {shown}; {allowed}")
        self.field, self.value, self.allowed = field, value, allowed


class ContextOverflowError(DialogInputError):
    """The input cannot fit in the model's context even after the overflow policy dropped what it may."""


class DialogModelError(RuntimeError):
    """The model folder or GGUF file is missing, malformed or not a model this code can run."""
