"""Small components for the local runner's tests: Python one-liners run by the runner's own
interpreter (`python3` is looked up in treadle's environment first)."""

COMPONENTS = r'''
component emit(text: str) -> (out: str) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w', encoding='utf-8').write(sys.argv[1])", text, out]
}

component count(n: int) -> (items: list[int]) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import json, sys; open(sys.argv[2], 'w').write(json.dumps(list(range(int(sys.argv[1])))))",
             n, items]
}

component square(x: int) -> (y: int) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w').write(str(int(sys.argv[1]) ** 2) + chr(10))", x, y]
}

component add(x: int, y: int) -> (z: int) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[3], 'w').write(str(int(sys.argv[1]) + int(sys.argv[2])))",
             x, y, z]
}

component total(xs: list[int]) -> (sum: int) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import json, sys; open(sys.argv[2], 'w').write(str(sum(json.loads(sys.argv[1]))))",
             xs, sum]
}

component nested_total(xss: list[list[int]]) -> (sum: int, shape: str) {
  image = "python:3.11-slim"
  command = ["python3", "-c", """
    import json, sys
    rows = json.loads(sys.argv[1])
    open(sys.argv[2], 'w').write(str(sum(map(sum, rows))))
    open(sys.argv[3], 'w').write(json.dumps(rows))
    """, xss, sum, shape]
}

component make_file(text: str) -> (data: Dataset) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w', encoding='utf-8').write(sys.argv[1] * 2)", text, data]
}

component read_file(data: Dataset) -> (text: str) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w', encoding='utf-8').write(open(sys.argv[1], encoding='utf-8').read())",
             data, text]
}

component env_echo(text: str) -> (out: str) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import os, sys; open(sys.argv[1], 'w').write(os.environ['GREETING'] + '|' + os.environ['FROM_INPUT'])",
             out]
  env {
    GREETING = "hello"
    FROM_INPUT = text
  }
}

# Appends a line to a file outside the run (a side effect the tests count).
component note(path: str, text: str) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + chr(10))", path, text]
}

component fail(code: int = 3) {
  image = "python:3.11-slim"
  command = ["python3", "-c", "import sys; print('something went wrong', file=sys.stderr); sys.exit(int(sys.argv[1]))", code]
}
'''
