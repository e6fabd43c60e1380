"""Credit reporting (征信): what a lender furnishes to the credit bureau, and the borrower's protections around it.

Built so far: the pre-notice before the first negative record (:mod:`arrears.reporting.pre_notice`), which
collections sends (a strategy's ``credit_report_pre_notice``) and this package owns. Consent, the monthly
records, disputes, retention and the bureau files come with issue 8.
"""
