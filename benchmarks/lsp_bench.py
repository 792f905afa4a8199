"""Language server latency: diagnostics of a 1,000-step file after a change, through a real
`treadle lsp` process over stdio, beside the front end's check of the same text in this process.

Run: python benchmarks/lsp_bench.py [--steps 1000] [--repeat 9]

Prints medians: the check alone (in process), diagnostics after one change (the time from
sending didChange to receiving publishDiagnostics for that version), diagnostics after a
burst of changes typed 20 ms apart (from the last change), and hover right after a change.
Target: diagnostics within 200 ms of a change for 1,000 steps.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from frontend_bench import generate  # noqa: E402  (the front-end benchmark's program shape)
from tests.lsp.client import LspClient  # noqa: E402  (the tests' hand-written LSP client)

from treadle.compiler.frontend import check_sources  # noqa: E402
from treadle.compiler.source import SourceFile  # noqa: E402

TARGET_S = 0.200


def edit(text: str, round_: int) -> tuple[dict, str]:
    """An incremental change of one argument in the middle of the file, and the new text."""
    lines = text.split("\n")
    number = _middle_line(lines)
    column = lines[number].index("rate=") + len("rate=")
    new = f"{0.1 + round_ / 1000:.3f}"
    current = lines[number][column:].split(",", 1)[0].split(")", 1)[0]
    change = {"range": {"start": {"line": number, "character": column},
                        "end": {"line": number, "character": column + len(current)}}, "text": new}
    lines[number] = lines[number][:column] + new + lines[number][column + len(current):]
    return change, "\n".join(lines)


def _middle_line(lines: list[str]) -> int:
    """The first line of a step with a rate argument in the second half of the file."""
    return next(i for i in range(len(lines) // 2, len(lines)) if "rate=" in lines[i] and "= c" in lines[i])


def resident_mib(pid: int) -> float:
    """The server's resident memory (Linux), or NaN elsewhere."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def check_alone(text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = check_sources([SourceFile("generated.treadle", text)])
        times.append(time.perf_counter() - started)
        assert not result.diagnostics.has_errors
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    text = generate(args.steps)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.treadle"
        path.write_text(text, encoding="utf-8")
        client = LspClient(cwd=Path(folder))
        try:
            client.initialize(Path(folder))
            document = client.open(path, text)
            assert client.diagnostics(document, version=1, timeout=120) == []
            memory_first = resident_mib(client.process.pid)
            version = 1
            single, burst, hover = [], [], []
            alone = check_alone(text, args.repeat)
            for round_ in range(args.repeat):
                version += 1
                change, text = edit(text, round_)
                started = time.perf_counter()
                client.change(document, version, [change])
                client.diagnostics(document, version=version, timeout=120)
                single.append(time.perf_counter() - started)
            for round_ in range(args.repeat):
                for _ in range(5):
                    version += 1
                    change, text = edit(text, round_ + version)
                    client.change(document, version, [change])
                    started = time.perf_counter()
                    time.sleep(0.02)
                client.diagnostics(document, version=version, timeout=120)
                burst.append(time.perf_counter() - started + 0.02)
            middle = _middle_line(text.split("\n"))
            for round_ in range(args.repeat):
                version += 1
                change, text = edit(text, round_ + version)
                client.change(document, version, [change])
                started = time.perf_counter()
                client.at("textDocument/hover", document, middle, 4)
                hover.append(time.perf_counter() - started)
                client.diagnostics(document, version=version, timeout=120)
            memory_last = resident_mib(client.process.pid)
        finally:
            client.close()
    print(f"{args.steps} steps, {len(text.encode())} bytes, medians of {args.repeat} (machine load {os.getloadavg()[0]:.1f})")
    print(f"{'front-end check alone (in process)':<48} {alone * 1000:>8.0f} ms")
    print(f"{'diagnostics after one change':<48} {statistics.median(single) * 1000:>8.0f} ms")
    print(f"{'diagnostics after 5 changes 20 ms apart (last)':<48} {statistics.median(burst) * 1000:>8.0f} ms")
    print(f"{'hover right after a change':<48} {statistics.median(hover) * 1000:>8.0f} ms")
    print(f"{'server memory after the first check / at the end':<48} {memory_first:>4.0f} / {memory_last:.0f} MiB"
          f" ({version} versions)")
    verdict = "met" if statistics.median(single) <= TARGET_S else "missed"
    print(f"target: diagnostics within {TARGET_S * 1000:.0f} ms of a change: {verdict}")


if __name__ == "__main__":
    main()
