from hypothesis import given, settings
from hypothesis import strategies as st

from treadle.backends.naming import (CRON_WORKFLOW_MAX, LABEL_MAX, NameScope, dns_label, is_dns_label, sanitize,
                                     short_hash)

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,80}", fullmatch=True)
any_names = st.one_of(identifiers, st.text(min_size=0, max_size=90))


def test_valid_names_stay_as_they_are():
    assert dns_label("train") == "train"
    assert dns_label("load-data-2") == "load-data-2"


def test_changed_names_carry_a_hash_of_the_original():
    assert dns_label("train_model") == "train-model-" + short_hash("train_model")
    assert dns_label("Train_Model") != dns_label("train_model")
    assert dns_label("a" * 70) == "a" * (LABEL_MAX - 7) + "-" + short_hash("a" * 70)


def test_sanitize_is_readable():
    assert sanitize("load_dataset") == "load-dataset"
    assert sanitize("__x__") == "x"
    assert sanitize("!!!") == "x"


@given(any_names, st.sampled_from([LABEL_MAX, CRON_WORKFLOW_MAX]))
def test_dns_label_is_always_valid(name, limit):
    label = dns_label(name, limit)
    assert is_dns_label(label, limit)
    assert not label[0].isdigit()


def test_a_final_new_line_is_no_part_of_a_label():
    """`$` in a pattern also matches before a final new line: labels are matched whole."""
    assert not is_dns_label("data\n")
    assert dns_label("data\n").startswith("data-")


def test_names_start_with_a_letter():
    """Argo refuses a DAG task named `1st` once tasks name their dependencies."""
    assert sanitize("_1st") == "x-1st"
    assert dns_label("_1st").startswith("x-1st-")
    assert dns_label("2024").startswith("x-2024-")
    assert NameScope().name("k", "_9") == "x-9"


@given(st.sets(any_names, max_size=40))
def test_dns_label_is_injective(names):
    assert len({dns_label(name) for name in names}) == len(names)


@settings(max_examples=200)
@given(st.lists(any_names, max_size=60), st.sampled_from([LABEL_MAX, 20]))
def test_name_scope_gives_distinct_valid_stable_names(wanted, limit):
    scope = NameScope(limit)
    given_names = [scope.name(("key", index), name) for index, name in enumerate(wanted)]
    assert len(set(given_names)) == len(given_names)
    assert all(is_dns_label(name, limit) and not name[0].isdigit() for name in given_names)
    again = NameScope(limit)
    assert [again.name(("key", index), name) for index, name in enumerate(wanted)] == given_names
    assert [scope.name(("key", index), "other") for index in range(len(wanted))] == given_names


def test_name_scope_prefers_readable_names_and_hashes_collisions():
    scope = NameScope()
    assert scope.name("a", "train_model") == "train-model"
    second = scope.name("b", "train-model")
    assert second.startswith("train-model-") and second != "train-model"
