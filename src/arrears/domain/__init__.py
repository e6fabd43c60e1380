"""The domain: a loan's terms, schedule and events, their exact replay, payoff, ageing, products and credit lines.

Pure functions and frozen records; nothing here knows a database, a file format or HTTP. See docs/architecture.md."""
