# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The parser's two hot loops compiled to C: the lexer's pass over the scanner's matches
and the LALR(1) driver over integer tables.

They are the same algorithms as `TreadleLexer.lex_python` and `_Driver.run_python`, which
stay the reference (and what runs where this extension is not built); the tests run both
on the same programs and require equal tokens, trees and errors. The tables and the
reductions still come from `grammar/treadle.lark` through Lark: nothing here names a rule
or a terminal of the language except the lexer's bracket and new-line kinds, which
`tokens.py` defines.

CPython spends ~3,900 instructions per token in the driver's dict-of-dicts loop and ~2,900
in the lexer's; in C each is a few hundred (figures in docs/performance.md).
"""

from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free


def lex(object lexer, str data, object comments, object failure):
    """The tokens of `data` as `TreadleLexer.lex_python` makes them; `failure` is the
    exception class for a character that starts no token."""
    cdef dict keywords = lexer.keywords
    cdef frozenset continuations = lexer.continuations
    cdef frozenset comment_types = lexer.comment_types
    cdef frozenset rare = lexer.rare
    cdef frozenset openers = lexer.openers
    cdef frozenset closers = lexer.closers
    cdef frozenset value_starters = lexer.value_starters
    cdef str bad = lexer.bad_kind
    classify = lexer.master.match
    cdef dict kinds = {}
    cdef list tokens = []
    cdef list stack = []
    cdef object previous_type = None
    cdef bint emitted_newline = True
    cdef object pending = None
    cdef Py_ssize_t line = 1
    cdef Py_ssize_t line_start = 0
    cdef Py_ssize_t offset = 0
    cdef Py_ssize_t start
    cdef str blank, value, kind
    cdef tuple pair
    cdef bint keep_comments = comments is not None
    for pair in lexer.scanner.findall(data):
        blank = <str>pair[0]
        value = <str>pair[1]
        start = offset + len(blank)
        offset = start + len(value)
        found = kinds.get(value)
        if found is None:
            kind = classify(data, start).lastgroup
            if kind == "NAME":
                kind = keywords.get(value, "NAME")
            kinds[value] = kind
        else:
            kind = <str>found
        if kind in rare:
            if kind == "_NL":
                if pending is None and not emitted_newline and (not stack or stack[len(stack) - 1] == "block"):
                    pending = ("_NL", "\n", line, start - line_start + 1, start)
                line += 1
                line_start = offset
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
    tokens.append(("$END", "", line, len(data) - line_start + 1, len(data)))
    return tokens


cdef class Automaton:
    """The LALR(1) tables as one int array: `table[state * symbols + symbol]` is 0 for an
    error, s + 1 for a shift or goto to state s, and -1 - r for reduction r."""

    cdef int *table
    cdef int symbols
    cdef int start_state
    cdef int end_state
    cdef dict symbol_index
    cdef int *sizes
    cdef int *origins
    cdef list functions

    def __cinit__(self):
        self.table = NULL
        self.sizes = NULL
        self.origins = NULL

    def __init__(self, dict symbol_index, list table, list reductions, int start_state, int end_state):
        """`table` as described above (a flat list), `reductions` (size, function or None,
        origin symbol number) in rule order."""
        cdef Py_ssize_t i
        self.symbol_index = symbol_index
        self.symbols = len(symbol_index)
        self.start_state = start_state
        self.end_state = end_state
        self.table = <int *>PyMem_Malloc(len(table) * sizeof(int))
        self.sizes = <int *>PyMem_Malloc(max(1, len(reductions)) * sizeof(int))
        self.origins = <int *>PyMem_Malloc(max(1, len(reductions)) * sizeof(int))
        if self.table == NULL or self.sizes == NULL or self.origins == NULL:
            raise MemoryError()
        for i in range(len(table)):
            self.table[i] = table[i]
        self.functions = []
        for i in range(len(reductions)):
            size, function, origin = reductions[i]
            self.sizes[i] = size
            self.origins[i] = origin
            self.functions.append(function)

    def __dealloc__(self):
        PyMem_Free(self.table)
        PyMem_Free(self.sizes)
        PyMem_Free(self.origins)

    def run(self, list tokens, object on_error):
        """The value of the start rule; on a token the grammar does not allow there,
        `on_error(token, states)` with the stack of state numbers (it raises)."""
        cdef int capacity = 256
        cdef int depth = 1
        cdef int *states = <int *>PyMem_Malloc(capacity * sizeof(int))
        cdef int *grown
        cdef int state = self.start_state
        cdef int action, rule, size, symbol
        cdef int symbols = self.symbols
        cdef int *table = self.table
        cdef list values = []
        cdef Py_ssize_t count
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
                    size = self.sizes[rule]
                    function = self.functions[rule]
                    if function is None:  # a rule that passes its one child on: only the state changes
                        depth -= 1
                    elif size:
                        count = len(values)
                        children = values[count - size:]
                        del values[count - size:]
                        depth -= size
                        values.append(function(children))
                    else:
                        values.append(function([]))
                    state = table[states[depth - 1] * symbols + self.origins[rule]] - 1
                    if state == self.end_state:  # only ever reached on the end of the input
                        return values[len(values) - 1]
                    if depth == capacity:
                        grown = <int *>PyMem_Realloc(states, 2 * capacity * sizeof(int))
                        if grown == NULL:
                            raise MemoryError()
                        states = grown
                        capacity *= 2
                    states[depth] = state
                    depth += 1
                    action = table[state * symbols + symbol]
                if action == 0:
                    on_error(token, [states[i] for i in range(depth)])
                state = action - 1  # shift
                if depth == capacity:
                    grown = <int *>PyMem_Realloc(states, 2 * capacity * sizeof(int))
                    if grown == NULL:
                        raise MemoryError()
                    states = grown
                    capacity *= 2
                states[depth] = state
                depth += 1
                values.append(token)
        finally:
            PyMem_Free(states)
        raise AssertionError("the end of the input always ends the parse")
