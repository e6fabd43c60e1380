"""The demo's negotiation and dispute (issue 8): one hardship plan, asked for, proposed, refused to its own maker
and approved by a supervisor; and one dispute of a record the month's credit file reported."""

from __future__ import annotations

from datetime import date

from rich.console import Console

from arrears.entrypoints.bootstrap import open_services
from arrears.hardship.plans import PlanRefused, PlanTerms
from arrears.money import format_minor
from arrears.service_layer import hardship
from arrears.service_layer.credit_reporting import open_dispute
from arrears.service_layer.demo_queries import hardship_candidates, installments_on, reported_loan
from arrears.service_layer.services import Services


def show(console: Console, month: date) -> None:
    services = open_services()
    on, loans = hardship_candidates(services)
    proposed = None
    for loan in loans:  # the first loan a plan fits (its penalty owed today, nothing else running)
        asked = hardship.request(services, loan_id=loan, reason="收入中断两个月，希望分期归还逾期欠款")
        terms = PlanTerms(installments=3, first_due=date.fromordinal(on.toordinal() + 30), waive_penalty=True)
        try:
            proposed = hardship.propose(services, loan_id=loan, terms=terms, maker="催收员 李", plan_id=asked["plan"])
            break
        except PlanRefused:
            hardship.reject(services, plan_id=asked["plan"], checker="主管 王", note="no plan fits this loan today")
    if proposed is None:
        console.print("\nno overdue loan for the hardship plan demo")
        return
    console.print(
        f"\n[bold]arrears hardship propose {proposed['loan']} --installments 3 --waive-penalty[/]: "
        f"{proposed['overdue']} overdue, forgives {proposed['concession']} (plan {proposed['plan']}, maker 催收员 李)"
    )
    try:
        hardship.approve(
            services, plan_id=proposed["plan"], checker="催收员 李", role="supervisor", note="", key="demo-1"
        )
    except PlanRefused as refused:
        console.print(f"  [red]refused[/]: {refused}")
    approved = hardship.approve(
        services, plan_id=proposed["plan"], checker="主管 王", role="supervisor", note="income resumes", key="demo-2"
    )
    carried = [row for row in installments_on(services, proposed["loan"], on) if row.carried]
    console.print(f"  approved by 主管 王 on {approved['effective_on']}: transactions {approved['transactions']}")
    for row in carried:
        console.print(f"  new installment {row.number}: due {row.due_date}, {format_minor(row.total)}")
    _dispute(console, services, month)


def _dispute(console: Console, services: Services, month: date) -> None:
    on, loan = reported_loan(services, month)
    if loan is None:
        console.print("  no record reported that month to dispute")
        return
    dispute = open_dispute(
        services, loan_id=loan, month=month, jurisdiction="cn", received_on=on, claim="本人已按时还款，记录有误"
    )
    console.print(
        f"\n[bold]arrears credit dispute open {loan} --month {month:%Y-%m}[/]: dispute {dispute['dispute']}, "
        f"answer by {dispute['answer_by']} ({dispute['source']}); the loan's collection pauses meanwhile"
    )
