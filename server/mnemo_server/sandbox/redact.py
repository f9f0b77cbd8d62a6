"""Keeping secret values out of what a tool call leaves behind.

A tool receives secrets as environment variables (an agent's secrets, or the
``env_vars`` of a run from source). Whatever the tool prints, returns or raises
is stored (the tool message in the agent's history), shown to the model and
returned to the caller; a :class:`Redactor` replaces every secret value in it
by ``[REDACTED:NAME]`` first.

Covered: the value itself, and the forms it takes when a tool returns it inside
JSON (``json.dumps`` escaping, with and without ``ensure_ascii``), percent-
encoded in a URL, and base64-encoded on its own. Values shorter than
:data:`MIN_SECRET_LENGTH` characters are not redacted (a one-character secret
would blank every occurrence of that character). A tool that transforms a
secret otherwise (reverses it, splits it, encrypts it) is not caught: redaction
keeps accidents and the plain exfiltration out of the history, it does not
make a hostile tool harmless.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

MIN_SECRET_LENGTH = 4


def marker(name: str) -> str:
    return f"[REDACTED:{name}]"


def _forms(value: str) -> set[str]:
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             quote(value, safe=""), quote(value)}
    raw = value.encode("utf-8")
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(raw).decode("ascii")
        forms.add(encoded)
        forms.add(encoded.rstrip("="))
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces the values of `secrets` (name to value) in text and in JSON
    values. A Redactor with nothing to redact returns its input unchanged."""

    def __init__(self, secrets: Mapping[str, str]):
        needles: dict[str, str] = {}
        # Longer values first, so that a secret containing another is
        # replaced whole.
        for name, value in sorted(secrets.items(), key=lambda kv: -len(str(kv[1]))):
            value = str(value)
            if len(value) < MIN_SECRET_LENGTH:
                continue
            for form in _forms(value):
                needles.setdefault(form, marker(name))
        self._replacement = needles
        self._pattern = (re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
                         if needles else None)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, value: str) -> str:
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(lambda m: self._replacement[m.group(0)], value)

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string (and dict key) redacted."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            redacted = self.text(str(value))
            return value if redacted == str(value) else redacted
        return value

    def run(self, run: Any) -> Any:
        """A sandbox ToolRun with its return value, output and error redacted."""
        if self._pattern is None:
            return run
        func_return = run.func_return
        if not isinstance(func_return, (str, dict, list, tuple, int, float, bool, type(None))):
            func_return = str(func_return)
        return dataclasses.replace(
            run, func_return=self.value(func_return), stdout=[self.text(s) for s in run.stdout],
            stderr=[self.text(s) for s in run.stderr], error=self.text(run.error) if run.error else run.error,
        )
