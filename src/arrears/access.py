"""Who may do what: roles, their permissions, and the rule that a borrower sees only their own data and an agency
only the accounts placed with it (issue 9). The service (arrears.entrypoints.api) asks :func:`authorize` before it acts.

Roles: ``borrower`` (only their own loans and standing), ``agency`` (only accounts placed with it), ``collector``,
``supervisor``, ``compliance`` (reads everything, writes nothing), ``admin``, ``provider`` (the payment
provider's confirmations post repayments on any loan; it reads nothing). A lender that takes money only through
its provider revokes the repayment permission from the borrower role here. Hardship plans are maker-checker:
one token proposes, another (a supervisor or an admin) decides, within the role's amount limit
(:class:`arrears.hardship.plans.HardshipPolicy`). Waivers, write-offs, reversals and court-order records are
maker-checker
too (:mod:`arrears.service_layer.approvals`: who may approve each, up to how much).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    BORROWER = "borrower"
    AGENCY = "agency"
    COLLECTOR = "collector"
    SUPERVISOR = "supervisor"
    COMPLIANCE = "compliance"
    ADMIN = "admin"
    PROVIDER = "provider"  # the payment provider's confirmations: posts repayments, reads nothing personal


class Permission(StrEnum):
    READ_STANDING = "standing.read"  # personal data: every read is audited
    READ_LOAN = "loan.read"
    REPAY = "loan.repay"
    READ_QUEUE = "collections.queue"
    REQUEST_HARDSHIP = "hardship.request"  # a borrower asks for help (协商还款)
    READ_HARDSHIP = "hardship.read"
    PROPOSE_HARDSHIP = "hardship.propose"  # the maker
    DECIDE_HARDSHIP = (
        "hardship.decide"  # the checker: never the maker, within the role's limit (arrears.hardship.plans)
    )
    OPEN_DISPUTE = "credit.dispute"  # a borrower disputes a bureau record (异议)
    READ_LEGAL = "legal.read"
    PROPOSE_COMMAND = "approvals.propose"  # a waiver, write-off, reversal or court order, for a checker
    DECIDE_COMMAND = "approvals.decide"  # never the maker's own; within the role's limit (service_layer.approvals)
    READ_APPROVALS = "approvals.read"
    DRAW = "loan.draw"  # the borrower's app (or an admin) draws on the borrower's own line
    RECORD_COLLECTIONS = "collections.record"  # contacts and promises to pay; an agency on its placed loans
    ADD_BORROWER = "borrower.add"  # onboarding: the lender's operations, not collections
    OPEN_LINE = "line.open"  # granting a limit (授信) is a credit decision
    READ_PRODUCTS = "product.read"  # the product terms the lender publishes
    READ_REPORTS = "report.read"  # portfolio figures: counts and balances, no one named


R = Role
GRANTS: dict[Permission, frozenset[Role]] = {
    # an agency works the loans placed with it, not the borrower's whole standing (other loans, court orders)
    Permission.READ_STANDING: frozenset({R.BORROWER, R.COLLECTOR, R.SUPERVISOR, R.COMPLIANCE, R.ADMIN}),
    Permission.READ_LOAN: frozenset({R.BORROWER, R.AGENCY, R.COLLECTOR, R.SUPERVISOR, R.COMPLIANCE, R.ADMIN}),
    Permission.REPAY: frozenset({R.BORROWER, R.COLLECTOR, R.SUPERVISOR, R.ADMIN, R.PROVIDER}),
    Permission.READ_QUEUE: frozenset({R.AGENCY, R.COLLECTOR, R.SUPERVISOR, R.COMPLIANCE, R.ADMIN}),
    Permission.REQUEST_HARDSHIP: frozenset({R.BORROWER, R.COLLECTOR, R.SUPERVISOR, R.ADMIN}),
    Permission.READ_HARDSHIP: frozenset({R.BORROWER, R.COLLECTOR, R.SUPERVISOR, R.COMPLIANCE, R.ADMIN}),
    Permission.PROPOSE_HARDSHIP: frozenset({R.COLLECTOR, R.SUPERVISOR, R.ADMIN}),
    Permission.DECIDE_HARDSHIP: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.OPEN_DISPUTE: frozenset({R.BORROWER, R.COLLECTOR, R.SUPERVISOR, R.ADMIN}),
    Permission.READ_LEGAL: frozenset({R.COLLECTOR, R.SUPERVISOR, R.COMPLIANCE, R.ADMIN}),
    Permission.PROPOSE_COMMAND: frozenset({R.COLLECTOR, R.SUPERVISOR, R.ADMIN}),
    Permission.DECIDE_COMMAND: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.READ_APPROVALS: frozenset({R.COLLECTOR, R.SUPERVISOR, R.COMPLIANCE, R.ADMIN}),
    Permission.DRAW: frozenset({R.BORROWER, R.ADMIN}),
    Permission.RECORD_COLLECTIONS: frozenset({R.AGENCY, R.COLLECTOR, R.SUPERVISOR, R.ADMIN}),
    # Adding a borrower and granting a line are the lender's operations (the CLI's `borrower add`, `line open`):
    # no collections role decides who is lent to or how much, and a supervisor's approval limits
    # (service_layer.approvals) cover collections decisions, not credit ones.
    Permission.ADD_BORROWER: frozenset({R.ADMIN}),
    Permission.OPEN_LINE: frozenset({R.ADMIN}),
    # A product's terms are what every borrower is shown before borrowing, and what collectors and agencies
    # explain to them; the payment provider only confirms payments.
    Permission.READ_PRODUCTS: frozenset({R.BORROWER, R.AGENCY, R.COLLECTOR, R.SUPERVISOR, R.COMPLIANCE, R.ADMIN}),
    # Portfolio figures steer collections (supervisor), are examined (compliance) and run the lender (admin); a
    # collector works accounts, an agency only its placements, a borrower only their own.
    Permission.READ_REPORTS: frozenset({R.SUPERVISOR, R.COMPLIANCE, R.ADMIN}),
}
"""Each permission and the roles that hold it (compliance reads, never writes; an agency never posts money)."""


class Forbidden(PermissionError):
    """The caller's role may not do this, or not to this borrower's data."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's role and, for a borrower or an agency, whose data it may see."""

    token_id: int
    role: Role
    borrower: int | None = None
    agency: str | None = None

    @property
    def actor(self) -> str:
        """What the audit log records as "who": the role and the token, never the token's secret."""
        scope = f" {self.borrower}" if self.borrower is not None else f" {self.agency}" if self.agency else ""
        return f"{self.role}{scope} (token {self.token_id})"


def authorize(
    principal: Principal,
    permission: Permission,
    *,
    borrower: int | None = None,
    placed_with: Collection[str] = frozenset(),
) -> None:
    """Refuse (:class:`Forbidden`, saying why) unless the role holds ``permission`` and, for a borrower, the
    data is their own (``borrower``), for an agency, the account is placed with it (``placed_with``: the agencies
    the borrower's accounts are placed with)."""
    role_may(principal, permission)
    if principal.role is Role.BORROWER and borrower != principal.borrower:
        raise Forbidden(BORROWERS_OWN)
    if principal.role is Role.AGENCY and principal.agency not in placed_with:
        raise Forbidden(_agencys_own(principal))


def role_may(principal: Principal, permission: Permission) -> None:
    """The role's half of :func:`authorize`, asked before a record is looked up: a role that may not is refused
    the same whether the record exists or not."""
    if principal.role not in GRANTS[permission]:
        raise Forbidden(f"the {principal.role} role may not {permission}")


BORROWERS_OWN = "a borrower sees only their own data"


def _agencys_own(principal: Principal) -> str:
    return f"agency {principal.agency} sees only the accounts placed with it"


def refusal_for_missing(principal: Principal) -> Forbidden | None:
    """What a borrower or an agency is told when it asks for a record that does not exist: word for word the
    refusal of a record that is not theirs, so that comparing answers (404 against 403) cannot tell which ids
    exist (issue 19: loan ids could be enumerated). None for the lender's own people, who are told "no loan N"."""
    if principal.role is Role.BORROWER:
        return Forbidden(BORROWERS_OWN)
    if principal.role is Role.AGENCY:
        return Forbidden(_agencys_own(principal))
    return None
