"""Runs several `treadle-runtime` commands, in order, in one process per rank.

Started by the tests as `mpiexec -n N python mpi_driver.py COMMANDS.json CODES.json`, so
the interpreter and library start-up is paid once per rank count instead of once per
command. Rank 0 writes the exit code of every command, and whether MPI was started.
"""

import json
import sys

from treadle.runtime import cli
from treadle.runtime.mpi import world


def main() -> None:
    with open(sys.argv[1]) as handle:
        commands = json.load(handle)
    codes = []
    for argv in commands:
        try:
            codes.append(cli.main(argv))
        except SystemExit as exc:
            codes.append(exc.code)
    if world().is_root:
        with open(sys.argv[2], "w") as handle:
            json.dump({"codes": codes, "mpi_started": "mpi4py.MPI" in sys.modules}, handle)


if __name__ == "__main__":
    main()
