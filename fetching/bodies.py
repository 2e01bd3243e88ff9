"""Reading a response body within limits, and telling a whole body from a cut-off one.

Two caps: bytes on the wire (`max_body_bytes`, checked against Content-Length before reading
and while reading) and bytes after gzip/deflate (`max_unpacked_bytes`). Decompression is
ours, not httpx's: httpx inflates each network chunk whole, so a 64 KB chunk of a gzip bomb
becomes tens of MB before any cap can look at it; here each step inflates at most what the
cap still allows. A body that ends early is an error, never a short page: fewer bytes than
Content-Length (h11 notices and says so) or a gzip stream without its end.

A refused body raises the fetch error of its kind (`BodyTooLarge`, `BodyTruncated`,
`ConnectionFailed`, `BadContentEncoding`), httpx's own errors translated with their cause.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import httpx

from extractors.errors import BadContentEncoding, BodyTooLarge, BodyTruncated, ConnectionFailed


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_body_bytes: int
    max_unpacked_bytes: int


async def read_body(response: httpx.Response, limits: BodyLimits, url: str) -> bytes:
    """The decoded body of `response` (fetched for `url`), or the `FetchError` that says why
    not: `BodyTooLarge`, `BodyTruncated`, `ConnectionFailed`, `BadContentEncoding`."""
    declared = _content_length(response)
    if declared is not None and declared > limits.max_body_bytes:
        raise BodyTooLarge(url, limits.max_body_bytes, declared=declared)
    decoder = _Decoder(url, response.headers.get("content-encoding", ""), limits.max_unpacked_bytes)
    received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > limits.max_body_bytes:
                raise BodyTooLarge(url, limits.max_body_bytes)
            decoder.feed(chunk)
    except httpx.RemoteProtocolError as exc:
        # h11: the peer closed before Content-Length bytes (or the last chunk) arrived.
        raise BodyTruncated(url, received, str(exc)) from exc
    except httpx.NetworkError as exc:
        why = str(exc) or type(exc).__name__
        detail = f"connection broken after {received} bytes of the body: {why}"
        raise ConnectionFailed(url, detail) from exc
    return decoder.finish()


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.strip().isdigit() else None


class _Decoder:
    """Undoes Content-Encoding (identity, gzip, deflate) within the unpacked cap."""

    def __init__(self, url: str, encoding: str, cap: int) -> None:
        self.url = url
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise BadContentEncoding(url, f"unsupported Content-Encoding {encoding!r}")
        self.coding = codings[0] if codings else None
        self.cap = cap
        self.out = bytearray()
        self._inflater: zlib._Decompress | None = None
        self._pending = b""  # bytes too few to decide on yet (a header's first byte)
        self._members = 0
        self._trailer = False

    def feed(self, data: bytes) -> None:
        if self.coding is None:
            self._append(data)
        elif self.coding == "deflate":
            self._feed_deflate(data)
        else:
            self._feed_gzip(data)

    def _append(self, data: bytes) -> None:
        if len(self.out) + len(data) > self.cap:
            # The unpacked cap: its `limit` (max_unpacked_bytes) tells it from the wire's.
            raise BodyTooLarge(self.url, self.cap)
        self.out += data

    def _inflate(self, data: bytes) -> bytes:
        """Inflate `data` into the output, never more than the cap allows; returns what
        follows the end of the stream (the next gzip member), if anything."""
        inflater = self._inflater
        assert inflater is not None
        while data:
            room = self.cap - len(self.out) + 1
            try:
                chunk = inflater.decompress(data, room)
            except zlib.error as exc:
                detail = f"{self.coding} body is corrupt: {exc}"
                raise BadContentEncoding(self.url, detail) from exc
            self._append(chunk)
            if inflater.eof:
                return inflater.unused_data
            data = inflater.unconsumed_tail
        return b""

    def _feed_gzip(self, data: bytes) -> None:
        # Several gzip members one after another are one body (RFC 1952, 2.2); what follows
        # the last member and is not one (padding some servers add) is ignored.
        data, self._pending = self._pending + data, b""
        while data and not self._trailer:
            if self._inflater is None or self._inflater.eof:
                if self._members and len(data) < 2:
                    self._pending = data  # a next member's header, or padding: wait and see
                    return
                if self._members and not data.startswith(b"\x1f\x8b"):
                    self._trailer = True
                    return
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._members += 1
            data = self._inflate(data)

    def _feed_deflate(self, data: bytes) -> None:
        if self._inflater is None:
            # "deflate" should be zlib-wrapped; some servers send raw deflate. Two bytes tell.
            self._pending += data
            if len(self._pending) < 2:
                return
            data, self._pending = self._pending, b""
            wrapped = (data[0] & 0x0F) == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        elif self._inflater.eof:
            return  # bytes after the end of a deflate stream are ignored
        self._inflate(data)

    def finish(self) -> bytes:
        unfinished = self._inflater is not None and not self._inflater.eof
        if unfinished or (self._pending and self.coding == "deflate"):
            why = f"the {self.coding} stream has no end (counted unpacked)"
            raise BodyTruncated(self.url, len(self.out), why)
        return bytes(self.out)
