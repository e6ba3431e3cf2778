"""View assets: one per sql/views/*.sql file, downstream of the tables it reads."""
