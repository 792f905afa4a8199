"""What ships with the runtime: the Dockerfile, the std component library, thread control."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from treadle.runtime import cli, threads
from treadle.runtime.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def dockerfile():
    text = resources.files("treadle.runtime").joinpath("Dockerfile").read_text()
    return dockerfile_instructions(text)


KNOWN = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
         "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}


def test_dockerfile_parses_and_pins_a_slim_python_base(dockerfile):
    assert all(keyword in KNOWN for keyword, _ in dockerfile)
    assert dockerfile[0][0] == "FROM"
    image = dockerfile[0][1].split()[0]
    name, _, tag = image.partition(":")
    assert name == "python" and "slim" in tag
    assert re.fullmatch(r"\d+\.\d+\.\d+-slim(-\w+)?", tag), f"base not pinned to an exact version: {image}"


def test_dockerfile_ends_as_a_non_root_user_with_sshd_for_mpi_workers(dockerfile):
    users = [arguments for keyword, arguments in dockerfile if keyword == "USER"]
    # Numeric: the kubelet refuses `runAsNonRoot: true` for an image whose user is a name.
    assert users and re.fullmatch(r"\d+(:\d+)?", users[-1]) and users[-1].split(":")[0] != "0"
    runs = " ".join(arguments for keyword, arguments in dockerfile if keyword == "RUN")
    created = re.search(r"useradd [^&]*--uid (\d+) [^&]*?(\w+) +&&", runs)
    assert created and created.group(1) == users[-1].split(":")[0]
    home = f"/home/{created.group(2)}"
    assert "openssh-server" in runs and "openssh-client" in runs
    assert f"{home}/.sshd_config" in runs and "Port 2222" in runs
    assert "pip install /src" in runs
    # The MPIJobs that the backends compile start the workers' sshd with the image's config
    # and mount the operator's key where that config looks for it.
    from treadle.backends import mpijob

    assert mpijob.WORKER_ARGS[-1] == f"{home}/.sshd_config" and mpijob.SSH_AUTH_MOUNT_PATH == f"{home}/.ssh"


def test_dockerfile_entrypoint_is_the_packaged_console_script(dockerfile):
    entrypoint = json.loads(next(arguments for keyword, arguments in dockerfile if keyword == "ENTRYPOINT"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts[entrypoint[0]].partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    copied = {arguments.split()[0] for keyword, arguments in dockerfile if keyword == "COPY"}
    assert "runtime" in copied and "pyproject.toml" in copied


# -- std/sklearn.treadle ------------------------------------------------------------------

def std_source() -> str:
    return resources.files("treadle.runtime.std").joinpath("sklearn.treadle").read_text()


def components(source: str) -> dict[str, str]:
    """Component name -> its whole declaration text."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r"^component (\w+)\(", source, re.M)]
    ends = [start for start, _ in starts[1:]] + [len(source)]
    return {name: source[start:end] for (start, name), end in zip(starts, ends)}


def test_std_library_declares_every_command_with_the_image_in_one_place():
    source = std_source()
    declared = components(source)
    commands = {re.search(r'command = \["treadle-runtime", "([\w-]+)"\]', body).group(1)
                for body in declared.values()}
    assert commands == set(cli.COMMANDS)
    assert all(name.isidentifier() for name in declared)
    assert source.count("ghcr.io/treadle-ml/runtime:") == 1
    assert re.search(r'^let RUNTIME = "ghcr\.io/treadle-ml/runtime:[\w.]+"$', source, re.M)
    assert all("image = RUNTIME" in body for body in declared.values())


def _parameters(signature: str) -> list[tuple[str, str, str | None]]:
    found = re.findall(r"(\w+): (\w+)(?: = (\"[^\"]*\"|[^,)]+))?", signature)
    return [(name, kind, default or None) for name, kind, default in found]


def test_std_components_pass_flags_the_runtime_accepts():
    parser = cli.build_parser()
    for name, body in components(std_source()).items():
        signature = body[: body.index("{")]
        inputs_text, _, outputs_text = signature.partition("->")
        inputs, outputs = _parameters(inputs_text), _parameters(outputs_text)
        for _, kind, default in inputs:
            assert kind in {"str", "int", "float", "bool", "list", "dict", "Dataset", "Model", "Metrics", "Artifact"}
            assert default is not None or kind in {"Dataset", "Model", "Metrics", "Artifact"}, name
        command = re.search(r'command = \["treadle-runtime", "([\w-]+)"\]', body).group(1)
        args_text = re.search(r"args = \[(.*?)\]\n", body, re.S).group(1)
        values = {param: ("x.csv" if kind in {"Dataset", "Model", "Metrics", "Artifact"} else
                          (default.strip('"') if default else "1"))
                  for param, kind, default in inputs}
        values.update({param: f"{param}.out" for param, _, _ in outputs})
        argv = [command] + [token.strip('"') if token.startswith('"') else values[token]
                            for token in (t.strip() for t in args_text.replace("\n", " ").split(","))]
        parsed = parser.parse_args(argv)  # exits 2 on a flag the runtime does not know
        assert parsed.command == command
        used = {token.strip() for token in args_text.replace("\n", " ").split(",")}
        assert {param for param, _, _ in inputs + outputs} <= used, f"{name}: a declared input or output is unused"


def test_std_data_parallel_components_default_to_mpi():
    declared = components(std_source())
    for name in ("scale", "pca", "kmeans", "linear", "forest", "grid_search", "evaluate", "predict"):
        assert "mpi { ranks = 2 }" in declared[name]
    assert "mpi" not in declared["load_dataset"]


# -- thread control -----------------------------------------------------------------------

@pytest.mark.parametrize("flag, environment, expected", [
    ("3", {}, 3),
    (None, {"TREADLE_THREADS": "2"}, 2),
    (None, {"PMI_RANK": "0", "PMI_SIZE": "2"}, 1),
    ("auto", {"PMI_RANK": "0", "PMI_SIZE": "2", "MPI_LOCALNRANKS": "2"}, None),
])
def test_thread_count_per_rank(monkeypatch, flag, environment, expected):
    for name in ("TREADLE_THREADS", "TREADLE_MPI", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS",
                 "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if expected is None:
        expected = max(1, threads.usable_cores() // 2)
    assert threads.resolve_thread_count(flag) == expected


def test_single_process_default_uses_every_core(monkeypatch):
    for name in ("TREADLE_THREADS", "PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TREADLE_MPI", "0")
    assert threads.resolve_thread_count(None) == threads.usable_cores()


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_thread_count_is_a_user_error(value):
    with pytest.raises(UserError, match="--threads"):
        threads.resolve_thread_count(value)


def test_threads_flag_is_applied_to_blas(tmp_path, run_cli):
    from threadpoolctl import threadpool_info

    from runtime_helpers import write_csv

    path = write_csv(tmp_path / "d.csv", [[1.0, 2.0], [3.0, 5.0]])
    code, _ = run_cli("scale", "--data", path, "--output", tmp_path / "s.csv", "--model", tmp_path / "m",
                      "--threads", "1", "--stats", tmp_path / "stats.json")
    assert code == 0
    assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["threads_per_rank"] == 1 and stats["ranks"] == 1 and stats["per_rank"][0]["peak_rss_mib"] > 0
    phases = stats["per_rank"][0]["phases"]
    assert list(phases) == ["read", "fit", "write", "import"]  # scikit-learn loaded after the rows are freed
    assert all(phase["cpu"] >= 0 and phase["seconds"] > 0 and phase["collectives"] == 0 for phase in phases.values())
    assert max(phase["peak_rss_mib"] for phase in phases.values()) <= stats["per_rank"][0]["peak_rss_mib"]
