import copy
import json
import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadle.backends.yaml_out import (DoubleQuoted, Flow, Shared, SharedFlow, dump_documents, dump_measured,
                                       write_atomic)

SPECIALS = ["yes", "no", "null", "~", "1e3", "0x10", "'", '"', "{{", "}}", "$(", "- a", ": b", "#", "&x", "*y",
            "!tag", "|", ">", "%", "@", "`", "\n", "\t", "\r", " ", "\u00e9", "\u2028", "\ufeff", "\x85"]
texts = st.lists(st.one_of(st.sampled_from(SPECIALS), st.text(max_size=8)), max_size=6).map("".join)


def test_name_first_then_insertion_order():
    text = dump_documents([{"kind": "K", "spec": {"b": 1, "name": "nm", "a": 2}, "name": "x"}])
    assert text == "name: x\nkind: K\nspec:\n  name: nm\n  b: 1\n  a: 2\n"


def test_multi_line_strings_use_block_style():
    assert dump_documents([{"s": "one\ntwo\n"}]) == "s: |\n  one\n  two\n"
    assert dump_documents([{"s": ["one\ntwo"]}]) == "s:\n- |-\n  one\n  two\n"


def test_words_that_yaml_readers_turn_into_other_types_are_quoted():
    text = dump_documents([{"a": ["y", "No", "on", "null", "1e3", "0x1f", "2024-01-01", "-", "--", ".inf", "~", "=", ""]}])
    assert yaml.safe_load(text)["a"] == ["y", "No", "on", "null", "1e3", "0x1f", "2024-01-01", "-", "--", ".inf", "~", "=", ""]
    assert "- y\n" not in text and "- 'y'" in text


def test_flow_mappings():
    assert dump_documents([{"t": [Flow(name="a", args={"p": [Flow(name="x", value="{{v}}")]})]}]) == \
        "t:\n- {name: a, args: {p: [{name: x, value: '{{v}}'}]}}\n"


def test_documents_are_separated():
    assert dump_documents([{"a": 1}, {"b": 2}]) == "---\na: 1\n---\nb: 2\n"


def test_double_quoted_text():
    assert dump_documents([{"a": DoubleQuoted("{{='x'}}")}]) == "a: \"{{='x'}}\"\n"


def test_no_global_representers():
    assert yaml.safe_dump({"b": 1, "name": 2}) == "b: 1\nname: 2\n"


values = st.recursive(st.one_of(texts, st.integers(), st.booleans(), st.floats(allow_nan=False)),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(texts, inner, max_size=3),
                                              st.dictionaries(texts, inner, max_size=3).map(Flow)), max_leaves=12)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(texts, values, max_size=5))
def test_round_trip_and_determinism(document):
    text = dump_documents([document])
    assert yaml.safe_load(text) == document
    assert yaml.load(text, Loader=yaml.CSafeLoader) == document
    assert dump_documents([document]) == text


def test_write_atomic_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.yaml"
    write_atomic(target, "a: 1\n")
    write_atomic(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert os.listdir(tmp_path) == ["out.yaml"]


def _json_bytes(document) -> int:
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(texts, values, max_size=5), min_size=1, max_size=3))
def test_json_sizes_are_measured_while_writing(documents):
    text, sizes = dump_measured(documents)
    assert text == dump_documents(documents)
    assert sizes == [_json_bytes(document) for document in documents]


def test_json_sizes_of_the_golden_files():
    golden = sorted(Path(__file__).resolve().parents[2].glob("examples/*.argo.yaml"))
    golden += sorted((Path(__file__).parent / "pipelines").glob("*.argo.yaml"))
    assert golden
    for path in golden:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert dump_measured(documents)[1] == [_json_bytes(document) for document in documents], path.name


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(texts, values, min_size=1, max_size=4), st.lists(st.integers(0, 2), min_size=1, max_size=4))
def test_a_shared_mapping_writes_as_its_copies_do(part, depths):
    """One Shared object placed at several depths (its lines are made once per depth) gives
    the bytes and JSON sizes of the same documents built from separate copies."""

    def place(value, depth):
        return value if depth == 0 else {"level": [{"name": "x", "inner": place(value, depth - 1)}]}

    shared = Shared(part)
    with_shared = [{"name": f"d{i}", "a": place(shared, depth), "b": shared} for i, depth in enumerate(depths)]
    with_copies = [{"name": f"d{i}", "a": place(copy.deepcopy(part), depth), "b": copy.deepcopy(part)}
                   for i, depth in enumerate(depths)]
    assert dump_measured(with_shared) == dump_measured(with_copies)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(texts, values, min_size=1, max_size=4), st.lists(st.integers(0, 2), min_size=1, max_size=4))
def test_a_shared_flow_mapping_writes_as_its_copies_do(part, depths):
    """One SharedFlow object in several places, inside flow mappings or as block items (its
    text is made once), gives the bytes and JSON sizes of the same documents with plain
    Flow copies."""

    def place(value, depth):
        return value if depth == 0 else Flow(name="x", inner=[place(value, depth - 1)])

    shared = SharedFlow(part)
    with_shared = [{"name": f"d{i}", "a": place(shared, depth), "b": [shared]} for i, depth in enumerate(depths)]
    with_copies = [{"name": f"d{i}", "a": place(Flow(copy.deepcopy(part)), depth), "b": [Flow(copy.deepcopy(part))]}
                   for i, depth in enumerate(depths)]
    assert dump_measured(with_shared) == dump_measured(with_copies)
