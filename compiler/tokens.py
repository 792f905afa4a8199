"""The lexer: one regular expression built from the grammar's own terminals.

Lark's general-purpose lexer spends most of a parse creating rich token objects and
counting lines in every one. treadle's tokens never span lines (except new lines), so one
compiled pattern that also skips blanks, a keyword lookup and plain tuples do the same
work several times faster. The terminals still come from `grammar/treadle.lark`: nothing
here names a pattern of the language.

A token is a tuple `(type, text, line, column, offset)`, 1-based line and column.
"""

from __future__ import annotations

import os
import re
import sys


def _compiled_loop():
    """The compiled parse loops (`_parse_loop.pyx`, built at install) and what became of
    them: (module or None, a few words for benchmarks and skipped tests)."""
    if os.environ.get("TREADLE_PURE_PYTHON"):
        return None, "Python (TREADLE_PURE_PYTHON is set)"
    try:
        from . import _parse_loop
    except ImportError:  # a platform without a C compiler at install: the same loops in Python
        return None, "Python (the compiled loops are not built)"
    source = os.path.join(os.path.dirname(__file__), "_parse_loop.pyx")
    try:  # only an editable checkout has the source beside the extension
        if os.stat(source).st_mtime > os.stat(_parse_loop.__file__).st_mtime:
            return None, "Python (_parse_loop.pyx changed after it was built: run pip install -e . again)"
    except OSError:
        pass
    return _parse_loop, "compiled (compiler/_parse_loop.pyx)"


compiled_loop, compiled_loop_status = _compiled_loop()

TYPE, TEXT, LINE, COLUMN, OFFSET = range(5)

Token = tuple  # (type, text, line, column, offset)


def is_token(item) -> bool:
    return type(item) is tuple


def token_end(token: Token) -> tuple[int, int]:
    """(line, column) just after a token; only triple-quoted strings span lines."""
    text = token[TEXT]
    newlines = text.count("\n")
    if not newlines:
        return token[LINE], token[COLUMN] + len(text)
    return token[LINE] + newlines, len(text) - text.rfind("\n")


class LexFailure(Exception):
    """A character that starts no token."""

    def __init__(self, offset: int, line: int, column: int) -> None:
        super().__init__(f"no token at {line}:{column}")
        self.offset = offset
        self.line = line
        self.column = column


_OPENERS = {"LPAR", "LSQB", "LBRACE"}
_CLOSERS = {"RPAR", "RSQB", "RBRACE"}
# A `{` after one of these starts a dict literal, in which new lines do not count.
_VALUE_STARTERS = {"EQUAL", "COMMA", "LSQB", "LPAR", "COLON"}
_BAD = "BAD_CHARACTER"
_CONTINUATION_TEXT = ("->", "{", "else", "after", "with", "and", "or")


class TreadleLexer:
    """Tokens for the LALR parser, with the new-line rules of the language applied:

    new lines end statements only inside the { } of blocks, never inside ( ), [ ] or dict
    literals; a run of new lines counts once; a line that starts with "->", "{", "else",
    "after", "with", "and" or "or" continues the line before it."""

    def __init__(self, terminals, ignore: list[str]) -> None:
        keywords: dict[str, str] = {}
        punctuation: list[tuple[str, str]] = []
        patterns: list[tuple[str, str]] = []
        blanks: list[str] = []
        comment_types = set()
        for terminal in terminals:
            pattern = terminal.pattern
            if terminal.name in ignore and terminal.name.startswith("__"):  # an anonymous %ignore: blanks
                blanks.append(pattern.to_regexp())
                continue
            if terminal.name in ignore:  # a named %ignore: comments, kept for tools
                comment_types.add(terminal.name)
            if pattern.type == "str":
                if re.fullmatch(r"[A-Za-z_]\w*", pattern.value):
                    keywords[pattern.value] = terminal.name
                else:
                    punctuation.append((terminal.name, pattern.value))
            else:
                patterns.append((terminal.name, pattern.to_regexp()))
        self.keywords = keywords
        by_text = {**keywords, **{value: name for name, value in punctuation}}
        self.continuations = frozenset(by_text[text] for text in _CONTINUATION_TEXT if text in by_text)
        # Longest punctuation first, so "->" wins over "-" and "==" over "=";
        # named patterns before punctuation, so "-1" is a number and "->" is not.
        punctuation.sort(key=lambda item: -len(item[1]))
        # Any other character is a token of its own kind, so that scanning never skips text.
        ordered = patterns + [(name, re.escape(value)) for name, value in punctuation] + [(_BAD, "[\\s\\S]")]
        # possessive: a run of blanks before a bad character must not backtrack (exponential time)
        blank = "(?:" + "|".join(blanks) + ")*+" if blanks else ""
        self.master = re.compile(blank + "(?:" + "|".join(f"(?P<{name}>{regexp})" for name, regexp in ordered) + ")")
        # the same alternatives without names: (blanks, token text) pairs, found in one call
        self.scanner = re.compile("(" + blank + ")(" + "|".join(regexp for _, regexp in ordered) + ")")
        self.scan_tables = scan_tables(ordered, blanks)
        if self.scanner.groups != 2:
            raise ValueError("the grammar's terminals must use non-capturing groups (?:...)")
        self.comment_types = frozenset(comment_types)
        # kinds that need more than "pass it on": checked in one test on the hot path
        self.rare = frozenset({"_NL", _BAD} | self.comment_types | _OPENERS | _CLOSERS)
        # what the compiled loop reads of the language's bracket rules (the same constants)
        self.openers = frozenset(_OPENERS)
        self.closers = frozenset(_CLOSERS)
        self.value_starters = frozenset(_VALUE_STARTERS)
        self.bad_kind = _BAD

    def lex(self, data: str, comments: list | None = None) -> list[Token]:
        """The tokens of `data`, the last one "$END"; comments (ignored terminals that are
        not blanks) go to `comments`. The compiled loop where it is built, else Python's."""
        if compiled_loop is not None and self.scan_tables is not None:
            return compiled_loop.lex(self, data, comments, LexFailure)
        return self.lex_python(data, comments)

    def lex_python(self, data: str, comments: list | None = None) -> list[Token]:
        """`lex` in Python: the reference the compiled loop is tested against.

        One findall gives (blanks, text) pairs, far cheaper than a match object per token.
        A token's kind is the first terminal that matches its text, wherever it stands (no
        terminal looks past its own end), so each distinct text is classified once, by the
        named pattern at its first position."""
        keywords = self.keywords
        continuations = self.continuations
        comment_types = self.comment_types
        rare = self.rare
        classify = self.master.match
        kinds: dict[str, str] = {}  # text -> kind: each distinct text is classified once
        tokens: list[Token] = []
        emit = tokens.append
        stack: list[str] = []
        previous_type = None
        emitted_newline = True
        pending: Token | None = None
        line = 1
        line_start = 0
        offset = 0
        for blank, value in self.scanner.findall(data):
            start = offset + len(blank)
            offset = start + len(value)
            kind = kinds.get(value)
            if kind is None:
                kind = classify(data, start).lastgroup
                if kind == "NAME":
                    kind = keywords.get(value, "NAME")
                kinds[value] = kind
            if kind in rare:
                if kind == "_NL":
                    if pending is None and not emitted_newline and (not stack or stack[-1] == "block"):
                        pending = ("_NL", "\n", line, start - line_start + 1, start)
                    line += 1
                    line_start = offset
                    continue
                if kind == _BAD:
                    raise LexFailure(start, line, start - line_start + 1)
                if kind in comment_types:
                    if comments is not None:
                        comments.append((kind, value, line, start - line_start + 1, start))
                    continue
                if kind in _OPENERS:
                    if kind == "LBRACE":
                        stack.append("literal" if previous_type in _VALUE_STARTERS else "block")
                    else:
                        stack.append(kind)
                elif kind in _CLOSERS:
                    if stack:
                        stack.pop()
            if pending is not None:
                if kind not in continuations:
                    emit(pending)
                    emitted_newline = True
                pending = None
            emit((kind, value, line, start - line_start + 1, start))
            if kind == "STRING" and "\n" in value:  # a triple-quoted string
                line += value.count("\n")
                line_start = start + value.rfind("\n") + 1
            previous_type = kind
            emitted_newline = False
        if pending is not None:
            emit(pending)
        # the end of the input, placed just after the last character
        emit(("$END", "", line, len(data) - line_start + 1, len(data)))
        return tokens


# ---------------------------------------------------------------- tables for the compiled scanner
class ScanTables:
    """What the compiled scanner reads instead of running the scanner's pattern at every
    token: the blank characters, and for each ASCII character the texts of the terminals
    that start with it, tried in the pattern's order, then what to do when none matched
    (scan a run of name characters, or ask the pattern). Derived from the terminals' own
    regular expressions, so the grammar stays the one description of the tokens."""

    def __init__(self, blank: bytes, literals: list, tails: list) -> None:
        self.blank = blank  # blank[c] == 1: ASCII character c is a blank
        self.literals = literals  # [c] -> ((text, terminal), ...) to try in order
        self.tails = tails  # [c] -> None (ask the pattern) or (terminal, bytes: its run's characters)


_ALL = frozenset(range(129))  # the ASCII characters, and 128 for "any other character"
_MAX_TEXTS = 64


def scan_tables(alternatives: list[tuple[str, str]], blanks: list[str]) -> ScanTables | None:
    """Tables equivalent to `(blanks)*+(?:alternative|...)` for a scanner that steps over
    the blanks, then decides the token at the character it stands on. None when the
    patterns are of a form this reading does not cover (the pattern is then run at every
    token, as before)."""
    try:
        import re._constants as sre
        import re._parser as sre_parse
    except ImportError:
        return None
    try:
        blank_trees = [sre_parse.parse(regexp) for regexp in blanks]
        trees = [sre_parse.parse(regexp) for _, regexp in alternatives]
    except (re.error, TypeError, ValueError):
        return None
    if any(tree.state.flags & (re.IGNORECASE | re.LOCALE) for tree in blank_trees + trees):
        return None  # a pattern-wide flag changes what its literals match
    blank = _blank_table([tree.data for tree in blank_trees], sre)
    if blank is None:
        return None
    parsed = [(name, tree.data) for (name, _), tree in zip(alternatives, trees)]
    literals: list = [[] for _ in range(128)]
    tails: list = [None] * 128
    decided = [False] * 128  # a run or an unreadable alternative comes first: later ones never count
    for name, tree in parsed:
        first, nullable = _first(tree, sre)
        if nullable:
            return None  # a terminal that may match nothing: not a form the scanner covers
        texts = _texts(tree, sre)
        run = None if texts is not None else _run(tree, sre)
        for char in first:
            if char == 128 or decided[char]:
                continue
            if texts is not None:
                literals[char] += [(text, sys.intern(name)) for text in texts if ord(text[0]) == char]
            else:
                tails[char] = run and (sys.intern(name), run)
                decided[char] = True
    return ScanTables(blank, [tuple(row) for row in literals], tails)


def _set_of(items, sre, exact: bool = True) -> frozenset | None:
    """The characters of an IN set of literals and ranges. Categories and negated sets
    give None, or with `exact=False` a superset (digits are the only category the
    terminals' first characters need told apart)."""
    chars = set()
    for op, value in items:
        if op is sre.LITERAL:
            chars.add(min(value, 128))
        elif op is sre.RANGE:
            chars.update(range(value[0], min(value[1], 128) + 1))
            if value[1] >= 128:
                chars.add(128)
        elif exact:
            return None
        elif op is sre.CATEGORY and value is sre.CATEGORY_DIGIT:
            chars.update(range(ord("0"), ord("9") + 1))
            chars.add(128)  # other scripts' digits
        else:
            return _ALL
    return frozenset(chars)


def _first(tree, sre) -> tuple[frozenset, bool]:
    """(the characters a match may start with, a superset; whether it may match nothing)."""
    found: set = set()
    for op, value in tree:
        if op is sre.LITERAL:
            chars, nullable = frozenset({min(value, 128)}), False
        elif op is sre.IN:
            chars, nullable = _set_of(value, sre, exact=False), False
        elif op in (sre.NOT_LITERAL, sre.ANY):
            chars, nullable = _ALL, False
        elif op is sre.BRANCH:
            chars, nullable = frozenset(), False
            for branch in value[1]:
                branch_first, branch_nullable = _first(branch, sre)
                chars, nullable = chars | branch_first, nullable or branch_nullable
        elif op is sre.SUBPATTERN:
            chars, nullable = _first(value[-1], sre)
            if value[1] or value[2]:  # a group with flags of its own (case): any character may start it
                chars = _ALL
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            chars, nullable = _first(value[2], sre)
            nullable = nullable or value[0] == 0
        else:  # assertions and the like: anything may follow
            return _ALL, True
        found |= chars
        if not nullable:
            return frozenset(found), False
    return frozenset(found), True


def _texts(tree, sre) -> list[str] | None:
    """The texts a pattern of literals, alternatives and optional parts matches, in the
    order the pattern tries them (None for any other pattern)."""
    texts = [""]
    for op, value in tree:
        if op is sre.LITERAL:
            options = [chr(value)]
        elif op is sre.BRANCH:
            options = []
            for branch in value[1]:
                branch_texts = _texts(branch, sre)
                if branch_texts is None:
                    return None
                options += branch_texts
        elif op is sre.SUBPATTERN and not value[1] and not value[2]:
            options = _texts(value[-1], sre)
        elif op is sre.MAX_REPEAT and value[:2] == (0, 1):  # greedy: with it first
            inner = _texts(value[2], sre)
            options = None if inner is None else inner + [""]
        else:
            return None
        if options is None:
            return None
        texts = [text + option for text in texts for option in options]
        if len(texts) > _MAX_TEXTS:
            return None
    return texts if all(texts) else None


def _run(tree, sre) -> bytes | None:
    """For `[first][rest]*` (a name): a table of the characters of `rest` (the first is
    known from the character the scanner stands on), else None."""
    if len(tree) != 2 or tree[0][0] is not sre.IN or tree[1][0] is not sre.MAX_REPEAT:
        return None
    low, high, inner = tree[1][1]
    if low != 0 or high != sre.MAXREPEAT or len(inner) != 1 or inner[0][0] is not sre.IN:
        return None
    first, rest = _set_of(tree[0][1], sre), _set_of(inner[0][1], sre)
    if first is None or rest is None or 128 in first or 128 in rest:
        return None
    return bytes(1 if char in rest else 0 for char in range(128))


def _blank_table(trees, sre) -> bytes | None:
    """The blank characters, when blanks are runs of ASCII characters from one set."""
    chars: set = set()
    for tree in trees:
        while len(tree) == 1 and tree[0][0] in (sre.MAX_REPEAT, sre.POSSESSIVE_REPEAT, sre.SUBPATTERN):
            tree = tree[0][1][-1]
        if len(tree) != 1 or tree[0][0] not in (sre.IN, sre.LITERAL):
            return None
        found = _set_of(tree[0][1], sre) if tree[0][0] is sre.IN else frozenset({min(tree[0][1], 128)})
        if found is None or 128 in found:
            return None
        chars |= found
    return bytes(1 if char in chars else 0 for char in range(128))
