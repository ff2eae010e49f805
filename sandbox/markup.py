"""Telegram's message formatting, parsed the way the Bot API does it.

The sandbox must reject what Telegram rejects (an unescaped ``<`` in a member's name sent
with ``parse_mode=HTML`` is a classic production bug), count the length of the *plain* text,
and show people the text without tags. Offsets of entities are in UTF-16 code units, as in
the Bot API.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]


class EntityParseError(ValueError):
    """Raised for text Telegram would refuse with "can't parse entities"."""

    @property
    def description(self) -> str:
        return f"Bad Request: can't parse entities: {self}"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


@dataclass
class _Builder:
    """Collects plain text and entities while a parser walks the source."""

    parts: list[str] = field(default_factory=list)
    pos: int = 0
    entities: list[Entity] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def close(self, entity: Entity, start: int) -> None:
        if self.pos > start:
            self.entities.append({**entity, "offset": start, "length": self.pos - start})

    def result(self) -> tuple[str, list[Entity]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


def parse(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Plain text and entities for ``text`` under ``parse_mode`` (None: text as is)."""
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return text, []
    if mode == "html":
        return parse_html(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    raise EntityParseError(f"unsupported parse_mode {parse_mode!r}")


# --- HTML -------------------------------------------------------------------------------

_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_HTML_TAGS = {*_HTML_SIMPLE, "span", "a", "blockquote", "tg-emoji"}
_START_TAG = re.compile(
    r"<([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z][a-zA-Z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*/?>"
)
_ATTR = re.compile(r"([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?")
_END_TAG = re.compile(r"</([a-zA-Z0-9-]*)\s*>")
_TAG_NAME = re.compile(r"</?([a-zA-Z0-9-]*)")
_CHAR_REF = re.compile(r"&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});")
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass
class _OpenTag:
    name: str
    entity: Entity | None
    start: int


def _decode_ref(ref: str) -> str | None:
    if ref.startswith(("#x", "#X")):
        code = int(ref[2:], 16)
    elif ref.startswith("#"):
        code = int(ref[1:])
    else:
        return _NAMED_REFS.get(ref.lower())
    if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return None


def _html_entity(name: str, attrs: dict[str, str], stack: list[_OpenTag], at: int) -> Entity | None:
    """The entity a start tag opens, or None when it only modifies its parent."""
    if name in _HTML_SIMPLE:
        if name == "code" and stack and stack[-1].name == "pre" and stack[-1].entity is not None:
            language = attrs.get("class", "")
            if language.startswith("language-"):
                stack[-1].entity["language"] = language.removeprefix("language-")
                return None
        return {"type": _HTML_SIMPLE[name]}
    if name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Unsupported start tag "span" at byte offset {at}')
        return {"type": "spoiler"}
    if name == "a":
        href = attrs.get("href", "").strip()
        if not href:
            return None
        if href.startswith("tg://user?id="):
            user_id = int(href.split("=", 1)[1] or 0)  # Telegram sends a whole User object
            return {
                "type": "text_mention",
                "user": {"id": user_id, "is_bot": False, "first_name": ""},
            }
        return {"type": "text_link", "url": href}
    if name == "blockquote":
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    if name == "tg-emoji":
        return {"type": "custom_emoji", "custom_emoji_id": attrs.get("emoji-id", "")}
    raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at}')


def parse_html(src: str) -> tuple[str, list[Entity]]:
    """Parse Telegram's HTML subset; unknown tags and unbalanced tags are errors."""
    out = _Builder()
    stack: list[_OpenTag] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch == "&":
            m = _CHAR_REF.match(src, i)
            decoded = _decode_ref(m.group(1)) if m else None
            if m and decoded is not None:
                out.add(decoded)
                i = m.end()
            else:
                out.add("&")
                i += 1
        elif ch == "<":
            at = _byte_offset(src, i)
            if src.startswith("</", i):
                m = _END_TAG.match(src, i)
                if not m:
                    raise EntityParseError(f"Unclosed end tag at byte offset {at}")
                name = m.group(1).lower()
                if not stack:
                    raise EntityParseError(f"Unexpected end tag at byte offset {at}")
                if stack[-1].name != name:
                    raise EntityParseError(
                        f'Unmatched end tag at byte offset {at}, expected "</{stack[-1].name}>", '
                        f'found "</{name}>"'
                    )
                tag = stack.pop()
                if tag.entity is not None:
                    out.close(tag.entity, tag.start)
                i = m.end()
            else:
                m = _START_TAG.match(src, i)
                if not m:
                    name_match = _TAG_NAME.match(src, i)
                    name = name_match.group(1).lower() if name_match else ""
                    if name in _HTML_TAGS:
                        raise EntityParseError(f"Unclosed start tag at byte offset {at}")
                    raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at}')
                name = m.group(1).lower()
                if name not in _HTML_TAGS:
                    raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at}')
                attrs = {
                    a.group(1).lower(): html.unescape(a.group(2) or a.group(3) or a.group(4) or "")
                    for a in _ATTR.finditer(m.group(2))
                }
                stack.append(_OpenTag(name, _html_entity(name, attrs, stack, at), out.pos))
                i = m.end()
        else:
            j = i
            while j < n and src[j] not in "&<":
                j += 1
            out.add(src[i:j])
            i = j
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[0].name}"')
    return out.result()


# --- Markdown (legacy) ------------------------------------------------------------------

_LEGACY_MARKS = {"*": "bold", "_": "italic", "`": "code"}


def parse_markdown(src: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Builder()
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if ch not in "_*`[":
            out.add(ch)
            i += 1
            continue
        at = _byte_offset(src, i)
        start = out.pos
        if ch == "[":
            end = src.find("]", i + 1)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {at}")
            out.add(src[i + 1 : end])
            i = end + 1
            if i < n and src[i] == "(":
                close = src.find(")", i + 1)
                if close < 0:
                    raise EntityParseError(
                        f"Can't find end of the entity starting at byte offset {at}"
                    )
                url = src[i + 1 : close].strip()
                if url:
                    out.close({"type": "text_link", "url": url}, start)
                i = close + 1
            continue
        if src.startswith("```", i):
            end = src.find("```", i + 3)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {at}")
            body = src[i + 3 : end]
            entity: Entity = {"type": "pre"}
            first, newline, rest = body.partition("\n")
            if newline and first and " " not in first:
                entity["language"] = first
                body = rest
            out.add(body)
            out.close(entity, start)
            i = end + 3
            continue
        end = src.find(ch, i + 1)
        if end < 0:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {at}")
        out.add(src[i + 1 : end])
        out.close({"type": _LEGACY_MARKS[ch]}, start)
        i = end + 1
    return out.result()


# --- MarkdownV2 -------------------------------------------------------------------------

_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_V2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "blockquote": "BlockQuote",
}


def _v2_reserved(ch: str) -> EntityParseError:
    return EntityParseError(
        f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
    )


def _v2_marker(src: str, i: int) -> tuple[str | None, int]:
    """The entity type a marker at ``i`` stands for, and the marker's length."""
    ch = src[i]
    if ch == "*":
        return "bold", 1
    if ch == "_":
        return ("underline", 2) if src.startswith("__", i) else ("italic", 1)
    if ch == "~":
        return "strikethrough", 1
    if ch == "|" and src.startswith("||", i):
        return "spoiler", 2
    return None, 1


def _v2_code(src: str, i: int, out: _Builder, at: int) -> int:
    """Copy a `code` or ```pre``` span verbatim (only ` and \\ are escaped inside)."""
    fence = "```" if src.startswith("```", i) else "`"
    j = i + len(fence)
    body: list[str] = []
    while j < len(src) and not src.startswith(fence, j):
        if src[j] == "\\" and j + 1 < len(src):
            body.append(src[j + 1])
            j += 2
        else:
            body.append(src[j])
            j += 1
    if j >= len(src):
        kind = "Pre" if fence == "```" else "Code"
        raise EntityParseError(f"Can't find end of {kind} entity at byte offset {at}")
    text = "".join(body)
    entity: Entity = {"type": "code"}
    if fence == "```":
        entity = {"type": "pre"}
        first, newline, rest = text.partition("\n")
        if newline and first and " " not in first:
            entity["language"] = first
            text = rest
    start = out.pos
    out.add(text)
    out.close(entity, start)
    return j + len(fence)


def parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2, including its rule that reserved characters must be escaped."""
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (type, start position, byte offset)
    i, n = 0, len(src)
    line_start = True
    while i < n:
        ch = src[i]
        at_line_start, line_start = line_start, False
        if ch == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            out.add(src[i + 1])
            i += 2
            continue
        if ch == "\n":
            out.add(ch)
            i += 1
            line_start = True
            if stack and stack[-1][0] == "blockquote" and not src.startswith(">", i):
                kind, start, _ = stack.pop()
                out.close({"type": kind}, start)
            continue
        if ch not in _V2_RESERVED:
            out.add(ch)
            i += 1
            continue
        at = _byte_offset(src, i)
        if ch == ">" and at_line_start:
            if not (stack and stack[-1][0] == "blockquote"):
                stack.append(("blockquote", out.pos, at))
            i += 1
            continue
        if ch == "`":
            i = _v2_code(src, i, out, at)
            continue
        if ch == "[":
            stack.append(("text_link", out.pos, at))
            i += 1
            continue
        if ch == "]":
            if not stack or stack[-1][0] != "text_link":
                raise _v2_reserved(ch)
            _, start, _ = stack.pop()
            i += 1
            if i < n and src[i] == "(":
                url: list[str] = []
                j = i + 1
                while j < n and src[j] != ")":
                    if src[j] == "\\" and j + 1 < n:
                        j += 1
                    url.append(src[j])
                    j += 1
                if j >= n:
                    raise EntityParseError(f"Can't find end of a URL at byte offset {at}")
                if "".join(url).strip():
                    out.close({"type": "text_link", "url": "".join(url).strip()}, start)
                i = j + 1
            continue
        kind, width = _v2_marker(src, i)
        if kind is None:
            raise _v2_reserved(ch)
        if stack and stack[-1][0] == kind:
            _, start, _ = stack.pop()
            out.close({"type": kind}, start)
        elif any(open_kind == kind for open_kind, _, _ in stack):
            open_at = next(s[2] for s in stack if s[0] == kind)
            raise EntityParseError(
                f"Can't find end of {_V2_NAMES[kind]} entity at byte offset {open_at}"
            )
        else:
            stack.append((kind, out.pos, at))
        i += width
    while stack and stack[-1][0] == "blockquote":
        kind, start, _ = stack.pop()
        out.close({"type": kind}, start)
    if stack:
        kind, _, at = stack[0]
        raise EntityParseError(f"Can't find end of {_V2_NAMES[kind]} entity at byte offset {at}")
    return out.result()


# --- back to HTML -----------------------------------------------------------------------

_HTML_OUT = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ("<tg-spoiler>", "</tg-spoiler>"),
    "code": ("<code>", "</code>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote expandable>", "</blockquote>"),
}


def _html_tags(entity: Entity) -> tuple[str, str]:
    kind = entity.get("type")
    if kind == "pre":
        language = entity.get("language")
        if language:
            return f'<pre><code class="language-{html.escape(language)}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{html.escape(str(entity.get("url", "")))}">', "</a>"
    return _HTML_OUT.get(str(kind), ("", ""))


def entities_to_html(text: str, entities: list[Entity]) -> str:
    """Render text with entities as Telegram HTML (to show a message the way it was meant)."""
    index_at: dict[int, int] = {}
    pos = 0
    for index, ch in enumerate(text):
        index_at[pos] = index
        pos += 2 if ord(ch) > 0xFFFF else 1
    index_at[pos] = len(text)
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for entity in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        start = index_at.get(entity["offset"])
        end = index_at.get(entity["offset"] + entity["length"])
        open_tag, close_tag = _html_tags(entity)
        if start is None or end is None or not open_tag:
            continue
        opens.setdefault(start, []).append(open_tag)
        closes.setdefault(end, []).insert(0, close_tag)
    out: list[str] = []
    for index in range(len(text) + 1):
        out.extend(closes.get(index, ()))
        out.extend(opens.get(index, ()))
        if index < len(text):
            out.append(html.escape(text[index], quote=False))
    return "".join(out)
