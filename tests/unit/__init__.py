"""Unit tests: the rules as pure functions. No database, no server, no subprocess; files only under tmp_path."""
