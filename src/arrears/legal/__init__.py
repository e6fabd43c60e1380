"""Acceleration and legal escalation (:mod:`.escalation`) and court orders, recorded never executed
(:mod:`.court_orders`)."""
