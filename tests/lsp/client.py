"""A small LSP client for the tests: `treadle lsp` as a real process, JSON-RPC messages
framed with Content-Length on its stdin and stdout, written here by hand."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path


def uri(path: Path) -> str:
    return path.resolve().as_uri()


class LspClient:
    def __init__(self, cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "treadle.compiler.cli", "lsp", "--stdio"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
        self.next_id = 0
        self.responses: dict[int, dict] = {}
        self.notifications: "queue.Queue[dict]" = queue.Queue()
        self.seen: list[dict] = []  # every notification received, in order
        self.server_requests: list[dict] = []  # every request the server made, in order
        self.condition = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stderr_lines: list[bytes] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # ------------------------------------------------------------ framing
    def send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            message = json.loads(stream.read(length))
            if "id" in message and "method" not in message:
                with self.condition:
                    self.responses[message["id"]] = message
                    self.condition.notify_all()
            elif "id" in message:  # a request from the server (like workspace/configuration): answer null
                self.server_requests.append(message)
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            else:
                self.seen.append(message)
                self.notifications.put(message)

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    # ------------------------------------------------------------ messages
    def request(self, method: str, params: dict | None, timeout: float = 30) -> dict:
        """The whole response: `result` or `error`."""
        self.next_id += 1
        number = self.next_id
        self.send({"jsonrpc": "2.0", "id": number, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self.condition:
            while number not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"no answer to {method} (server exit code {self.process.poll()})")
                self.condition.wait(min(left, 0.5))
            return self.responses.pop(number)

    def result(self, method: str, params: dict | None):
        response = self.request(method, params)
        assert "error" not in response, response
        return response["result"]

    def notify(self, method: str, params: dict | None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_for(self, method: str, match=lambda params: True, timeout: float = 30) -> dict:
        """The params of the next notification `method` whose params match."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {method} notification came")
            try:
                message = self.notifications.get(timeout=left)
            except queue.Empty:
                continue
            if message.get("method") == method and match(message.get("params")):
                return message["params"]

    def diagnostics(self, document_uri: str, version: int | None = None, timeout: float = 30) -> list[dict]:
        """The diagnostics published for a document (for one version of it, when given)."""
        params = self.wait_for("textDocument/publishDiagnostics",
                               lambda p: p["uri"] == document_uri and (version is None or p.get("version") == version),
                               timeout)
        return params["diagnostics"]

    # ------------------------------------------------------------ sessions
    def initialize(self, root: Path | None = None, capabilities: dict | None = None) -> dict:
        if capabilities is None:
            capabilities = {"textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                                             "rename": {"prepareSupport": True}}}
        result = self.result("initialize", {
            "processId": None,
            "rootUri": uri(root) if root else None,
            "capabilities": capabilities,
        })
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        document = uri(path)
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": document, "languageId": "treadle", "version": version,
            "text": path.read_text(encoding="utf-8") if text is None else text}})
        return document

    def change(self, document: str, version: int, changes: list[dict]) -> None:
        self.notify("textDocument/didChange", {"textDocument": {"uri": document, "version": version},
                                               "contentChanges": changes})

    def at(self, method: str, document: str, line: int, character: int, **extra):
        return self.result(method, {"textDocument": {"uri": document},
                                    "position": {"line": line, "character": character}, **extra})

    def close(self) -> int:
        """shutdown, then exit: the server's exit code."""
        if self.process.poll() is None:
            self.result("shutdown", None)
            self.notify("exit", None)
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        return self.process.returncode


def position_of(text: str, needle: str, nth: int = 0, offset: int = 0, encoding: str = "utf-16") -> tuple[int, int]:
    """The LSP position (0-based line, UTF-16 units) of the nth occurrence of needle, plus offset characters."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    start = text.rfind("\n", 0, index) + 1
    prefix = text[start:index]
    units = len(prefix.encode("utf-16-le")) // 2 if encoding == "utf-16" else len(prefix)
    return line, units
