"""The one gate between text the grader did not write and what it shows.

A trainee's node (cfg values, process titles, Redis/MySQL replies, HTTP bodies, probe errors) and a
roster or EC2 tag (names, hosts) are untrusted: see "The trust boundary" in the design notes. Every
renderer (terminal table, class table, progress bar, HTML, JUnit, CSV, JSON, history, notebook)
shows such text only through `inert`, which makes every character that could steer a terminal, a
spreadsheet, a parser or a reader's eye visible as a Python-style escape (`\\x1b`, `\\u202e`) and
caps the length. For the terminal, `InertConsole` and `rich_text` add the second half: text is
never read as rich markup, so a node cannot style, link, hide or crash the grader's output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

from grader import limits

if TYPE_CHECKING:  # rich is imported when a terminal report is written, not for HTML, CSV or JSON
    from rich.console import Console
    from rich.text import Text

DISPLAY_CHARS = limits.DISPLAY_CHARS
ELLIPSIS = "…"

# Shown escaped: C0 controls but the tab (line breaks too: node text never breaks the grader's
# lines), DEL and C1 (U+009B is a one-byte CSI); every Unicode format character (category Cf: the
# bidi controls U+061C, U+200E/F, U+202A-E, U+2066-9, zero-width and joining characters, the BOM,
# tags) and line/paragraph separator (Zl, Zp); the Hangul fillers that print as blanks; lone
# surrogates (they cannot be encoded) and the noncharacters U+FFFE/F. A tab is plain whitespace:
# the terminal shows it as a space, a CSV cell keeps it (a leading one is neutralised there).
_INVISIBLE = (
    "\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\ufffe\uffff\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f"
)
_UNSAFE_CLASS = "\x00-\x08\x0a-\x1f\x7f-\x9f" + _INVISIBLE
_UNSAFE = re.compile(f"[{_UNSAFE_CLASS}]")
_PIECES = re.compile(f"([{_UNSAFE_CLASS}])|[^{_UNSAFE_CLASS}]+")
# JSON already escapes C0 (and its indentation uses raw newlines between tokens): only the rest.
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{_INVISIBLE}]")


def visible(char: str) -> str:
    """One character as its escape: `\\x1b`, `\\u202e`, `\\U000e0041`."""
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def inert(value: object, limit: int = DISPLAY_CHARS) -> str:
    """Untrusted text as display text: unsafe characters escaped visibly, at most `limit` characters.

    Idempotent (its output holds no unsafe character and fits the limit), so text that went through
    it once, e.g. a scoreboard cell read back, is shown unchanged. Longer text ends in `…`; an
    escape is never cut in half."""
    text = "" if value is None else str(value)
    if len(text) <= limit and _UNSAFE.search(text) is None:
        return text
    pieces: list[tuple[str, bool]] = []  # (text, is_escape)
    used = 0
    for match in _PIECES.finditer(text):
        piece = visible(match[1]) if match[1] else match[0]
        pieces.append((piece, bool(match[1])))
        used += len(piece)
        if used > limit:
            break
    if used <= limit:
        return "".join(piece for piece, _ in pieces)
    room = max(limit - len(ELLIPSIS), 0)
    out: list[str] = []
    for piece, is_escape in pieces:
        if len(piece) <= room:
            out.append(piece)
            room -= len(piece)
            continue
        if not is_escape:
            out.append(piece[:room])
        break
    return "".join(out) + ELLIPSIS


def json_text(value: Any, *, indent: int | None = None) -> str:
    """`value` as JSON with the data intact but no unsafe character written raw.

    `json.dumps` escapes C0 and keeps the rest raw with `ensure_ascii=False`; DEL, C1, bidi and
    invisible characters are written as `\\uNNNN` escapes too (surrogate pairs beyond the BMP),
    so a reader that `cat`s the file sees nothing move, and `json.loads` gives back the same data."""
    return _JSON_UNSAFE.sub(_json_escape, json.dumps(value, ensure_ascii=False, indent=indent))


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


# ---- the terminal ---------------------------------------------------------------------------------


def _terminal(text: object) -> str:
    """`inert` text for a terminal cell: a tab becomes a space (rich would wrap around it)."""
    return inert(text).replace("\t", " ")


def rich_text(*parts: str | tuple[str, str]) -> Text:
    """Terminal text from parts, every one made inert: `"plain"` or `(text, "bold")`.

    Styles are rich style names given by the grader, never markup inside the text, so a node's
    `[link=...]`, `[conceal]` or `[/]` is shown as written. Build terminal text only this way
    (never `Text(node_text)`, never an f-string with markup)."""
    from rich.text import Text

    out = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        out.append(_terminal(text), style=style or None)
    return out


def rich_lines(lines: Iterable[str | Text]) -> Text:
    """Lines the grader joins itself (evidence bullets): each line inert, joined by real newlines."""
    from rich.text import Text

    return Text("\n").join(line if isinstance(line, Text) else rich_text(line) for line in lines)


@cache
def _inert_console_class() -> type[Console]:
    from rich.console import Console
    from rich.text import Text

    class InertConsole(Console):
        """A rich console on which every string is inert text: escaped, never markup, emoji or
        highlight. rich turns each `str` it is given (in `print`, in table cells and headers, in
        progress columns) into a `Text` through `render_str`; here that is `inert`, so a string
        that reaches this console cannot skip the gate."""

        def __init__(self, **kwargs: Any) -> None:
            kwargs.update(markup=False, emoji=False, highlight=False)
            super().__init__(**kwargs)

        def render_str(
            self, text: str, *, style: Any = "", justify: Any = None, overflow: Any = None, **_: Any
        ) -> Text:
            return Text(_terminal(text), style=style, justify=justify, overflow=overflow)

    return InertConsole


def inert_console(**kwargs: Any) -> Console:
    """A rich `Console(**kwargs)` on which every string is inert (see `_inert_console_class`)."""
    return _inert_console_class()(**kwargs)


def terminal(out: TextIO, width: int = 140) -> Console:
    """The console for a report on `out`: the terminal's width on a terminal, else `width`."""
    return inert_console(file=out, width=None if out.isatty() else width, soft_wrap=False)
