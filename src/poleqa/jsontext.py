"""JSON read from outside (files, lines, sidecars): every way it can fail is a ValueError."""

from __future__ import annotations

import json
from typing import Any


def parse_json(text: str | bytes) -> Any:
    """json.loads, with the failures it raises as something else made ValueErrors too: a value
    nested thousands deep (RecursionError). Its own ValueErrors stay as they are:
    JSONDecodeError, and an integer of more than 4,300 digits."""
    try:
        return json.loads(text)
    except RecursionError as e:
        raise ValueError("JSON nested too deeply") from e
