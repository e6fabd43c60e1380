"""Checking a portfolio before anything is written (:mod:`arrears.service_layer.portfolio`): each row's fields,
refs across the tables, a line's limit and rate and a loan's terms against its product, drawdown rules in drawdown
order with the payments replayed, and every problem reported at once in reading order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from arrears.adapters import portfolio_store as ps
from arrears.adapters import store
from arrears.day_end.reference import DayEndPolicy
from arrears.domain.credit_line import DrawdownLimits, check_drawdown
from arrears.domain.engine import LoanEvent, Payment, replay_events
from arrears.domain.product import Product, load_product
from arrears.domain.schedule import Schedule, build_schedule
from arrears.domain.terms import InterestBasis, LoanTerms, Method
from arrears.errors import InputRejected
from arrears.inputs import FREE_TEXT_MAX, text_problem
from arrears.money import format_minor, parse_amount, parse_rate
from arrears.service_layer.portfolio_read import TABLES, RowError, _read_tables, _Table
from arrears.service_layer.services import Position, position_of
from arrears.validation import parse_choice, parse_date

_LIMITS = {"borrower_name": ps.BORROWER_NAME_MAX, "phone": ps.BORROWER_PHONE_MAX}
"""The import's fields stored as typed, with the most characters the store keeps of them."""
_WHOLE = re.compile(r"[0-9]{1,4}")  # ASCII digits, matched whole (fullmatch: no trailing newline)
_PHONE_CHARS = frozenset("+-() 0123456789")


class PortfolioRejected(InputRejected):
    """A portfolio with problems; ``errors`` holds every one of them, and nothing was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        if count == 1:
            summary = f"1 error in the portfolio: {self.errors[0]}"
        else:
            summary = f"{count} errors in the portfolio; the first: {self.errors[0]}"
        super().__init__(summary)


class _Fields:
    """One row's values, parsed field by field; each problem becomes a RowError and the field None."""

    def __init__(self, file: str, row: int, values: dict[str, str], errors: list[RowError]) -> None:
        self.file, self.row, self.values, self.errors = file, row, values, errors
        self.ok = True

    def error(self, field_name: str | None, reason: str) -> None:
        self.errors.append(RowError(self.file, self.row, field_name, reason))
        self.ok = False

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.values.get(name, "")
        if not value:
            if required:
                self.error(name, "is empty; fill it in")
            return None
        # the store's bound where a field is stored as typed; else free text's
        problem = text_problem(value, limit=_LIMITS.get(name, FREE_TEXT_MAX))
        if problem is not None:  # the rule every door applies (arrears.inputs), never echoing the value
            self.error(name, problem)
            return None
        return value

    def amount(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_amount(value, field=name)
        except InputRejected as error:
            self.error(name, str(error).removeprefix(f"{name}: "))
            return None

    def positive_amount(self, name: str) -> int | None:
        amount = self.amount(name)
        if amount == 0:
            self.error(name, "must be above zero")
            return None
        return amount

    def rate(self, name: str) -> Decimal | None:
        value = self.text(name, required=False)
        if value is None:
            return None
        try:
            return parse_rate(value, field=name)
        except InputRejected as error:
            self.error(name, str(error).removeprefix(f"{name}: "))
            return None

    def whole(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not _WHOLE.fullmatch(value):
            self.error(name, f"{value!r} is not a whole number of months; write digits such as 10")
            return None
        return int(value)

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_date(value)
        except ValueError as error:
            self.error(name, str(error))
            return None

    def choice(self, name: str, kind: type[Method] | type[InterestBasis]) -> Any:
        value = self.text(name, required=False)
        if value is None:
            return None
        try:
            return parse_choice(kind, value)
        except ValueError as error:
            self.error(name, f"{error}; leave it empty for the product's")
            return None


@dataclass(slots=True)
class _Line:
    ref: str
    row: int
    borrower: tuple[str, str]
    product: Product
    limit: int
    rate: Decimal


@dataclass(slots=True)
class _Loan:
    ref: str
    row: int
    line: _Line
    terms: LoanTerms
    schedule: Schedule
    payments: list[Payment] = field(default_factory=list)
    position: Position | None = None

    def position_on(self, day: date, policy: DayEndPolicy) -> Position:
        """The loan during ``day``, its payments dated on or before it applied."""
        events: list[LoanEvent] = list(self.payments)
        return position_of(self.terms, events, day, policy)


@dataclass(slots=True)
class PortfolioPlan:
    """A checked portfolio, ready to write: what :func:`check_portfolio` returns."""

    directory: Path
    business_date: date
    digest: str
    borrowers: list[tuple[str, str]]
    lines: list[_Line]
    loans: list[_Loan]
    notices: tuple[str, ...]

    @property
    def payments(self) -> int:
        return sum(len(loan.payments) for loan in self.loans)


def _phone_problem(phone: str) -> str | None:
    digits = sum(ch.isdigit() for ch in phone)
    if 5 <= digits <= 20 and len(phone) <= 32 and all(ch in _PHONE_CHARS for ch in phone):
        return None
    return f"{store.mask_phone(phone)} is not a phone number; give digits, e.g. 13800138000 (shown masked)"


def _check_lines(
    table: _Table, directory: Path, business_date: date, errors: list[RowError]
) -> tuple[dict[str, _Line], set[str], list[str]]:
    products: dict[Path, Product | str] = {}
    notices: list[str] = []
    lines: dict[str, _Line] = {}
    bad: set[str] = set()
    first_row: dict[str, int] = {}
    for row, values in table.rows:
        fields = _Fields(table.file, row, values, errors)
        ref = fields.text("line_ref")
        name = fields.text("borrower_name")
        phone = fields.text("phone")
        if phone is not None and (problem := _phone_problem(phone)) is not None:
            fields.error("phone", problem)
        product = None
        product_text = fields.text("product")
        if product_text is not None:
            path = Path(product_text)
            path = (path if path.is_absolute() else directory / path).resolve()
            if path not in products:
                try:
                    loaded = load_product(path)
                except InputRejected as error:
                    products[path] = str(error)
                else:
                    products[path] = loaded
                    notices.extend(loaded.notices)
            found = products[path]
            if isinstance(found, str):
                fields.error("product", found)
            else:
                product = found
        limit = fields.amount("limit")
        rate = fields.rate("daily_rate")
        if isinstance(product, Product) and limit is not None:
            rules = product.rules
            if not rules.line.min_limit <= limit <= rules.line.max_limit:
                fields.error(
                    "limit",
                    f"a {product.code} line is {format_minor(rules.line.min_limit)}.."
                    f"{format_minor(rules.line.max_limit)} {product.currency}; {format_minor(limit)} is outside it",
                )
        rate_unreadable = rate is None and values.get("daily_rate", "") != ""
        if isinstance(product, Product) and not rate_unreadable:
            try:  # the rate against the product's range and reference cap, as line open checks it
                product.loan_terms(
                    principal=product.rules.drawdown.minimum,
                    terms=product.rules.pricing.terms[0],
                    start=business_date,
                    daily_rate=rate,
                )
            except InputRejected as error:
                fields.error("daily_rate" if rate is not None else "product", str(error))
        if ref is not None and ref in first_row:
            fields.error("line_ref", f"{ref!r} is already the ref of row {first_row[ref]}; give every line its own ref")
            continue
        if ref is not None:
            first_row[ref] = row
        if not fields.ok or ref is None or name is None or phone is None or not isinstance(product, Product):
            if ref is not None:
                bad.add(ref)
            continue
        assert limit is not None
        effective_rate = product.rules.pricing.daily_rate if rate is None else rate
        lines[ref] = _Line(ref, row, (name, phone), product, limit, effective_rate)
    return lines, bad, notices


def _check_loans(
    table: _Table, lines: dict[str, _Line], bad_lines: set[str] | None, business_date: date, errors: list[RowError]
) -> tuple[dict[str, _Loan], set[str]]:
    loans: dict[str, _Loan] = {}
    bad: set[str] = set()
    first_row: dict[str, int] = {}
    for row, values in table.rows:
        fields = _Fields(table.file, row, values, errors)
        ref = fields.text("loan_ref")
        line_ref = fields.text("line_ref")
        amount = fields.positive_amount("amount")
        terms = fields.whole("terms")
        start = fields.day("start")
        method = fields.choice("method", Method)
        basis = fields.choice("interest_basis", InterestBasis)
        if start is not None and start > business_date:
            fields.error(
                "start",
                f"{start} is after the business date {business_date}; a loan cannot start on a day not yet come",
            )
        line = lines.get(line_ref) if line_ref is not None else None
        if line_ref is not None and line is None and bad_lines is not None and line_ref not in bad_lines:
            fields.error("line_ref", f"no line {line_ref!r} in the lines table; add the line or correct the ref")
        if line is not None and terms is not None and terms not in line.product.rules.pricing.terms:
            offered = ", ".join(str(number) for number in line.product.rules.pricing.terms)
            fields.error("terms", f"{terms} terms is not offered by {line.product.code}; choose one of {offered}")
        if ref is not None and ref in first_row:
            fields.error("loan_ref", f"{ref!r} is already the ref of row {first_row[ref]}; give every loan its own ref")
            continue
        if ref is not None:
            first_row[ref] = row
        if fields.ok and line is not None and amount is not None and terms is not None and start is not None:
            try:
                loan_terms = line.product.loan_terms(
                    principal=amount,
                    terms=terms,
                    start=start,
                    daily_rate=line.rate,
                    method=method,
                    interest_basis=basis,
                )
                schedule = build_schedule(loan_terms)
            except InputRejected as error:
                fields.error("terms", str(error))
            else:
                if ref is not None:
                    loans[ref] = _Loan(ref, row, line, loan_terms, schedule)
                    continue
        if ref is not None:
            bad.add(ref)
    return loans, bad


def _check_payments(
    table: _Table, loans: dict[str, _Loan], bad_loans: set[str] | None, business_date: date, errors: list[RowError]
) -> None:
    for row, values in table.rows:
        fields = _Fields(table.file, row, values, errors)
        ref = fields.text("loan_ref")
        day = fields.day("date")
        amount = fields.positive_amount("amount")
        loan = loans.get(ref) if ref is not None else None
        if ref is not None and loan is None and bad_loans is not None and ref not in bad_loans:
            fields.error("loan_ref", f"no loan {ref!r} in the loans table; add the loan or correct the ref")
        if day is not None and day > business_date:
            fields.error(
                "date",
                f"{day} is after the business date {business_date}; money cannot be posted for a day not yet come",
            )
        if day is not None and loan is not None and day < loan.terms.start:
            fields.error("date", f"{day} is before loan {ref!r} started on {loan.terms.start}; check the date")
        if fields.ok and loan is not None and day is not None and amount is not None:
            loan.payments.append(Payment(day, amount))


def _outstanding_on(loan: _Loan, day: date) -> int:
    """The loan's principal outstanding during ``day``, its payments dated on or before it applied."""
    replayed = replay_events(loan.terms, loan.payments, day)
    if day >= loan.terms.start:
        replayed.begin_day(day)
    return replayed.outstanding_principal()


def _check_drawdowns(file: str, loans: dict[str, _Loan], errors: list[RowError]) -> set[str]:
    """Drawdown rules per line, in drawdown order; the refs of refused loans."""
    by_line: dict[str, list[_Loan]] = {}
    for loan in loans.values():
        by_line.setdefault(loan.line.ref, []).append(loan)
    refused: set[str] = set()
    for line_ref, drawn in by_line.items():
        earlier: list[_Loan] = []
        for loan in sorted(drawn, key=lambda item: (item.terms.start, item.row)):
            rules = loan.line.product.rules.drawdown
            limits = DrawdownLimits(rules.minimum, rules.multiple, rules.max_open_loans)
            start = loan.terms.start
            outstanding = [_outstanding_on(other, start) for other in earlier]
            refusal = check_drawdown(
                limits, limit=loan.line.limit, outstanding=outstanding, amount=loan.terms.principal
            )
            if refusal is None:
                earlier.append(loan)
                continue
            refused.add(loan.ref)
            context = f"line {line_ref!r} on {start}, after {len(earlier)} earlier loan(s) on it"
            errors.append(
                RowError(
                    file, loan.row, "amount", f"drawdown refused by rule {refusal.rule} ({context}): {refusal.reason}"
                )
            )
    return refused


def _reading_order(error: RowError) -> tuple[int, int, int]:
    """Tables in order, rows top down, fields left to right (whole-file and whole-row problems first)."""
    table = error.file.rsplit(".", 1)[0]
    names = [column for column, _, _ in TABLES.get(table, ())]
    tables = list(TABLES)
    return (
        tables.index(table) if table in tables else len(tables),
        error.row or 0,
        names.index(error.field) if error.field in names else -1,
    )


def check_portfolio(directory: str | Path, business_date: date, policy: DayEndPolicy | None = None) -> PortfolioPlan:
    """Read and check a portfolio; :class:`PortfolioRejected` with every problem, else the plan to write.
    ``policy``: the store's day-end policy, which the imported books follow."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputRejected(f"{directory} is not a directory; give the folder holding lines, loans and payments")
    errors: list[RowError] = []
    tables, digest = _read_tables(directory, errors)
    lines: dict[str, _Line] = {}
    loans: dict[str, _Loan] = {}
    bad_lines: set[str] | None = None  # None: the table could not be read, so no ref is "unknown"
    bad_loans: set[str] | None = None
    notices: list[str] = []
    if "lines" in tables:
        lines, bad_lines, notices = _check_lines(tables["lines"], directory, business_date, errors)
    if "loans" in tables:
        loans, bad_loans = _check_loans(tables["loans"], lines, bad_lines, business_date, errors)
    if "payments" in tables:
        _check_payments(tables["payments"], loans, bad_loans, business_date, errors)
    if "loans" in tables:
        refused = _check_drawdowns(tables["loans"].file, loans, errors)
        for ref in refused:
            del loans[ref]
        for loan in loans.values():
            try:
                loan.position = loan.position_on(business_date, policy or DayEndPolicy())
            except InputRejected as error:
                errors.append(RowError(tables["loans"].file, loan.row, None, f"cannot be replayed: {error}"))
    if errors:
        errors.sort(key=_reading_order)
        raise PortfolioRejected(errors)
    borrowers = list(dict.fromkeys(line.borrower for line in lines.values()))
    return PortfolioPlan(
        directory=directory,
        business_date=business_date,
        digest=digest,
        borrowers=borrowers,
        lines=list(lines.values()),
        loans=sorted(loans.values(), key=lambda loan: loan.row),
        notices=tuple(dict.fromkeys(notices)),
    )
