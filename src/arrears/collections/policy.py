"""Jurisdiction policy packs (``cn``, ``us``): the rules a collection contact must keep, as data, and the small
scalar validators that accept or refuse a contact with the rule's name and source (shared/RULES.md).

**Law or policy.** Each rule says whom it binds by law and whom by the lender's own policy
(:attr:`PolicyRule.lender`, :attr:`PolicyRule.agency`). Reg F and the FDCPA bind third-party collectors (the
agencies) by law and the original creditor (the lender) only by its policy; China's NIFA guideline is industry
self-regulation, applied by policy; PIPL, TCPA and FCRA are law for both.

**Configured, not buried.** Figures that shared/RULES.md tags S or G (the contact window, the call caps) are
fields of the pack with their documented defaults; a lender may run a stricter pack, never a looser one without
changing this file, where the source says why.

**Two kinds of check.** What a strategy file alone shows (an unlawful action, an ``at`` outside the window, more
calls a day than the cap) is refused when the strategy is loaded (:mod:`arrears.collections.strategy`). What only
the contact history and the account can tell (caps across days and agencies, opt-outs, disputes, special statuses)
is refused at planning time by :func:`check_contact`: the action is recorded as refused with the rule, never sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from arrears.legal import escalation as legal
from arrears.restrictions.registry import OUTSIDE_PRODUCT, OUTSIDE_PRODUCT_SOURCE


class Binding(StrEnum):
    LAW = "law"
    POLICY = "policy"  # the lender's own policy: followed, but no statute makes it do so


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One rule: its name (what a refusal cites), what it requires, its source, and whom it binds how."""

    name: str
    text: str
    source: str
    lender: Binding
    agency: Binding

    def cite(self) -> str:
        return f"{self.name} ({self.source}; binds the lender by {self.lender}, agencies by {self.agency})"


class Channel(StrEnum):
    """How a contact reaches the borrower (the strategy's contact actions)."""

    SMS = "sms"
    VOICE_CALL = "voice_call"
    IN_APP_NOTICE = "in_app_notice"
    EMAIL = "email"
    LETTER = "letter"


class Status(StrEnum):
    """Special statuses of an account or borrower that stop or pause collection."""

    DECEASED = "deceased"
    BANKRUPTCY = "bankruptcy"
    FRAUD_CLAIM = "fraud_claim"
    OPEN_COMPLAINT = "open_complaint"
    DISPUTED = "disputed"
    CEASE_COMMUNICATION = "cease_communication"
    REPRESENTED_BY_ATTORNEY = "represented_by_attorney"


@dataclass(frozen=True, slots=True)
class PolicyPack:
    """A jurisdiction's rules. ``window``: contact allowed from the first time to the second, both included, in
    the borrower's local time. ``daily_caps``: attempts a day per borrower, lender and agencies together.
    ``rolling_caps``: (attempts, days) per debt. ``stops``: statuses under which nothing is sent."""

    jurisdiction: str
    title: str
    timezone: str
    window: tuple[time, time]
    window_rule: PolicyRule
    daily_caps: Mapping[Channel, tuple[int, PolicyRule]]
    rolling_caps: Mapping[Channel, tuple[int, int, PolicyRule]]
    borrower_only: PolicyRule
    stops: Mapping[Status, PolicyRule]
    templates: frozenset[str]
    opt_out: PolicyRule | None = None  # every e-mail and text carries an opt-out
    automated_consent: PolicyRule | None = None  # consent before automated calls and texts to a mobile
    validation_notice: PolicyRule | None = None  # a validation notice before collecting
    pre_notice: PolicyRule | None = None  # notice before the first negative credit report
    time_barred: PolicyRule | None = None  # never referred to court once the limitation period has run
    limitation_years: int = 3  # the limitation period, counted from ContactFacts.limitation_from
    rules: tuple[PolicyRule, ...] = field(default=())

    def all_rules(self) -> list[PolicyRule]:
        """Every rule of the pack once, for listing."""
        found = [self.window_rule, self.borrower_only, *(r for _, r in self.daily_caps.values())]
        found += [r for _, _, r in self.rolling_caps.values()] + list(self.stops.values())
        found += [r for r in (self.opt_out, self.automated_consent, self.validation_notice) if r is not None]
        found += [r for r in (self.pre_notice, self.time_barred) if r is not None] + list(self.rules)
        unique: dict[str, PolicyRule] = {}
        for rule in found:
            unique.setdefault(rule.name, rule)
        return list(unique.values())


L, P = Binding.LAW, Binding.POLICY
VALIDATION_NOTICE = "validation_notice"  # the template that sends it

OUTSIDE_PRODUCT_RULE = PolicyRule(
    OUTSIDE_PRODUCT,
    "a lender restricts only its own product; never a messaging account or another company's service",
    OUTSIDE_PRODUCT_SOURCE,
    L,
    L,
)

_CN_BORROWER_ONLY = PolicyRule(
    "cn.contact_borrower_only",
    "contact only the borrower; never disclose the debt to contacts, friends, employers or the public",
    "PIPL arts. 23, 25 (V); 2018 互联网金融逾期债务催收自律公约 (S)",
    L,
    L,
)
_CN_COMMON_TEMPLATES = frozenset({"reminder", "pre_notice", "final_notice", "promise_confirmation", "hardship_offer"})

CN = PolicyPack(
    jurisdiction="cn",
    title="China: post-loan collection conduct",
    timezone="Asia/Shanghai",
    window=(time(8, 0), time(21, 0)),
    window_rule=PolicyRule(
        "cn.contact_window",
        "contact only 08:00..21:00 in the borrower's local time (the stricter of the texts)",
        "NIFA post-loan collection guideline (2024): no contact 22:00..08:00; older texts 08:00..21:00 (S)",
        P,
        P,
    ),
    daily_caps={
        Channel.VOICE_CALL: (
            3,
            PolicyRule(
                "cn.voice_calls_per_day",
                "at most 3 connected voice calls a day per borrower, lender and agencies together; planned "
                "conservatively as at most 3 attempts",
                "NIFA post-loan collection guideline (2024) (S)",
                P,
                P,
            ),
        )
    },
    rolling_caps={},
    borrower_only=_CN_BORROWER_ONLY,
    stops={
        Status.DECEASED: PolicyRule(
            "cn.deceased",
            "no collection from a deceased borrower; claims go to the estate",
            "民法典 art. 1161 (G)",
            P,
            P,
        ),
        Status.FRAUD_CLAIM: PolicyRule(
            "cn.fraud_claim",
            "collection pauses while a fraud or identity-theft claim is examined",
            "lender policy",
            P,
            P,
        ),
        Status.OPEN_COMPLAINT: PolicyRule(
            "cn.open_complaint", "collection pauses while a complaint is open", "lender policy (2018 公约 S)", P, P
        ),
        Status.DISPUTED: PolicyRule(
            "cn.disputed",
            "collection of a disputed amount pauses until the dispute is answered",
            "征信业管理条例 art. 25 (V) for the record; pausing collection: lender policy",
            P,
            P,
        ),
        Status.CEASE_COMMUNICATION: PolicyRule(
            "cn.cease_communication",
            "a borrower's request to stop a channel is honoured for that channel",
            "PIPL art. 44 (V)",
            L,
            L,
        ),
        Status.BANKRUPTCY: PolicyRule(
            "cn.bankruptcy",
            "individual bankruptcy (Shenzhen pilot) stops individual collection",
            "深圳经济特区个人破产条例 (G)",
            L,
            L,
        ),
    },
    templates=_CN_COMMON_TEMPLATES,
    pre_notice=PolicyRule(
        "cn.credit_report_pre_notice",
        "notify the borrower before the first negative credit report",
        "征信业管理条例 art. 15 (V)",
        L,
        L,
    ),
    time_barred=PolicyRule(
        "cn.time_barred",
        "a debt past the 3-year limitation period is never referred to court",
        "民法典 arts. 188, 189, 195 (V; 189 for instalments G)",
        P,
        P,
    ),
)

_US_BORROWER_ONLY = PolicyRule(
    "us.no_third_party_communication",
    "no communication about the debt with anyone but the consumer (and the listed parties)",
    "FDCPA 1692c(b) (V); Reg F 1006.6(d)",
    P,
    L,
)

US = PolicyPack(
    jurisdiction="us",
    title="United States: Reg F, FDCPA, TCPA, FCRA",
    timezone="America/New_York",
    window=(time(8, 0), time(21, 0)),
    window_rule=PolicyRule(
        "us.reg_f.inconvenient_time",
        "no contact before 08:00 or after 21:00 in the consumer's local time",
        "Reg F 1006.6(b)(1)(i) (V)",
        P,
        L,
    ),
    daily_caps={},
    rolling_caps={
        Channel.VOICE_CALL: (
            7,
            7,
            PolicyRule(
                "us.reg_f.call_frequency",
                "at most 7 call attempts in 7 days per debt (and none within 7 days after a conversation)",
                "Reg F 1006.14(b)(2) (S)",
                P,
                L,
            ),
        )
    },
    borrower_only=_US_BORROWER_ONLY,
    stops={
        Status.CEASE_COMMUNICATION: PolicyRule(
            "us.fdcpa.cease_communication", "a written request to cease stops communication", "FDCPA 1692c(c) (V)", P, L
        ),
        Status.DISPUTED: PolicyRule(
            "us.fdcpa.dispute",
            "a timely written dispute pauses collection until verification is mailed",
            "FDCPA 1692g(b) (V)",
            P,
            L,
        ),
        Status.REPRESENTED_BY_ATTORNEY: PolicyRule(
            "us.fdcpa.attorney",
            "a consumer represented by an attorney is contacted only through the attorney",
            "FDCPA 1692c(a)(2) (V)",
            P,
            L,
        ),
        Status.BANKRUPTCY: PolicyRule(
            "us.bankruptcy.automatic_stay", "the automatic stay stops collection", "11 U.S.C. 362 (G)", L, L
        ),
        Status.DECEASED: PolicyRule(
            "us.deceased", "collection only from the estate's representative", "Reg F 1006.2(e) (G)", P, L
        ),
        Status.FRAUD_CLAIM: PolicyRule(
            "us.identity_theft", "collection pauses while an identity-theft claim is examined", "FCRA 615(f) (G)", L, L
        ),
        Status.OPEN_COMPLAINT: PolicyRule(
            "us.open_complaint", "collection pauses while a complaint is open", "lender policy", P, P
        ),
    },
    templates=_CN_COMMON_TEMPLATES | {"validation_notice"},
    opt_out=PolicyRule(
        "us.reg_f.opt_out",
        "every e-mail and text carries a simple way to opt out; an opted-out channel is not used",
        "Reg F 1006.6(e) (S)",
        P,
        L,
    ),
    automated_consent=PolicyRule(
        "us.tcpa.consent",
        "prior express consent before autodialed or prerecorded calls and texts to a mobile",
        "TCPA 47 U.S.C. 227 (G)",
        L,
        L,
    ),
    validation_notice=PolicyRule(
        "us.reg_f.validation_notice",
        "a validation notice within 5 days of the first contact, before collecting",
        "Reg F 1006.34 (V)",
        P,
        L,
    ),
    pre_notice=PolicyRule(
        "us.fcra.negative_information_notice",
        "notify the consumer before, or within 30 days after, the first negative report",
        "FCRA 623(a)(7) (V)",
        L,
        L,
    ),
    time_barred=PolicyRule(
        "us.reg_f.time_barred",
        "no suit or threat of suit on a time-barred debt",
        "Reg F 1006.26(b) (V)",
        P,
        L,
    ),
    limitation_years=3,  # state law sets it (3 to 6 years for written contracts): configure per state; 3 refuses first
)

PACKS: dict[str, PolicyPack] = {"cn": CN, "us": US}


# -- run-time checks: one planned contact against the account and its contact history ---------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact as planned or made: channel, local date-time in the borrower's zone, the debt (loan) and who
    makes it (``None``: the lender; else the agency's name)."""

    channel: Channel
    at: datetime
    loan: int
    agency: str | None = None
    automated: bool = False
    template: str | None = None  # what it sends (the validation notice itself is never held back by its rule)


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """What the run-time checks need to know of the borrower and the debt."""

    statuses: frozenset[Status] = frozenset()
    opted_out: frozenset[Channel] = frozenset()
    automated_consent: bool = False
    validation_notice_sent: date | None = None
    first_contact: date | None = None
    limitation_from: date | None = None  # the last installment's due date or the last payment, the later


def time_barred_on(pack: PolicyPack, limitation_from: date) -> date:
    """The first day a debt is time-barred: ``limitation_years`` after ``limitation_from`` (the later of the
    last installment's due date, 民法典 art. 189, and the last payment, which interrupts it, art. 195). A 29
    February start ends on 28 February.

    >>> time_barred_on(CN, date(2024, 2, 29))
    datetime.date(2027, 2, 28)
    """
    return legal.time_barred_on(limitation_from, pack.limitation_years)


@dataclass(frozen=True, slots=True)
class Refusal:
    rule: PolicyRule
    message: str


def check_contact(
    pack: PolicyPack, contact: Contact, account: ContactFacts, history: Sequence[Contact]
) -> Refusal | None:
    """The scalar reference check of one contact: the first rule it breaks, or None. ``history``: the
    borrower's earlier contacts by the lender and every agency (the caps count them all)."""
    for status in sorted(account.statuses & set(pack.stops)):
        return Refusal(pack.stops[status], f"the account is marked {status}: {pack.stops[status].text}")
    local = contact.at.time()
    start, end = pack.window
    if not start <= local <= end:
        return Refusal(
            pack.window_rule, f"{local:%H:%M} is outside {start:%H:%M}..{end:%H:%M} in the borrower's local time"
        )
    if contact.channel in account.opted_out and pack.opt_out is not None:
        return Refusal(pack.opt_out, f"the borrower opted out of {contact.channel}")
    automated = contact.automated and contact.channel in (Channel.SMS, Channel.VOICE_CALL)
    if automated and pack.automated_consent is not None and not account.automated_consent:
        return Refusal(pack.automated_consent, "no prior express consent to automated calls or texts")
    first = account.first_contact
    late = first is not None and contact.at.date() > first + timedelta(days=5)
    sends_it = contact.template == VALIDATION_NOTICE
    if pack.validation_notice is not None and late and account.validation_notice_sent is None and not sends_it:
        return Refusal(pack.validation_notice, "no validation notice sent within 5 days of the first contact")
    if contact.channel in pack.daily_caps:
        cap, rule = pack.daily_caps[contact.channel]
        same_day = sum(1 for c in history if c.channel is contact.channel and c.at.date() == contact.at.date())
        if same_day >= cap:
            return Refusal(
                rule, f"{same_day} {contact.channel} attempts already on {contact.at.date()}; the cap is {cap}"
            )
    if contact.channel in pack.rolling_caps:
        cap, days, rule = pack.rolling_caps[contact.channel]
        since = contact.at.date() - timedelta(days=days - 1)
        recent = sum(
            1
            for c in history
            if c.channel is contact.channel and c.loan == contact.loan and since <= c.at.date() <= contact.at.date()
        )
        if recent >= cap:
            return Refusal(
                rule, f"{recent} {contact.channel} attempts on loan {contact.loan} in {days} days; cap {cap}"
            )
    return None
