# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The parser's two hot loops compiled to C: the lexer and the LALR(1) driver over integer
tables.

They give what `TreadleLexer.lex_python` and `_Driver.run_python` give, which stay the
reference (and what runs where this extension is not built); the tests run both on the
same programs and on arbitrary text and require equal tokens, trees and errors. The
lexer's tables (`tokens.ScanTables`), the parse tables and the reductions still come from
`grammar/treadle.lark`: nothing here names a rule, and the only terminals named are those
`lex_python` names too (new lines, names, strings, the opening brace, the end).

Interpreted, the driver's dict-of-dicts loop costs CPython about 3,900 instructions per
token and the lexer's about 2,900 (callgrind, 10,000-step program); compiled, the parse
of the whole token stream costs a third less. Scanning the text here instead of running
the terminals' pattern over it halves the lexer again (a chain of 2,000 components:
431M -> 222M instructions).
"""

from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free


cdef inline Py_ssize_t _run_end(str data, Py_ssize_t position, Py_ssize_t length, const unsigned char *table):
    """Where the run of ASCII characters marked in `table` that starts at `position` ends."""
    cdef Py_UCS4 char
    while position < length:
        char = data[position]
        if char < 128 and table[char]:
            position += 1
        else:
            break
    return position


cdef inline bint _starts_with(str data, Py_ssize_t start, Py_ssize_t length, str text):
    cdef Py_ssize_t size = len(text)
    cdef Py_ssize_t index
    if start + size > length:
        return False
    for index in range(size):
        if data[start + index] != text[index]:
            return False
    return True


def lex(object lexer, str data, object comments, object failure):
    """The tokens of `data` as `TreadleLexer.lex_python` makes them; `failure` is the
    exception class for a character that starts no token.

    Where `lex_python` runs the scanner's pattern over the text, this steps over blanks and
    decides most tokens from the character it stands on (`tokens.ScanTables`: the literal
    texts that start with it, or a run of name characters); other tokens (numbers,
    strings, comments, other scripts) are matched with the pattern, at their position."""
    cdef dict keywords = lexer.keywords
    cdef frozenset continuations = lexer.continuations
    cdef frozenset comment_types = lexer.comment_types
    cdef frozenset rare = lexer.rare
    cdef frozenset openers = lexer.openers
    cdef frozenset closers = lexer.closers
    cdef frozenset value_starters = lexer.value_starters
    cdef str bad = lexer.bad_kind
    tables = lexer.scan_tables
    cdef bytes blank_table = tables.blank
    cdef const unsigned char *blank = blank_table
    cdef list literals = tables.literals
    cdef list tails = tables.tails
    cdef const unsigned char *run
    match = lexer.master.match
    cdef list tokens = []
    cdef list stack = []
    cdef object previous_type = None
    cdef bint emitted_newline = True
    cdef object pending = None
    cdef Py_ssize_t line = 1
    cdef Py_ssize_t line_start = 0
    cdef Py_ssize_t length = len(data)
    cdef Py_ssize_t position = 0
    cdef Py_ssize_t start, end
    cdef Py_UCS4 char
    cdef str value, kind, text
    cdef tuple entry, tail
    cdef bint keep_comments = comments is not None
    while True:
        position = _run_end(data, position, length, blank)
        if position >= length:
            break
        start = position
        char = data[position]
        kind = None
        if char < 128:
            for entry in <tuple>literals[<Py_ssize_t>char]:
                text = <str>entry[0]
                if _starts_with(data, start, length, text):
                    kind = <str>entry[1]
                    end = start + len(text)
                    break
            if kind is None and tails[<Py_ssize_t>char] is not None:
                tail = <tuple>tails[<Py_ssize_t>char]
                run = <bytes>tail[1]
                end = _run_end(data, start + 1, length, run)
                kind = <str>tail[0]
        if kind is None:
            found = match(data, start)
            end = found.end()
            kind = found.lastgroup
        position = end
        value = data[start:end]
        if kind == "NAME":
            kind = keywords.get(value, "NAME")
        if kind in rare:
            if kind == "_NL":
                if pending is None and not emitted_newline and (not stack or stack[len(stack) - 1] == "block"):
                    pending = ("_NL", "\n", line, start - line_start + 1, start)
                line += 1
                line_start = end
                continue
            if kind == bad:
                raise failure(start, line, start - line_start + 1)
            if kind in comment_types:
                if keep_comments:
                    comments.append((kind, value, line, start - line_start + 1, start))
                continue
            if kind in openers:
                if kind == "LBRACE":
                    stack.append("literal" if previous_type in value_starters else "block")
                else:
                    stack.append(kind)
            elif kind in closers:
                if stack:
                    stack.pop()
        if pending is not None:
            if kind not in continuations:
                tokens.append(pending)
                emitted_newline = True
            pending = None
        tokens.append((kind, value, line, start - line_start + 1, start))
        if kind == "STRING" and "\n" in value:  # a triple-quoted string
            line += value.count("\n")
            line_start = start + value.rfind("\n") + 1
        previous_type = kind
        emitted_newline = False
    if pending is not None:
        tokens.append(pending)
    tokens.append(("$END", "", line, length - line_start + 1, length))
    return tokens


cdef int *_doubled(int *states, int *capacity) except NULL:
    """The state stack with room for twice as many states (on failure the old one stays
    the caller's to free)."""
    cdef int *grown = <int *>PyMem_Realloc(states, 2 * capacity[0] * sizeof(int))
    if grown == NULL:
        raise MemoryError()
    capacity[0] *= 2
    return grown


# How a reduction finishes (parser.py's CALL, WRAP, SAME, EXPAND) and the plan of a rule
# whose value is its one child (PASS).
cdef enum:
    CALL = 0
    WRAP = 1
    SAME = 2
    EXPAND = 3
    PASS = -2


cdef class Automaton:
    """The LALR(1) tables as one int array: `table[state * symbols + symbol]` is 0 for an
    error, s + 1 for a shift or goto to state s, and -1 - r for reduction r. Each rule's
    reduction follows its `ReductionPlan` (parser.py), read here instead of written out."""

    cdef int *table
    cdef int symbols
    cdef int start_state
    cdef int end_state
    cdef dict symbol_index
    cdef int *sizes
    cdef int *origins
    cdef int *picks
    cdef int *finishes
    cdef char *wholes
    cdef list kept
    cdef list methods
    cdef object spliced

    def __cinit__(self):
        self.table = NULL
        self.sizes = NULL
        self.origins = NULL
        self.picks = NULL
        self.finishes = NULL
        self.wholes = NULL

    def __init__(self, dict symbol_index, list table, list rules, int start_state, int end_state, object spliced):
        """`table` as described above (a flat list); `rules` (size, origin symbol number,
        then the fields of the rule's ReductionPlan) in rule order; `spliced` the list
        type of an inlined rule's children."""
        cdef Py_ssize_t i
        cdef Py_ssize_t count = max(1, len(rules))
        self.symbol_index = symbol_index
        self.symbols = len(symbol_index)
        self.start_state = start_state
        self.end_state = end_state
        self.spliced = spliced
        self.table = <int *>PyMem_Malloc(len(table) * sizeof(int))
        self.sizes = <int *>PyMem_Malloc(count * sizeof(int))
        self.origins = <int *>PyMem_Malloc(count * sizeof(int))
        self.picks = <int *>PyMem_Malloc(count * sizeof(int))
        self.finishes = <int *>PyMem_Malloc(count * sizeof(int))
        self.wholes = <char *>PyMem_Malloc(count * sizeof(char))
        if (self.table == NULL or self.sizes == NULL or self.origins == NULL or self.picks == NULL
                or self.finishes == NULL or self.wholes == NULL):
            raise MemoryError()
        for i in range(len(table)):
            self.table[i] = table[i]
        self.kept = []
        self.methods = []
        for i in range(len(rules)):
            size, origin, pick, kept, whole, finish, method = rules[i]
            self.sizes[i] = size
            self.origins[i] = origin
            self.picks[i] = pick
            self.finishes[i] = finish
            self.wholes[i] = 1 if whole else 0
            self.kept.append(tuple(kept))
            self.methods.append(method)

    def __dealloc__(self):
        PyMem_Free(self.table)
        PyMem_Free(self.sizes)
        PyMem_Free(self.origins)
        PyMem_Free(self.picks)
        PyMem_Free(self.finishes)
        PyMem_Free(self.wholes)

    cdef object reduce(self, list values, int rule):
        """Pops the rule's children off `values` and returns its value."""
        cdef Py_ssize_t size = self.sizes[rule]
        cdef Py_ssize_t base = len(values) - size
        cdef int pick = self.picks[rule]
        cdef int finish
        cdef tuple entry
        cdef object f, child
        cdef bint first = True
        if pick >= 0:
            f = values[base + pick]
            del values[base:]
            return f
        if self.wholes[rule]:
            f = values[base:]
        else:
            f = None
            for entry in <tuple>self.kept[rule]:
                child = values[base + <Py_ssize_t>entry[0]]
                if first:
                    f = child if entry[1] else [child]
                    first = False
                elif entry[1]:
                    f += child  # a spliced list grows in place
                else:
                    f.append(child)
            if f is None:
                f = []
        del values[base:]
        finish = self.finishes[rule]
        if finish == CALL:
            return self.methods[rule](f)
        if finish == WRAP:
            return self.spliced(f)
        if finish == SAME:
            return f
        if len(f) == 1:  # EXPAND
            return f[0]
        return self.methods[rule](f)

    def run(self, list tokens, object on_error):
        """The value of the start rule; on a token the grammar does not allow there,
        `on_error(token, states)` with the stack of state numbers (it raises)."""
        cdef int capacity = 256
        cdef int depth = 1
        cdef int *states = <int *>PyMem_Malloc(capacity * sizeof(int))
        cdef int state = self.start_state
        cdef int action, rule, symbol
        cdef int symbols = self.symbols
        cdef int *table = self.table
        cdef list values = []
        cdef tuple token
        if states == NULL:
            raise MemoryError()
        states[0] = state
        try:
            for token in tokens:
                found = self.symbol_index.get(token[0])
                if found is None:
                    on_error(token, [states[i] for i in range(depth)])
                symbol = <int>found
                action = table[state * symbols + symbol]
                while action < 0:  # reduce
                    rule = -1 - action
                    if self.picks[rule] != PASS:  # else only the state changes
                        values.append(self.reduce(values, rule))
                    depth -= self.sizes[rule]
                    state = table[states[depth - 1] * symbols + self.origins[rule]] - 1
                    if state == self.end_state:  # only ever reached on the end of the input
                        return values[len(values) - 1]
                    if depth == capacity:
                        states = _doubled(states, &capacity)
                    states[depth] = state
                    depth += 1
                    action = table[state * symbols + symbol]
                if action == 0:
                    on_error(token, [states[i] for i in range(depth)])
                state = action - 1  # shift
                if depth == capacity:
                    states = _doubled(states, &capacity)
                states[depth] = state
                depth += 1
                values.append(token)
        finally:
            PyMem_Free(states)
        raise AssertionError("the end of the input always ends the parse")
