"""Portfolio and collections analytics from day-end snapshots (:mod:`.portfolio`, :mod:`.collections`), and
their self-contained HTML reports (:mod:`.html`)."""
