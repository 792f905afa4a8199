"""Kubernetes names: valid DNS-1123 labels within length limits, never colliding.

Step, component and pipeline names in treadle are identifiers (`train_model`), which
Kubernetes rejects (no `_`, no capitals). Sanitising alone is not injective: `a_b` and `a-b`
would both become `a-b`. So a name that had to change (or be shortened) gets a short hash
of its original spelling, and a `NameScope` guarantees distinct results inside one scope
(templates of a workflow, tasks of a DAG) even against the one-in-millions hash clash.
"""

from __future__ import annotations

import hashlib
import re

LABEL_MAX = 63  # DNS-1123 label: pod, task, template and workflow names
CRON_WORKFLOW_MAX = 52  # Argo appends a timestamp to a CronWorkflow's name for each run
HASH_LENGTH = 6

_VALID = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # what Kubernetes accepts; treadle also starts with a letter
_INVALID_RUN = re.compile(r"[^a-z0-9]+")


def is_dns_label(name: str, limit: int = LABEL_MAX) -> bool:
    return len(name) <= limit and bool(_VALID.fullmatch(name))


def short_hash(text: str, length: int = HASH_LENGTH) -> str:
    """A stable hex digest of `text` (the same on every machine and hash seed)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _readable(name: str) -> str:
    """Lower case, runs of other characters as one `-`, and a letter first: a name that
    would start with a digit (`_1st` -> `1st`) gets `x-` in front, because Argo refuses a
    DAG task whose name starts with a digit once tasks name their dependencies."""
    base = _INVALID_RUN.sub("-", name.lower()).strip("-")
    return "x-" + base if base[:1].isdigit() else base


def sanitize(name: str, limit: int = LABEL_MAX) -> str:
    """The readable label closest to `name`, cut to `limit`; not injective by itself."""
    base = _readable(name)[:limit].rstrip("-")
    return base or "x"


def dns_label(name: str, limit: int = LABEL_MAX, hash_length: int = HASH_LENGTH) -> str:
    """`name` itself when it is already a valid label; otherwise a sanitised form with a hash
    of the original appended, cut to `limit` characters."""
    if is_dns_label(name, limit) and not name[0].isdigit():
        return name
    return _hashed(_readable(name), name, limit, hash_length)


def _hashed(base: str, spelling: str, limit: int, hash_length: int = HASH_LENGTH) -> str:
    """`base`, cut to leave room, and a hash of `spelling`: within `limit` characters."""
    suffix = short_hash(spelling, hash_length)
    base = base[:limit - len(suffix) - 1].rstrip("-")
    return f"{base}-{suffix}" if base else f"x-{suffix}"[:limit]


RESERVED_PREFIX = "treadle-"  # the volumes, workspaces and steps treadle adds itself


def user_volume_name(name: str) -> str:
    """The label of a volume the user declares. treadle's own volumes are `treadle-...`
    without a hash, so a user's volume with such a name gets a hash of its spelling: it
    can never take the place of the outputs or artifacts volume in a pod."""
    label = dns_label(name)
    if label.startswith(RESERVED_PREFIX) and label == name:
        return _hashed(label, name, LABEL_MAX)
    return label


class NameScope:
    """Allocates distinct labels for distinct keys within one scope, deterministically (the
    same keys in the same order give the same names). The first key that wants a name gets
    its readable form (`train_model` -> `train-model`); a later key whose name would
    collide gets a hash of its key appended."""

    def __init__(self, limit: int = LABEL_MAX, reserved: tuple[str, ...] = ()) -> None:
        self.limit = limit
        self._by_key: dict[object, str] = {}
        self._taken: set[str] = set(reserved)

    def name(self, key: object, wanted: str, stable=None) -> str:
        """The label for `key`, preferring `wanted` (sanitised); stable for a key once given.
        On a collision the key is hashed into the name: `stable` (text, or a function giving
        it) stands for the key when its repr is not the same on every run."""
        known = self._by_key.get(key)
        if known is not None:
            return known
        candidate = sanitize(wanted, self.limit)
        length = HASH_LENGTH
        while candidate in self._taken:
            # Either two spellings sanitise alike, or a wanted name is taken already: hash the
            # key (which differs) into the name, longer each time it still collides.
            if callable(stable):
                stable = stable()
            spelled = repr(key) if stable is None else stable
            suffix = short_hash(f"{wanted}\x00{spelled}", length)
            base = sanitize(wanted, self.limit - len(suffix) - 1)
            candidate = f"{base}-{suffix}"
            length += 2
        self._taken.add(candidate)
        self._by_key[key] = candidate
        return candidate

    def __contains__(self, name: str) -> bool:
        return name in self._taken
