"""A tenant's DuckDB file, below every asset that reads or writes it: open it (database), migrate it,
stage an extraction (staging), run a load (loads), keep cursors (state), in transactions.

Its own layer, under extraction: the extraction stages into the file and the warehouse loads from
it, so neither reaches up into the other (bridged_auth0_pipeline_tests/test_layers.py)."""
