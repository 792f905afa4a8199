"""The parser's compiled loops, built beside the pure-Python package (everything else about
the package is in pyproject.toml).

The extension is optional: where it cannot be built, treadle runs the same loops in
Python, about a third slower to parse (`compiler/_parse_loop.pyx` says why it exists).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("treadle.compiler._parse_loop", ["compiler/_parse_loop.pyx"], optional=True)])
