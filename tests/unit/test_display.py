"""The display gate (`grader.display`): node text shown inert, on every class of character."""

from __future__ import annotations

import io
import json
import unicodedata

import pytest
from rich.table import Table

from grader.display import DISPLAY_CHARS, ELLIPSIS, inert, json_text, rich_lines, rich_text, terminal

MARKUP = ["[/]", "[link=http://x]a[/link]", "[conceal]x", "[bold red]✅ 10/10[/]", ":smile: [/bold]"]
BIDI = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"]
BIDI += ["\u2066", "\u2067", "\u2068", "\u2069"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\xad", "\u3164", "\U000e0041"]


def escape_of(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


@pytest.mark.parametrize(
    "char",
    [chr(c) for c in range(0x20) if c != 0x09]  # C0 (line breaks included)
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0)]  # C1: U+009B is a one-byte CSI, U+0085 a line break
    + BIDI
    + INVISIBLE
    + ["\u2028", "\u2029", "\ud800", "\udfff", "\ufffe", "\uffff"],
)
def test_every_unsafe_character_is_shown_as_its_escape(char: str) -> None:
    assert inert(f"a{char}b") == f"a{escape_of(char)}b"
    assert char not in inert(char * 3)


def test_everything_else_is_kept() -> None:
    text = "김민수 Zoë <b>&'\" \\x1b already-escaped ✅ ⚠️ 👍🏽 é 漢字 \t tab"
    assert inert(text) == text


def test_every_code_point_by_unicode_category() -> None:
    """Controls (but the tab), format characters, separators, surrogates: escaped; the rest: kept."""
    fillers = {0x115F, 0x1160, 0x3164, 0xFFA0, 0xFFFE, 0xFFFF}
    fillers |= {0x2065, *range(0xE0000, 0xE0080)}  # unassigned inside the escaped blocks
    chars = "".join(map(chr, range(0x110000)))
    shown = inert(chars, limit=10 * len(chars))
    expected = "".join(
        escape_of(c)
        if c != "\t" and (unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") or ord(c) in fillers)
        else c
        for c in chars
    )
    assert shown == expected


def test_terminal_sequences_become_plain_text() -> None:
    assert inert("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"
    assert inert("\x1b[2J\x1b[H") == "\\x1b[2J\\x1b[H"
    assert inert("\x1b[32m✅ 10/10\x1b[0m") == "\\x1b[32m✅ 10/10\\x1b[0m"
    assert inert("\x9b2J") == "\\x9b2J"
    assert inert("\u202eevil") == "\\u202eevil"


def test_none_and_non_strings() -> None:
    assert inert(None) == ""
    assert inert(22) == "22"


def test_length_cap_and_idempotence() -> None:
    long = "가" * (DISPLAY_CHARS * 5)
    shown = inert(long)
    assert len(shown) == DISPLAY_CHARS and shown.endswith(ELLIPSIS)
    assert inert(shown) == shown
    assert inert("x" * DISPLAY_CHARS) == "x" * DISPLAY_CHARS  # exactly at the cap: kept whole
    escapes = inert("\x1b" * DISPLAY_CHARS)  # each character grows to four
    assert len(escapes) <= DISPLAY_CHARS and escapes.endswith(ELLIPSIS)
    assert escapes[: -len(ELLIPSIS)] == "\\x1b" * ((DISPLAY_CHARS - 1) // 4)  # never half an escape
    assert inert(escapes) == escapes
    assert inert("abcdef\x1b", limit=8) == "abcdef" + ELLIPSIS
    assert inert("abcdefgh\x1b", limit=8) == "abcdefg" + ELLIPSIS
    assert inert(inert("\x1b" * 10_000_000)) == inert("\x1b" * 10_000_000)  # no time spent past the cap


@pytest.mark.parametrize("markup", MARKUP)
def test_markup_is_shown_as_written_on_the_terminal(markup: str) -> None:
    out = io.StringIO()
    console = terminal(out)
    table = Table()
    table.add_column("name")
    table.add_row(markup)
    table.add_row(rich_text(("styled ", "bold"), markup))
    table.add_row(rich_lines([markup, markup]))
    console.print(table)
    console.print(markup)
    console.print(rich_text((markup, "bold")))
    printed = out.getvalue()
    assert printed.count(markup) == 6
    assert "😄" not in printed


def test_terminal_text_has_no_control_and_no_tab() -> None:
    out = io.StringIO()
    console = terminal(out)
    hostile = "\x1b]0;t\x07\x1b[2J\x9b2J\u202e\tx"
    console.print(hostile)
    console.print(rich_text(hostile, (hostile, "bold")))
    table = Table()
    table.add_column(hostile)
    table.add_row(hostile)
    console.print(table)
    printed = out.getvalue()
    assert not set(printed) & {"\x1b", "\x07", "\x9b", "\u202e", "\t"}
    assert "\\x1b]0;t\\x07\\x1b[2J\\x9b2J\\u202e x" in printed


def test_styles_are_the_grader_s_own() -> None:
    text = rich_text(("합계", "bold"), ": ", ("[red]x[/red]", ""))
    assert text.plain == "합계: [red]x[/red]"
    assert [(span.start, span.end, str(span.style)) for span in text.spans] == [(0, 2, "bold")]
    assert rich_lines(["a\x1b", "b\nc"]).plain == "a\\x1b\nb\\x0ac"


def test_json_text_keeps_the_data_and_writes_no_raw_control() -> None:
    value = {"name": "김\x1b]0;x\x07\x9b\u202e\u2028\U000e0041\ud800", "n": [1, None], "tab": "\t"}
    for indent in (None, 2):
        text = json_text(value, indent=indent)
        assert json.loads(text) == value
        assert not any(
            (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u2028\ud800" for c in text
        )
        assert "\\u202e" in text and "\\u009b" in text and "\\udb40\\udc41" in text
        text.encode("utf-8")  # a lone surrogate would not encode
    assert "김" in json_text(value)  # Korean stays readable (not ensure_ascii)
