"""A workshop as an iCalendar file (RFC 5545), so members add it to their calendar."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.models import Workshop

PRODUCT = "-//ledenbot//workshops//NL"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Lines of at most 75 octets, continued with a space (RFC 5545 section 3.1)."""
    raw = line.encode()
    if len(raw) <= 75:
        return [line]
    parts, chunk = [], b""
    for char in line:
        encoded = char.encode()
        if len(chunk) + len(encoded) > (75 if not parts else 74):
            parts.append(chunk.decode())
            chunk = b""
        chunk += encoded
    parts.append(chunk.decode())
    return [parts[0], *(" " + p for p in parts[1:])]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics(workshop: Workshop, now: datetime, host: str = "ledenbot") -> bytes:
    where = ", ".join(p for p in (workshop.venue, workshop.address, workshop.town) if p)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:workshop-{workshop.id}@{host}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(workshop.starts_at)}",
        f"DTEND:{_stamp(workshop.ends_at)}",
        f"SUMMARY:{_escape(workshop.title)}",
    ]
    if where:
        lines.append(f"LOCATION:{_escape(where)}")
    if workshop.online_url:
        lines.append(f"URL:{_escape(workshop.online_url)}")
    if workshop.description:
        lines.append(f"DESCRIPTION:{_escape(workshop.description)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    folded = [piece for line in lines for piece in _fold(line)]
    return ("\r\n".join(folded) + "\r\n").encode()
