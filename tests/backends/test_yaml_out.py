import os

import yaml
from hypothesis import given
from hypothesis import strategies as st

from treadle.backends.yaml_out import DoubleQuoted, dump_documents, write_atomic

SPECIALS = ["yes", "no", "null", "~", "1e3", "0x10", "'", '"', "{{", "}}", "$(", "- a", ": b", "#", "&x", "*y",
            "!tag", "|", ">", "%", "@", "`", "\n", "\t", "\r", " ", "\u00e9", "\u2028", "\ufeff", "\x85"]
texts = st.lists(st.one_of(st.sampled_from(SPECIALS), st.text(max_size=8)), max_size=6).map("".join)


def test_name_first_then_insertion_order():
    text = dump_documents([{"kind": "K", "spec": {"b": 1, "name": "n", "a": 2}, "name": "x"}])
    assert text == "name: x\nkind: K\nspec:\n  name: n\n  b: 1\n  a: 2\n"


def test_multi_line_strings_use_block_style():
    assert dump_documents([{"s": "one\ntwo\n"}]) == "s: |\n  one\n  two\n"


def test_documents_are_separated():
    assert dump_documents([{"a": 1}, {"b": 2}]) == "---\na: 1\n---\nb: 2\n"


def test_double_quoted_text():
    assert dump_documents([{"a": DoubleQuoted("{{='x'}}")}]) == "a: \"{{='x'}}\"\n"


def test_no_global_representers():
    assert yaml.safe_dump({"b": 1, "name": 2}) == "b: 1\nname: 2\n"


@given(st.dictionaries(texts, st.one_of(texts, st.integers(), st.booleans(), st.lists(texts, max_size=3)), max_size=5))
def test_round_trip_and_determinism(document):
    text = dump_documents([document])
    assert yaml.safe_load(text) == document
    assert dump_documents([document]) == text


def test_write_atomic_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.yaml"
    write_atomic(target, "a: 1\n")
    write_atomic(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert os.listdir(tmp_path) == ["out.yaml"]
