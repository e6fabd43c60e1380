"""Hardship and negotiation (协商还款): what a plan offers, who may grant it, and what it posts (:mod:`.plans`)."""
