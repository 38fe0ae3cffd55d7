"""Checks on what web clients send: typed values refused in French, per-client rate limits."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Any

from poleqa.errors import PoleqaError
from poleqa.ingest.metadata import normalize_date
from poleqa.query import without_surrogates
from poleqa.retrieval import is_iso_date

log = logging.getLogger(__name__)

# The forms a date typed by the staff is read in (the documents' dates are shown JJ/MM/AAAA).
DATE_FORMS = "écrivez JJ/MM/AAAA, MM/AAAA, AAAA-MM-JJ, AAAA-MM ou AAAA"
# A date written in one of those forms, whose day or month does not exist (« 31/02/2023 »).
_DATE_SHAPED = re.compile(
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{1,2}[/.]\d{4}|\d{4}-\d{1,2}(?:-\d{1,2})?"
)
# normalize_date reads a timestamp's date (« 2023-03-30T10:00 », a sidecar's); typed in a
# form, anything after a year is no date (« 2023 ou 2024 » was read as 2023).
_AFTER_A_DATE = re.compile(r"^\d{4}(?:-\d{1,2}){0,2}[T ]")


class InputError(PoleqaError):
    """A value sent to the web app is not what the form would send (API misuse, crafted call)."""

    message_fr = "Valeur non valable."


def refuse(where: str, english: str, french: str) -> InputError:
    """The error to raise, after the single log line that records the refusal."""
    log.warning("refused %s: %s", where, english)
    return InputError(english, french)


def text_input(value: Any, where: str, name_fr: str) -> str:
    """A string (None counts as empty; lone surrogates replaced: the page's JSON encoder
    refuses them); anything else — a number, a list — is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise refuse(
            where, f"not a string: {type(value).__name__}", f"{name_fr} doit être un texte."
        )
    return without_surrogates(value)


def _shown(value: Any) -> str:
    """A value a client sent, as a French reader would name it (not Python's « None »)."""
    if value is None or value == "":
        return "rien"
    if isinstance(value, bool):
        return "vrai" if value else "faux"
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return f"« {str(value)[:50]} »" if isinstance(value, str) else str(value)[:50]


def int_input(value: Any, where: str, name_fr: str, lo: int, hi: int) -> int:
    """A whole number within [lo, hi] (sliders send floats such as 5.0)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not lo <= number <= hi:
        raise refuse(
            where,
            f"{name_fr!r} out of range [{lo}, {hi}]: {str(value)[:50]!r}",
            f"{name_fr} doit être un nombre entier entre {lo} et {hi} (reçu : {_shown(value)}).",
        )
    return number


def typed_date(text: str) -> str | None:
    """A date typed by the staff (AAAA, AAAA-MM, AAAA-MM-JJ, JJ/MM/AAAA, MM/AAAA, « 7 janvier
    2014 ») as AAAA, AAAA-MM or AAAA-MM-JJ, naming a real month or day; None if it is none."""
    text = text.strip()
    iso = None if _AFTER_A_DATE.match(text) else normalize_date(text)
    return iso if iso is not None and is_iso_date(iso) else None


def date_input(value: Any, where: str, name_fr: str) -> str | None:
    """A date bound as the retrieval filters compare it (`typed_date`); empty means none."""
    text = text_input(value, where, name_fr).strip()
    if not text:
        return None
    iso = typed_date(text)
    if iso is None:
        raise refuse(where, f"bad date {text[:50]!r}", date_refused(text))
    return iso


def date_refused(text: str) -> str:
    """Why a date typed is refused, in French: a day or month that does not exist, or a form
    not read."""
    if _DATE_SHAPED.fullmatch(text.strip()):
        return f"Date « {text.strip()[:50]} » impossible : ce jour ou ce mois n'existe pas."
    return f"Date « {text[:50]} » non reconnue : {DATE_FORMS}."


def sources_input(value: Any, where: str, known: Callable[[], Iterable[str]]) -> tuple[str, ...]:
    """Document names among `known()`; empty (None, "" or []) means every document."""
    if value in (None, "", []):
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise refuse(
            where,
            f"sources not a list of strings: {type(value).__name__}",
            "Les documents doivent être une liste de noms de fichiers.",
        )
    available = set(known())
    unknown = [n for n in names if n not in available]
    if unknown:
        raise refuse(
            where,
            f"unknown source {unknown[0][:200]!r}",
            f"Document inconnu : « {unknown[0][:200]} ».",
        )
    return tuple(names)


class RateLimiter:
    """At most `limit` events per `window` seconds per key (a client address), thread-safe.

    Memory is bounded: keys idle for a whole window are dropped, and beyond `max_keys` the
    least recently seen keys are forgotten (their clients get a fresh allowance).
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
        self._events.move_to_end(key)
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def allow(self, key: str) -> bool:
        """True, and the event is counted, if `key` is still under its limit."""
        with self._lock:
            now = self.clock()
            events = self._recent(key, now)
            if len(events) >= self.limit:
                return False
            events.append(now)
            self._trim(now)
            return True

    def release(self, key: str) -> None:
        """Uncount `key`'s latest event (an attempt counted up front that turned out fine)."""
        with self._lock:
            events = self._events.get(key)
            if events:
                events.pop()

    def _trim(self, now: float) -> None:
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        oldest = next(iter(self._events.items()), None)
        # The least recently seen key first: drop it once idle for a whole window.
        if oldest is not None and (not oldest[1] or oldest[1][-1] <= now - self.window):
            self._events.popitem(last=False)


def client_key(request: Any) -> str:
    """The client's address as seen by the server (a proxy in front means one shared key)."""
    client = getattr(request, "client", None)
    host = getattr(client, "host", None)
    return str(host) if host else "inconnu"
