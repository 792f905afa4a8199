"""Columns of spans (characters) and of the LSP (code units of UTF-16, UTF-8 or UTF-32)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from treadle.compiler.lsp.positions import UTF8, UTF16, UTF32, from_units, to_units

ENCODED = {UTF8: lambda text: len(text.encode("utf-8")), UTF16: lambda text: len(text.encode("utf-16-le")) // 2,
           UTF32: len}
LINES = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=40)


@given(LINES, st.data(), st.sampled_from(sorted(ENCODED)))
def test_columns_convert_both_ways(line, data, encoding):
    column = data.draw(st.integers(min_value=1, max_value=len(line) + 1))
    units = to_units(line, column, encoding)
    assert units == ENCODED[encoding](line[: column - 1])
    assert from_units(line, units, encoding) == column


def test_a_position_inside_a_character_means_the_character():
    line = 'x = "😀"'
    assert to_units(line, 7) == 7  # the closing quote: after the emoji's two UTF-16 units
    assert from_units(line, 6) == 6  # between the emoji's two halves: the emoji itself
    assert to_units(line, 7, UTF8) == 9
