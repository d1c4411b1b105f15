"""Names in messages: repr-style escapes keep any name on one line and out of the terminal's control."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from usr_harness.dataset.quoting import one_line, quote


def test_control_characters_and_line_breaks_are_escaped():
    assert quote("a\nb") == "'a\\nb'"
    assert quote("x\x1b[31m\r\t\x07") == "'x\\x1b[31m\\r\\t\\x07'"
    assert "\n" not in quote("\u2028line separator")


def test_bytes_that_are_not_utf8_show_as_their_escapes():
    name = b"caf\xe9".decode("utf-8", "surrogateescape")
    assert quote(name) == "'caf\\udce9'"
    assert quote(b"caf\xe9") == "'caf\\udce9'"
    assert quote(Path("/tmp") / name) == "'/tmp/caf\\udce9'"


def test_normalization_twins_stay_distinguishable_by_their_code_points():
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    assert quote(nfc) != quote(nfd)


def test_long_names_are_cut_with_a_mark():
    assert quote("a" * 300, 5) == "'aaaaa'..."
    assert quote("short", 5) == "'short'"


def test_one_line_keeps_printable_text_and_escapes_the_rest():
    assert one_line("plain text: fine") == "plain text: fine"
    assert one_line("two\nlines\x1b") == "two\\nlines\\x1b"
