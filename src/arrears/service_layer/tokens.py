"""API tokens: issued to a role (and, for a borrower or an agency, to whom), shown once, revocable.

The door (CLI ``arrears token``, the demo, the API's token check) calls these; the store keeps only a SHA-256 digest
of each token (:mod:`arrears.adapters.tokens_store`), so a leaked table opens nothing.
"""

from __future__ import annotations

from arrears.access import Principal, Role
from arrears.adapters import store, tokens_store
from arrears.errors import InputRejected
from arrears.service_layer.services import Services


def issue(services: Services, *, role: Role, borrower: int | None, agency: str | None, label: str) -> tuple[int, str]:
    """A new token for ``role``: (its id, the token itself). A borrower's token needs the borrower to exist."""
    if (role is Role.BORROWER) != (borrower is not None):
        raise InputRejected("a borrower's token names the borrower, and only a borrower's token does")
    if (role is Role.AGENCY) != (agency is not None):
        raise InputRejected("an agency's token names the agency, and only an agency's token does")
    with services.transaction() as connection:
        if borrower is not None:
            store.get_borrower(connection, borrower)
        return tokens_store.create(
            connection, role=role, borrower=borrower, agency=agency, label=label, now=services.clock()
        )


def revoke(services: Services, token_id: int) -> None:
    """Revoke a live token: it opens nothing from now on. An unknown or already revoked id is refused."""
    with services.transaction() as connection:
        if not tokens_store.revoke(connection, token_id, services.clock()):
            raise InputRejected(f"no live token {token_id}")


def principal_of(services: Services, token: str) -> Principal | None:
    """The caller a token stands for, or None (unknown or revoked)."""
    with services.reading() as connection:
        return tokens_store.principal_of(connection, token)


def digest(token: str) -> str:
    """The key a token is known by outside the store (a cache's key): its SHA-256, never the token itself."""
    return tokens_store.digest(token)
