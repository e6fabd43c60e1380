"""The demo (``arrears demo``): a synthetic portfolio, its collection days and one negotiation, on the store."""
