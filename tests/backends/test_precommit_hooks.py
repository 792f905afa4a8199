"""The pre-commit hooks of `.pre-commit-hooks.yaml`, run by pre-commit itself against a
temporary repository of `.treadle` files.

pre-commit builds the hooks' environment from this checkout (`pip install .` in a fresh
virtualenv), as it does for users from the rev they pin. Users' environments get treadle's
dependencies from the package index; here the test passes the running environment's
site-packages on PYTHONPATH and PIP_NO_INDEX, so nothing is downloaded and the test runs
offline. Without build isolation the build uses the setuptools of the test extra.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from treadle.compiler.cli import build_parser, main

CHECKOUT = Path(__file__).resolve().parents[2]
GOOD = 'component say(text: str) {\n  image = "alpine:3.20"\n  command = ["echo", text]\n}\npipeline hello() {\n  say(text="hi")\n}\n'
BROKEN = "pipeline broken() {\n  nothing(x=1)\n}\n"


def _pre_commit() -> list[str]:
    if shutil.which("git") is None:
        pytest.fail("git is needed to run pre-commit")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.fail("pre-commit is not installed: pip install -e '.[test]'")
    if not (CHECKOUT / ".git").exists():
        pytest.skip("the checkout is not a git repository, which pre-commit needs to clone it")
    return [sys.executable, "-m", "pre_commit"]


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    home = tmp_path_factory.mktemp("pre-commit-home")
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "GIT_", "PRE_COMMIT"))}
    return {**inherited, "PRE_COMMIT_HOME": str(home), "PIP_NO_INDEX": "1",
            # pip reads the negative options' environment variables inverted: "off" turns isolation off
            "PIP_NO_BUILD_ISOLATION": "off", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PYTHONPATH": os.pathsep.join(site.getsitepackages()),
            "GIT_AUTHOR_NAME": "treadle tests", "GIT_AUTHOR_EMAIL": "tests@treadle.invalid",
            "GIT_COMMITTER_NAME": "treadle tests", "GIT_COMMITTER_EMAIL": "tests@treadle.invalid"}


def _git(repository: Path, *args: str, env: dict) -> None:
    subprocess.run(["git", *args], cwd=repository, env=env, check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path, environment, monkeypatch):
    """A GitOps repository: sources in pipelines/, their Argo YAML in deploy/, committed."""
    repository = tmp_path / "ops"
    (repository / "pipelines").mkdir(parents=True)
    (repository / "pipelines" / "hello.treadle").write_text(GOOD)
    monkeypatch.chdir(repository)
    assert main(["compile", "pipelines", "--target", "argo", "-o", "deploy"]) == 0
    _git(repository, "init", "-q", env=environment)
    _git(repository, "add", "-A", env=environment)
    _git(repository, "commit", "-q", "-m", "pipelines", env=environment)
    return repository


def _run(command: list[str], repository: Path, environment: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=repository, env=environment, capture_output=True, text=True, timeout=300)


def test_try_repo_runs_the_check_hook(repository, environment):
    """`pre-commit try-repo` builds the hook from this checkout (its working tree included)."""
    (repository / "pipelines" / "broken.treadle").write_text(BROKEN)
    _git(repository, "add", "-A", env=environment)
    failed = _run(_pre_commit() + ["try-repo", str(CHECKOUT), "treadle-check", "--all-files"], repository,
                  environment)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "treadle check" in failed.stdout and "Failed" in failed.stdout
    assert "pipelines/broken.treadle:2:3: error[E106]" in failed.stdout
    assert "pipelines/hello.treadle" not in failed.stdout


def _has_fmt() -> bool:
    subcommands = next(action for action in build_parser()._actions if action.dest == "command")
    return "fmt" in subcommands.choices


def test_hooks_pinned_in_a_configuration(repository, environment):
    """A configuration pins the checkout's commit, as users pin a release, and gives the
    compile check its arguments (try-repo cannot). Passing first, then each hook failing
    for its own reason."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=CHECKOUT, capture_output=True, text=True,
                          check=True).stdout.strip()
    hooks = ["treadle-check", "treadle-compile-check"] + (["treadle-fmt"] if _has_fmt() else [])
    source = repository / "pipelines" / "hello.treadle"
    if _has_fmt():
        assert main(["fmt", str(source)]) == 0  # the canonical layout, whatever the formatter makes it
        assert main(["compile", "pipelines", "--target", "argo", "-o", "deploy"]) == 0
    arguments = {"treadle-compile-check": "    args: [pipelines, --target, argo, -o, deploy]\n"}
    (repository / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {CHECKOUT.as_posix()}\n  rev: {head}\n  hooks:\n"
        + "".join(f"  - id: {hook}\n" + arguments.get(hook, "") for hook in hooks))
    _git(repository, "add", "-A", env=environment)
    command = _pre_commit() + ["run", "--all-files"]
    passed = _run(command, repository, environment)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.count("Passed") == len(hooks)

    canonical = source.read_text()
    source.write_text(canonical.replace('"hi"', '"hello"'))
    _git(repository, "add", "-A", env=environment)
    stale = _run(command, repository, environment)
    assert stale.returncode == 1
    assert "stale: deploy/argo/hello.yaml" in stale.stdout
    assert "1 file out of date in deploy; compile without --check to update them" in stale.stdout
    assert stale.stdout.count("Passed") == len(hooks) - 1  # the source itself is fine

    if _has_fmt():
        assert main(["compile", "pipelines", "--target", "argo", "-o", "deploy"]) == 0
        formatted = source.read_text()
        source.write_text(formatted.replace("pipeline hello() {", "pipeline   hello( )   {"))
        _git(repository, "add", "-A", env=environment)
        unformatted = _run(_pre_commit() + ["run", "treadle-fmt", "--all-files"], repository, environment)
        assert unformatted.returncode == 1 and "files were modified by this hook" in unformatted.stdout
        assert source.read_text() == formatted
