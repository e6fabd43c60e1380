"""Daily planning: what a strategy asks for on day D, for every delinquent account, each action allowed or refused
by the policy pack with the rule that refuses it.

**Order.** A strategy's actions are planned step by step: by their local time (actions without one first), then
rule, then action, then attempt; within a step, account by account in loan order. A contact allowed joins the
borrower's contact history at once, so caps hold across rules, attempts, the borrower's loans, days and
agencies (the history holds what agencies did too). ``times_per_day`` = k plans k attempts, ``at``,
``at`` + 2 h, ...; an attempt outside the window is refused like any other.

**Two planners, one answer.** :func:`plan_accounts` is the scalar reference: it calls
:func:`arrears.collections.policy.check_contact` for every contact. :func:`plan_batch` plans a whole portfolio
with numpy, the same checks over arrays, for the daily run over a million accounts; tests hold the two equal
action by action.

**Champion/challenger.** An account's arm is fixed by a hash of the strategy's name and the loan id
(:func:`arm_of`), so it never changes from day to day and both planners agree.

**What is not planned.** A placement for an account already placed (or placed by an earlier step today, or
recalled by the strategy before: a new agency for it is a person's decision), a recall for one not placed or
placed fewer than ``after_days`` ago, and (``[strategy] promise_pauses``) what a live promise to pay holds back: the
strategy does not ask for them, so they are not in the plan at all. A legal referral of a time-barred debt is
planned and refused with the pack's rule (:func:`arrears.collections.policy.time_barred_on`).

**Agencies.** A placement goes to the agency the action names, or with ``agency = "any"`` to one of the
strategy's ``[[agencies]]`` by a hash of the loan (:func:`agency_of`), by their shares, like the arms.

**What stops collection.** A special status of the pack's ``stops`` (deceased, bankruptcy, fraud claim, open
complaint, dispute, cease-communication, attorney) refuses every action of the account, contacts or not: a
paused account is not placed with an agency or referred to court either; a recall is never refused (a stop is a
reason to take the account back from the agency, not to leave it there).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from arrears.collections.policy import (
    VALIDATION_NOTICE,
    Channel,
    Contact,
    ContactFacts,
    PolicyPack,
    PolicyRule,
    Status,
    check_contact,
    time_barred_on,
)
from arrears.collections.strategy import ANY_AGENCY, CONTACTS, Action, ActionStep, Strategy, When

ATTEMPT_SPACING = timedelta(hours=2)
PROMISES = ("none", "live", "kept", "broken")
BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7")
STATUS_BITS = {status: 1 << i for i, status in enumerate(Status)}
CHANNEL_CODES = {channel: i for i, channel in enumerate(Channel)}
AUTOMATED_BY_DEFAULT = {Action.SMS}  # texts are sent by the system; calls are dialled by a collector


@dataclass(frozen=True, slots=True)
class Step:
    """One planned attempt of one action of one rule."""

    rule: int
    action: int
    attempt: int
    step: ActionStep
    local: time | None  # None: an action without a time (placement, referral, restrictions)
    when: When
    rule_name: str

    @property
    def channel(self) -> Channel | None:
        return CONTACTS.get(self.step.action)

    @property
    def automated(self) -> bool:
        return self.step.action in AUTOMATED_BY_DEFAULT


def steps_of(strategy: Strategy) -> list[Step]:
    """Every attempt the strategy can plan in a day, in planning order (module docstring)."""
    found = []
    for r, rule in enumerate(strategy.rules.rules):
        for a, step in enumerate(rule.actions):
            attempts = step.times_per_day if CONTACTS.get(step.action) is not None else 1
            for j in range(attempts):
                local = None
                if step.at is not None or CONTACTS.get(step.action) is not None:
                    start = datetime.combine(date(2000, 1, 1), step.at or strategy.pack.window[0])
                    moved = start + ATTEMPT_SPACING * j
                    local = moved.time() if moved.date() == start.date() else time(23, 59)
                found.append(Step(r, a, j, step, local, rule.when, rule.name or f"rules[{r}]"))
    return sorted(found, key=lambda s: (s.local or time.min, s.rule, s.action, s.attempt))


def _mix(value: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash, the same in Python and numpy."""
    mask = (1 << 64) - 1
    value = (value + 0x9E3779B97F4A7C15) & mask
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & mask
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & mask
    return value ^ (value >> 31)


def _seed(strategy: Strategy) -> int:
    return int.from_bytes(hashlib.sha256(strategy.rules.strategy.name.encode()).digest()[:8], "big")


def _agency_seed(strategy: Strategy) -> int:
    return int.from_bytes(hashlib.sha256(f"{strategy.rules.strategy.name}/agencies".encode()).digest()[:8], "big")


def agency_of(strategy: Strategy, step: ActionStep, loan: int) -> str:
    """The agency a placement of ``loan`` goes to: the one the action names, else allocated by share."""
    if step.agency is not None and step.agency != ANY_AGENCY:
        return step.agency
    slot = _mix(_agency_seed(strategy) ^ loan) % 100
    for agency in strategy.rules.agencies:
        if slot < agency.share:
            return agency.name
        slot -= agency.share
    raise AssertionError("agency shares add up to 100 (checked when the strategy loads)")


def arm_of(strategy: Strategy, loan: int) -> str | None:
    """The loan's champion/challenger arm: fixed by a hash of the strategy's name and the loan id."""
    arms = strategy.rules.arms
    if not arms:
        return None
    slot = _mix(_seed(strategy) ^ loan) % 100
    for arm in arms:
        if slot < arm.share:
            return arm.name
        slot -= arm.share
    raise AssertionError("arm shares add up to 100 (checked when the strategy loads)")


@dataclass(frozen=True, slots=True)
class AccountView:
    """A delinquent account as planning sees it: after day-end D-1, with what the checks need."""

    loan: int
    borrower: int
    days_past_due: int
    bucket: str
    overdue: int
    segment: str = ""
    promise: str = "none"
    timezone: str = "Asia/Shanghai"
    account: ContactFacts = field(default_factory=ContactFacts)
    placed_with: str | None = None  # the agency the account is placed with
    placed_on: date | None = None
    recalled: bool = False  # recalled by the strategy before: never placed again by it


@dataclass(frozen=True, slots=True)
class Planned:
    loan: int
    borrower: int
    action: Action
    channel: Channel | None
    at: datetime | None  # in the borrower's zone, with its offset
    template: str | None
    arm: str | None
    rule: str  # the strategy's rule that asked for it
    refused_by: PolicyRule | None = None
    reason: str | None = None
    agency: str | None = None  # placements and recalls: the agency

    def as_json(self) -> dict[str, object]:
        return {
            "loan": self.loan,
            "borrower": self.borrower,
            "action": self.action.value,
            "channel": self.channel.value if self.channel else None,
            "scheduled": self.at.isoformat() if self.at else None,
            "template": self.template,
            "arm": self.arm,
            "strategy_rule": self.rule,
            "decision": "refused" if self.refused_by else "allowed",
            "rule": self.refused_by.name if self.refused_by else None,
            "source": self.refused_by.source if self.refused_by else None,
            "reason": self.reason,
            "agency": self.agency,
        }


def matches(when: When, account: AccountView, arm: str | None) -> bool:
    """Whether a rule's ``when`` holds for the account (bounds inclusive; a key left out matches anything)."""
    return (
        (when.dpd_min is None or account.days_past_due >= when.dpd_min)
        and (when.dpd_max is None or account.days_past_due <= when.dpd_max)
        and (when.bucket is None or account.bucket == when.bucket)
        and (when.min_overdue is None or account.overdue >= when.min_overdue)
        and (when.segment is None or account.segment == when.segment)
        and (when.promise is None or account.promise == when.promise)
        and (when.arm is None or arm == when.arm)
    )


def wanted(
    strategy: Strategy, step: ActionStep, account: AccountView, day: date, placed_today: frozenset[int] = frozenset()
) -> bool:
    """Whether the strategy asks for this action for this account today beyond its rule's ``when`` (module
    docstring: placements, recalls, a live promise's pauses). ``placed_today``: loans a placement step has
    already taken today (one placement per loan per day, the first step's)."""
    if account.promise == "live" and step.action in strategy.rules.strategy.promise_pauses:
        return False
    if step.action is Action.AGENCY_PLACEMENT:
        return account.placed_on is None and not account.recalled and account.loan not in placed_today
    if step.action is Action.AGENCY_RECALL:
        return account.placed_on is not None and day >= account.placed_on + timedelta(days=step.after_days or 0)
    return True


def plan_accounts(
    strategy: Strategy, accounts: Sequence[AccountView], day: date, history: Mapping[int, Sequence[Contact]]
) -> list[Planned]:
    """The scalar reference planner (module docstring). ``history``: each borrower's earlier contacts, by the
    lender and every agency, in the borrower's local time."""
    pack = strategy.pack
    made = {a.borrower: list(history.get(a.borrower, ())) for a in accounts}
    arms = {a.loan: arm_of(strategy, a.loan) for a in accounts}
    ordered = sorted(accounts, key=lambda a: a.loan)
    planned = []
    placed_today: set[int] = set()
    for step in steps_of(strategy):
        for account in ordered:
            if not matches(step.when, account, arms[account.loan]):
                continue
            if not wanted(strategy, step.step, account, day, frozenset(placed_today)):
                continue
            channel, at = step.channel, None
            if step.local is not None:
                at = datetime.combine(day, step.local, tzinfo=ZoneInfo(account.timezone))
            refusal = None
            agency = None
            if step.step.action is Action.AGENCY_PLACEMENT:
                agency = agency_of(strategy, step.step, account.loan)
                placed_today.add(account.loan)
            elif step.step.action is Action.AGENCY_RECALL:
                agency = account.placed_with
            if channel is None:
                if step.step.action is not Action.AGENCY_RECALL:  # a stop never keeps an account placed
                    refusal = _stopped(pack, account.account)
                if refusal is None and step.step.action is Action.LEGAL_REFERRAL:
                    refusal = _time_barred(pack, account.account, day)
            else:
                assert at is not None
                local = at.replace(tzinfo=None)
                template = step.step.template
                contact = Contact(channel, local, account.loan, automated=step.automated, template=template)
                refused = check_contact(pack, contact, account.account, made[account.borrower])
                if refused is None:
                    made[account.borrower].append(contact)
                else:
                    refusal = (refused.rule, refused.message)
            planned.append(
                Planned(
                    account.loan,
                    account.borrower,
                    step.step.action,
                    channel,
                    at,
                    step.step.template,
                    arms[account.loan],
                    step.rule_name,
                    refusal[0] if refusal else None,
                    refusal[1] if refusal else None,
                    agency,
                )
            )
    return planned


def _time_barred(pack: PolicyPack, account: ContactFacts, day: date) -> tuple[PolicyRule, str] | None:
    if pack.time_barred is None or account.limitation_from is None:
        return None
    barred = time_barred_on(pack, account.limitation_from)
    if day < barred:
        return None
    return pack.time_barred, f"time-barred since {barred}: {pack.time_barred.text}"


def _stopped(pack: PolicyPack, account: ContactFacts) -> tuple[PolicyRule, str] | None:
    for status in sorted(account.statuses & set(pack.stops)):
        return pack.stops[status], f"the account is marked {status}: {pack.stops[status].text}"
    return None


# -- the columnar planner --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accounts:
    """Delinquent accounts as arrays, sorted by loan (one entry per loan). Days are ordinals (``date.toordinal``),
    -1 for none; ``statuses`` and ``opted_out`` are bit sets (:data:`STATUS_BITS`, bit ``CHANNEL_CODES[c]``)."""

    loan: np.ndarray
    borrower: np.ndarray
    days_past_due: np.ndarray
    bucket: np.ndarray  # index into BUCKETS
    overdue: np.ndarray
    segment: np.ndarray  # index into ``segments``
    segments: tuple[str, ...]
    promise: np.ndarray  # index into PROMISES
    statuses: np.ndarray
    opted_out: np.ndarray
    automated_consent: np.ndarray
    first_contact: np.ndarray
    validation_notice_sent: np.ndarray
    placed_on: np.ndarray  # -1: not placed with an agency
    limitation_from: np.ndarray  # -1: unknown (never time-barred)
    recalled: np.ndarray  # bool: recalled by the strategy before (never placed again by it)


@dataclass(frozen=True)
class History:
    """Contacts made, by the lender and every agency: borrower, loan, channel code, local day (ordinal)."""

    borrower: np.ndarray
    loan: np.ndarray
    channel: np.ndarray
    day: np.ndarray


@dataclass(frozen=True)
class Plan:
    """The day's plan as arrays, one entry per planned action in planning order: the step (index into
    :attr:`steps`), the account (index into the accounts), and the refusing rule (index into :attr:`rules`, -1:
    allowed)."""

    steps: list[Step]
    rules: list[PolicyRule]
    step: np.ndarray
    account: np.ndarray
    refused: np.ndarray

    def allowed(self) -> int:
        return int(np.count_nonzero(self.refused < 0))


def arms_batch(strategy: Strategy, loans: np.ndarray) -> np.ndarray:
    """:func:`arm_of` for many loans: the arm's index in ``strategy.rules.arms`` (-1: no arms)."""
    arms = strategy.rules.arms
    if not arms:
        return np.full(len(loans), -1, np.int8)
    slot = _mixed(loans, _seed(strategy))
    bounds = np.cumsum([arm.share for arm in arms])
    return np.searchsorted(bounds, slot, side="right").astype(np.int8)


def agencies_batch(strategy: Strategy, loans: np.ndarray) -> np.ndarray:
    """:func:`agency_of` for ``agency = "any"`` over many loans: the index in ``strategy.rules.agencies``."""
    agencies = strategy.rules.agencies
    if not agencies:
        return np.full(len(loans), -1, np.int16)
    slot = _mixed(loans, _agency_seed(strategy))
    return np.searchsorted(np.cumsum([a.share for a in agencies]), slot, side="right").astype(np.int16)


def _mixed(loans: np.ndarray, seed: int) -> np.ndarray:
    """:func:`_mix` of ``seed ^ loan`` modulo 100, over arrays."""
    with np.errstate(over="ignore"):
        value = loans.astype(np.uint64) ^ np.uint64(seed)
        value = value + np.uint64(0x9E3779B97F4A7C15)
        value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        value = value ^ (value >> np.uint64(31))
    return (value % np.uint64(100)).astype(np.int64)


def _wanted(
    strategy: Strategy, step: ActionStep, accounts: Accounts, today: int, placed_today: np.ndarray
) -> np.ndarray:
    """:func:`wanted` over arrays."""
    mask = np.ones(len(accounts.loan), dtype=bool)
    if step.action in strategy.rules.strategy.promise_pauses:
        mask &= accounts.promise != PROMISES.index("live")
    if step.action is Action.AGENCY_PLACEMENT:
        mask &= (accounts.placed_on < 0) & ~accounts.recalled & ~placed_today
    elif step.action is Action.AGENCY_RECALL:
        mask &= (accounts.placed_on >= 0) & (today >= accounts.placed_on + (step.after_days or 0))
    return mask


def _matching(when: When, accounts: Accounts, arm: np.ndarray, strategy: Strategy) -> np.ndarray:
    mask = np.ones(len(accounts.loan), dtype=bool)
    if when.dpd_min is not None:
        mask &= accounts.days_past_due >= when.dpd_min
    if when.dpd_max is not None:
        mask &= accounts.days_past_due <= when.dpd_max
    if when.bucket is not None:
        mask &= accounts.bucket == BUCKETS.index(when.bucket)
    if when.min_overdue is not None:
        mask &= accounts.overdue >= when.min_overdue
    if when.segment is not None:
        code = accounts.segments.index(when.segment) if when.segment in accounts.segments else -2
        mask &= accounts.segment == code
    if when.promise is not None:
        mask &= accounts.promise == PROMISES.index(when.promise)
    if when.arm is not None:
        mask &= arm == [a.name for a in strategy.rules.arms].index(when.arm)
    return mask


class _RuleCodes:
    """The refusing rules of one plan, numbered in the order they are first used (:attr:`Plan.rules`)."""

    def __init__(self) -> None:
        self.rules: list[PolicyRule] = []
        self._code: dict[str, int] = {}

    def __call__(self, rule: PolicyRule) -> int:
        if rule.name not in self._code:
            self._code[rule.name] = len(self.rules)
            self.rules.append(rule)
        return self._code[rule.name]


@dataclass
class _BatchDay:
    """What every step of one day's batch plan reads: per account, the stop, the late validation notice and the
    time bar; per channel, the contacts counted against the caps (updated as the plan allows more)."""

    today: int
    codes: _RuleCodes
    stop: np.ndarray
    late: np.ndarray
    barred: np.ndarray
    borrower_of: np.ndarray
    used_day: dict[Channel, np.ndarray]
    used_roll: dict[Channel, np.ndarray]


def plan_batch(strategy: Strategy, accounts: Accounts, day: date, history: History) -> Plan:
    """:func:`plan_accounts` over arrays (module docstring); equal to it action by action."""
    pack = strategy.pack
    for channel in pack.daily_caps:
        if channel in pack.rolling_caps:  # both on one channel would make the two caps' orders interact
            raise NotImplementedError(f"{pack.jurisdiction}: a daily and a rolling cap on {channel}")
    steps = steps_of(strategy)
    count = len(accounts.loan)
    if not count:
        return Plan(steps, [], np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int16))
    arm = arms_batch(strategy, accounts.loan)
    batch = _batch_day(pack, accounts, day.toordinal(), history)
    matches_of = [_matching(rule.when, accounts, arm, strategy) for rule in strategy.rules.rules]
    out_step, out_account, out_refused = [], [], []
    placed_today = np.zeros(count, dtype=bool)
    for index, step in enumerate(steps):
        who = np.flatnonzero(matches_of[step.rule] & _wanted(strategy, step.step, accounts, batch.today, placed_today))
        if step.step.action is Action.AGENCY_PLACEMENT:
            placed_today[who] = True
        out_step.append(np.full(len(who), index, np.int32))
        out_account.append(who.astype(np.int32))
        out_refused.append(_refused(pack, step, who, accounts, batch))
    return Plan(
        steps,
        batch.codes.rules,
        np.concatenate(out_step) if out_step else np.zeros(0, np.int32),
        np.concatenate(out_account) if out_account else np.zeros(0, np.int32),
        np.concatenate(out_refused) if out_refused else np.zeros(0, np.int16),
    )


def _batch_day(pack: PolicyPack, accounts: Accounts, today: int, history: History) -> _BatchDay:
    """The day's per-account facts and contact counts, before any step is planned."""
    count = len(accounts.loan)
    codes = _RuleCodes()
    borrowers, borrower_of = np.unique(accounts.borrower, return_inverse=True)
    # stops: the first status in the pack's sorted order
    stop = np.full(count, -1, np.int16)
    for status in sorted(set(pack.stops), reverse=True):
        stop = np.where(accounts.statuses & STATUS_BITS[status], codes(pack.stops[status]), stop)
    used_day, used_roll = _contacts_counted(pack, accounts, today, history, borrowers)
    late = (accounts.first_contact >= 0) & (today > accounts.first_contact + 5) & (accounts.validation_notice_sent < 0)
    barred = np.zeros(count, dtype=bool)
    if pack.time_barred is not None:
        known = accounts.limitation_from >= 0
        starts, at = np.unique(accounts.limitation_from[known], return_inverse=True)  # few distinct days
        ends = np.array([time_barred_on(pack, date.fromordinal(int(d))).toordinal() for d in starts], np.int64)
        barred[known] = today >= ends[at]
    return _BatchDay(today, codes, stop, late, barred, borrower_of, used_day, used_roll)


def _contacts_counted(
    pack: PolicyPack, accounts: Accounts, today: int, history: History, borrowers: np.ndarray
) -> tuple[dict[Channel, np.ndarray], dict[Channel, np.ndarray]]:
    """Counts of today's contacts by borrower (daily caps) and of the rolling window by loan, per channel."""
    count = len(accounts.loan)
    used_day: dict[Channel, np.ndarray] = {}
    used_roll: dict[Channel, np.ndarray] = {}
    for channel in pack.daily_caps:
        mine = (history.channel == CHANNEL_CODES[channel]) & (history.day == today)
        at = np.searchsorted(borrowers, history.borrower[mine])
        known = (at < len(borrowers)) & (borrowers[np.minimum(at, len(borrowers) - 1)] == history.borrower[mine])
        used_day[channel] = np.bincount(at[known], minlength=len(borrowers)).astype(np.int64)
    for channel, (_, days, _) in pack.rolling_caps.items():
        mine = (history.channel == CHANNEL_CODES[channel]) & (history.day > today - days) & (history.day <= today)
        at = np.searchsorted(accounts.loan, history.loan[mine])
        known = (at < count) & (accounts.loan[np.minimum(at, count - 1)] == history.loan[mine])
        used_roll[channel] = np.bincount(at[known], minlength=count).astype(np.int64)
    return used_day, used_roll


def _refused(pack: PolicyPack, step: Step, who: np.ndarray, accounts: Accounts, batch: _BatchDay) -> np.ndarray:
    """The refusing rule of one step for each account it wants (-1: allowed): a stop, the time bar, then the
    contact rules in the pack's order."""
    codes = batch.codes
    refused: np.ndarray = batch.stop[who].astype(np.int16)
    if step.step.action is Action.AGENCY_RECALL:  # a stop never keeps an account with an agency
        refused[:] = -1
    if step.step.action is Action.LEGAL_REFERRAL and pack.time_barred is not None:
        refused[(refused < 0) & batch.barred[who]] = codes(pack.time_barred)
    if step.channel is not None and len(who):
        _refuse_contacts(pack, step, step.channel, who, accounts, batch, refused)
    return refused


def _refuse_contacts(
    pack: PolicyPack,
    step: Step,
    via: Channel,
    who: np.ndarray,
    accounts: Accounts,
    batch: _BatchDay,
    refused: np.ndarray,
) -> None:
    """Refuse, in ``refused``, the contacts the window, opt-outs, consent, validation notice or caps forbid; count
    the allowed ones against the caps."""
    assert step.local is not None
    codes = batch.codes
    start, end = pack.window
    open_ = refused < 0
    if not start <= step.local <= end:
        refused[open_] = codes(pack.window_rule)
        return
    bit = 1 << CHANNEL_CODES[via]
    if pack.opt_out is not None:
        refused[open_ & ((accounts.opted_out[who] & bit) != 0)] = codes(pack.opt_out)
        open_ = refused < 0
    if step.automated and via in (Channel.SMS, Channel.VOICE_CALL) and pack.automated_consent:
        refused[open_ & ~accounts.automated_consent[who]] = codes(pack.automated_consent)
        open_ = refused < 0
    if pack.validation_notice is not None and step.step.template != VALIDATION_NOTICE:
        refused[open_ & batch.late[who]] = codes(pack.validation_notice)
        open_ = refused < 0
    if via in pack.daily_caps:
        cap, cap_rule = pack.daily_caps[via]
        group = batch.borrower_of[who]
        rank = _rank_within(group, open_)
        over = open_ & (batch.used_day[via][group] + rank >= cap)
        refused[over] = codes(cap_rule)
        open_ = refused < 0
        np.add.at(batch.used_day[via], group[open_], 1)
    if via in pack.rolling_caps:
        cap, _, cap_rule = pack.rolling_caps[via]
        over = open_ & (batch.used_roll[via][who] >= cap)
        refused[over] = codes(cap_rule)
        open_ = refused < 0
        batch.used_roll[via][who[open_]] += 1


def _rank_within(group: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """For each entry, how many earlier entries (in order) of the same group are ``counted``."""
    order = np.argsort(group, kind="stable")
    sorted_group, sorted_counted = group[order], counted[order].astype(np.int64)
    running = np.cumsum(sorted_counted) - sorted_counted  # counted entries before, in the whole sorted array
    first = np.r_[True, sorted_group[1:] != sorted_group[:-1]]
    base = np.maximum.accumulate(np.where(first, running, 0))
    rank = np.empty_like(running)
    rank[order] = running - base
    return rank
