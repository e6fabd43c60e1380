"""Integration tests: the store on SQLite and PostgreSQL, Parquet datasets, Spark, migrations, the channels over real
HTTP, and the day-end under traffic."""
