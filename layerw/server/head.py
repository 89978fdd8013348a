"""A request head as the server checks it before parsing it: its size, its framing, and the raw
refusal written when it is wrong (before any request exists to answer through h11).

# Spec: RFC 9112 section 6.3 (a request with both Transfer-Encoding and Content-Length may be an
# attempt at request smuggling: the server must treat it as an error and close the connection),
# RFC 9110 15.5.15 (414), RFC 6585 section 5 (431).
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from layerw.server.limits import ConnectionLimits

END = b"\r\n\r\n"


@dataclass(frozen=True)
class Refusal:
    """An HTTP status and a line for the client, after which the connection closes."""

    status: int
    reason: str

    def response(self) -> bytes:
        body = f"{self.reason}\n".encode()
        phrase = HTTPStatus(self.status).phrase
        head = (f"HTTP/1.1 {self.status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n")
        if self.status == 503:
            head += "retry-after: 5\r\n"
        return head.encode() + b"\r\n" + body


@dataclass(frozen=True)
class Head:
    """What the server needs of a complete, acceptable request head."""

    forwarded_for: str | None


def check(buffered: bytes, limits: ConnectionLimits) -> Head | Refusal | None:
    """The request head at the start of ``buffered``: None while it is incomplete and within the
    limits, a Refusal when it breaks one, else the Head."""
    end = buffered.find(END, 0, limits.max_head_bytes + len(END))
    line_end = buffered.find(b"\r\n", 0, limits.max_request_line_bytes + 2)
    if line_end < 0 and len(buffered) > limits.max_request_line_bytes + 1:
        return Refusal(414, f"request line over {limits.max_request_line_bytes} bytes")
    if end < 0:
        if len(buffered) > limits.max_head_bytes:
            return Refusal(431, f"request head over {limits.max_head_bytes} bytes")
        return None
    lines = buffered[line_end + 2:end].split(b"\r\n") if end > line_end else []
    if len(lines) > limits.max_headers:
        return Refusal(431, f"more than {limits.max_headers} header lines")
    names: dict[bytes, bytes] = {}
    for line in lines:
        name, _, value = line.partition(b":")
        names[name.strip().lower()] = value.strip()
    if b"transfer-encoding" in names and b"content-length" in names:
        return Refusal(400, "both Content-Length and Transfer-Encoding: ambiguous framing")
    forwarded = names.get(b"x-forwarded-for")
    return Head(forwarded.decode("latin-1") if forwarded is not None else None)
