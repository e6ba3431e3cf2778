"""What a load needs first: the extraction its stream staged, or a failure that says what to run."""

from __future__ import annotations

import dagster as dg

from bridged_auth0_pipeline.warehouse.store.staging import Extraction, read_extraction


def staged(con, stream: str) -> Extraction:
    extraction = read_extraction(con, stream)
    if extraction is None:
        raise dg.Failure(
            f"Nothing staged for {stream}: materialize auth0_staging/{stream} first (the auth0_sync job does both).",
            allow_retries=False,
        )
    return extraction
