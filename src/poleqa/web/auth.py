"""The staff login: one user, its password kept only as a salted scrypt hash."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from poleqa.errors import PoleqaError
from poleqa.web.render import error_page

log = logging.getLogger(__name__)

STAFF_USER = "equipe"
STAFF_PATH = "/equipe"
PASSWORD_ENV = "POLEQA_STAFF_PASSWORD"
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024  # longer is an attack on the hashing time, not a password
LOGIN_FAILURES_PER_MINUTE = 5
# scrypt's cost (about 16 MB and 50 ms a try): slow for guessing, fine for a few staff logins.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 2**20}


class StaffAuth:
    """Checks the staff's user name and password; the clear password is not kept."""

    def __init__(self, password: str, user: str = STAFF_USER) -> None:
        # spaces count in a password, but ten of them alone are not one
        letters = sum(not c.isspace() for c in password)
        if letters < MIN_PASSWORD_CHARS or len(password) > MAX_PASSWORD_CHARS:
            raise PoleqaError(
                f"The staff password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} "
                f"characters, {MIN_PASSWORD_CHARS} at least not spaces ({PASSWORD_ENV}).",
                f"Le mot de passe de l'équipe doit avoir de {MIN_PASSWORD_CHARS} à "
                f"{MAX_PASSWORD_CHARS} caractères, dont {MIN_PASSWORD_CHARS} au moins autres "
                "que des espaces.",
            )
        self.user = user
        self._salt = secrets.token_bytes(16)
        self._digest = self._hash(password)

    def _hash(self, password: str) -> bytes:
        return hashlib.scrypt(password.encode("utf-8"), salt=self._salt, **_SCRYPT)

    def check(self, user: str, password: str) -> bool:
        """Constant-time comparisons, and the hash is computed even for a wrong user name."""
        if not isinstance(user, str) or not isinstance(password, str):
            return False
        if len(password) > MAX_PASSWORD_CHARS:
            return False
        right_user = hmac.compare_digest(user.encode("utf-8"), self.user.encode("utf-8"))
        right_password = hmac.compare_digest(self._hash(password), self._digest)
        return right_user and right_password

    async def verify(self, user: str, password: str) -> bool:
        """Gradio's `auth` callback: hashed in a thread, so the server keeps answering meanwhile.

        A plain `async def` on purpose: Gradio awaits only coroutine functions, and would take
        the (truthy) coroutine of any other callable for a successful login.
        """
        return await asyncio.to_thread(self.check, user, password)


def add_staff_off_route(app: FastAPI) -> None:
    """Without a staff password, /equipe says in French how to turn the staff area on."""
    page = error_page(
        "Espace équipe désactivé",
        "L'espace équipe (vérification des passages, évaluation, réindexation, export des avis) "
        "n'est pas activé sur ce serveur.",
        # said to anyone who asks: how to turn it on, never the login's user name
        f"Pour l'activer, l'administrateur du serveur le relance avec la variable "
        f"d'environnement {PASSWORD_ENV} (au moins {MIN_PASSWORD_CHARS} caractères) ; "
        "voir docs/deployment.md.",
    )

    def staff_off() -> HTMLResponse:
        return HTMLResponse(page, status_code=404)

    for path in (STAFF_PATH, STAFF_PATH + "/", STAFF_PATH + "/{rest:path}"):
        app.add_api_route(
            path, staff_off, methods=["GET", "HEAD", "POST"], response_class=HTMLResponse
        )
