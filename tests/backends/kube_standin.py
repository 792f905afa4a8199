"""A stand-in for the Kubernetes API server, for `treadle submit` tests.

No API server can run on the test machines, so this small HTTP server on 127.0.0.1
speaks the few paths `treadle submit` uses, the way the real server answers them:
API group discovery (`GET /apis/GROUP/VERSION`), server-side apply (`PATCH` with
`application/apply-patch+yaml`), create (`POST`, honouring `generateName`), list and watch
(`GET ...?watch=true`, one JSON event per line). It records every request, and a test
scripts what the runs do (the states a watch streams) and which requests fail (status
and the server's `Status` body). It is not a Kubernetes: no validation, no controllers.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

GROUPS = {"argoproj.io/v1alpha1": ["workflows", "workflowtemplates", "cronworkflows"],
          "tekton.dev/v1": ["tasks", "pipelines", "pipelineruns", "taskruns"]}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str | None
    body: dict | None


@dataclass
class Script:
    installed: set[str] = field(default_factory=lambda: set(GROUPS))  # group/version served
    failures: dict[tuple[str, str], tuple[int, str, str]] = field(default_factory=dict)  # (method, plural) -> status
    watch_states: list[dict] = field(default_factory=list)  # `status` of the run, one per watch event
    task_runs: list[list[dict]] = field(default_factory=list)  # TaskRun lists, one per list request


def status_body(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


class StandIn:
    def __init__(self) -> None:
        self.script = Script()
        self.requests: list[Request] = []
        self.objects: dict[str, dict] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "StandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def kubeconfig(self, folder, namespace: str = "ml") -> str:
        path = folder / "kubeconfig"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": self.url}}],
            "users": [{"name": "test", "user": {"token": "test-token"}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test", "namespace": namespace}}],
        }))
        return str(path)

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> Request:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                request = Request(self.command, parts.path, parse_qs(parts.query),
                                  self.headers.get("Content-Type"), body)
                standin.requests.append(request)
                return request

            def _route(self, request: Request):
                # /apis/GROUP/VERSION[/namespaces/NS/PLURAL[/NAME]]
                pieces = request.path.strip("/").split("/")
                if len(pieces) < 3 or pieces[0] != "apis":
                    return self._send(404, status_body(404, "NotFound", "the server could not find the requested resource"))
                group_version = f"{pieces[1]}/{pieces[2]}"
                if group_version not in standin.script.installed:
                    return self._send(404, status_body(404, "NotFound", "the server could not find the requested resource"))
                if len(pieces) == 3:
                    return self._send(200, {"kind": "APIResourceList", "groupVersion": group_version,
                                            "resources": [{"name": plural, "singularName": plural[:-1], "namespaced": True,
                                                           "kind": plural[:-1].capitalize(),
                                                           "verbs": ["create", "get", "list", "patch", "watch"]}
                                                          for plural in GROUPS[group_version]]})
                namespace, plural = pieces[4], pieces[5]
                failure = standin.script.failures.get((request.method, plural))
                if failure:
                    code, reason, message = failure
                    return self._send(code, status_body(code, reason, message))
                if request.method == "PATCH":
                    standin.objects[f"{plural}/{pieces[6]}"] = request.body
                    return self._send(200, request.body)
                if request.method == "POST":
                    created = json.loads(json.dumps(request.body))
                    metadata = created["metadata"]
                    metadata["name"] = metadata.pop("generateName", "") + "x7k2p" if "name" not in metadata else metadata["name"]
                    metadata["namespace"] = namespace
                    standin.objects[f"{plural}/{metadata['name']}"] = created
                    return self._send(201, created)
                if request.query.get("watch") == ["true"]:
                    return self._watch(plural, request)
                if plural == "taskruns":
                    items = standin.script.task_runs.pop(0) if standin.script.task_runs else []
                    return self._send(200, {"kind": "TaskRunList", "metadata": {"resourceVersion": "1"}, "items": items})
                return self._send(200, {"items": [], "metadata": {"resourceVersion": "1"}})

            def _watch(self, plural: str, request: Request) -> None:
                name = request.query["fieldSelector"][0].split("=", 1)[1]
                run = standin.objects[f"{plural}/{name}"]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()  # HTTP/1.0: the body ends when the connection closes
                for number, state in enumerate(standin.script.watch_states):
                    obj = {**run, "status": state,
                           "metadata": {**run["metadata"], "resourceVersion": str(number + 2)}}
                    event = {"type": "ADDED" if number == 0 else "MODIFIED", "object": obj}
                    self.wfile.write(json.dumps(event).encode() + b"\n")
                    self.wfile.flush()

            def do_GET(self) -> None:
                self._route(self._record())

            do_POST = do_PATCH = do_GET

        return Handler
