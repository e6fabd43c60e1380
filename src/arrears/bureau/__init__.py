"""Credit reporting (征信): what a lender furnishes to the credit bureau, and the borrower's protections around it.

The pre-notice before the first negative record (:mod:`arrears.bureau.pre_notice`), which collections sends
(a strategy's ``credit_report_pre_notice``) and this package owns; the monthly records in each jurisdiction's
codes with retention (:mod:`arrears.bureau.records`); the Metro 2 style base segment
(:mod:`arrears.bureau.metro2`). Consent and the month's run are in :mod:`arrears.service_layer.credit_reporting`.
Disputes, corrections and hardship comments come with the rest of issue 8.
"""
