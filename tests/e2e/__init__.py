"""End-to-end tests: the doors as people and programs use them: the API and the pages over real HTTP, the browser,
the crawl, the CLI as a subprocess, the request limits, and bad input at every door."""
