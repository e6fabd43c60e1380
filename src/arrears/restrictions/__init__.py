"""Restrictions a lender may lawfully place (:mod:`.registry`) and a borrower's standing (:mod:`.standing`):
what is restricted, why, and what to pay by when to lift it (解封)."""
