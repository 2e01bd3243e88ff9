"""The raw archive: every fetched body, kept in gzip WARC files beside the database.

One file per ingest run (`archive/YYYY-MM-DD/<run id>.warc.gz`), one `response` record per
fetch with the status, content type, URL and time. Each gzip member holds one record, so a
pointer (file, byte offset) reads one body back without scanning: an improved extractor or
watchlist can reprocess history (`newswatch reprocess`) without touching the network.
Bodies are stored as our fetcher handed them over (decompressed), so no Content-Encoding is
recorded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from isal import isal_zlib
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from extractors.errors import WarehouseError
from extractors.records import FetchResult

# The gzip members are written by ISA-L (python-isal), not zlib: at its level 2 a 150 KB page
# takes 0.22 ms where zlib's level 3 takes 1.12 ms (and warcio's level 9, 3.8 ms), for an
# archive 2% larger than zlib's level 3 (corpus pages; bench/README.md, "Pipeline"). Any
# gzip reader reads them back.
GZIP_LEVEL = 2


@dataclass(frozen=True, slots=True)
class Pointer:
    """Where one body is: a WARC file (relative to the archive folder) and a byte offset."""

    path: str
    offset: int


@dataclass(frozen=True, slots=True)
class ArchivedBody:
    url: str
    status: int | None
    content_type: str
    fetched_at: datetime | None
    body: bytes


class ArchiveWriter:
    """Appends the bodies of one run to its WARC file, opened on the first write."""

    def __init__(self, root: Path, run_id: str, day: datetime | None = None) -> None:
        self.root = root
        day = day or datetime.now(UTC)
        self.relative = f"{day:%Y-%m-%d}/{run_id}.warc.gz"
        self._file: BinaryIO | None = None

    def write(self, fetch: FetchResult) -> Pointer | None:
        """Archive `fetch`'s body; None when there is no body to keep."""
        if not fetch.body:
            return None
        if self._file is None:
            path = self.root / self.relative
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("ab")
        record = io.BytesIO()
        writer = WARCWriter(record, gzip=False)  # the record is gzipped here, one member each
        writer.write_record(_record(writer, fetch))
        self._file.seek(0, io.SEEK_END)
        offset = self._file.tell()
        self._file.write(_gzip_member(record.getvalue()))
        self._file.flush()
        return Pointer(self.relative, offset)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _gzip_member(data: bytes) -> bytes:
    compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, isal_zlib.MAX_WBITS + 16)
    return compressor.compress(data) + compressor.flush()


def _record(writer: WARCWriter, fetch: FetchResult) -> Any:  # warcio's ArcWarcRecord, untyped
    status = fetch.status or 200
    headers = [("Content-Type", fetch.content_type)] if fetch.content_type else []
    http = StatusAndHeaders(f"{status} -", headers, protocol="HTTP/1.1")
    when = (fetch.fetched_at or datetime.now(UTC)).astimezone(UTC)
    return writer.create_warc_record(
        fetch.final_url or fetch.url,
        "response",
        payload=io.BytesIO(fetch.body),
        length=len(fetch.body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )


def read_body(root: Path, pointer: Pointer) -> ArchivedBody:
    """The body a pointer points at; `WarehouseError` when the archive lacks it."""
    path = root / pointer.path
    try:
        with path.open("rb") as fh:
            fh.seek(pointer.offset)
            record = next(iter(ArchiveIterator(fh)))
            body = record.content_stream().read()
            http = record.http_headers
            date = record.rec_headers.get_header("WARC-Date")
            return ArchivedBody(
                url=record.rec_headers.get_header("WARC-Target-URI"),
                status=int(http.get_statuscode()) if http else None,
                content_type=(http.get_header("Content-Type") if http else None) or "",
                fetched_at=datetime.fromisoformat(date.replace("Z", "+00:00")) if date else None,
                body=body,
            )
    except (OSError, StopIteration, ValueError) as exc:
        raise WarehouseError(f"archive {path} at {pointer.offset}: cannot read: {exc}") from exc
