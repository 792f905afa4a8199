"""`treadle lsp`: the language server, over stdio, on pygls.

Diagnostics are checked on a worker thread that always takes the newest text of a
document: changes that arrive while a check runs replace each other, and a result that a
newer change made stale is never published. Requests (hover, definition, ...) run on
pygls' thread pool and share the checked results. The front end is not reentrant (one
parser, one transformer), so one lock serialises every use of it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import traceback
from functools import wraps

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ..diagnostics import Diagnostic, Severity
from ..source import SourceFile, Span
from ..version import treadle_version
from .analysis import Analysis, Completion, RenameRefused
from .positions import UTF16, from_position, span_range, to_units

_REQUEST_FAILED = -32803  # the LSP's RequestFailed: a request that is valid but cannot be done

_KINDS = {
    "component": types.CompletionItemKind.Function,
    "pipeline": types.CompletionItemKind.Module,
    "input": types.CompletionItemKind.Property,
    "output": types.CompletionItemKind.Field,
    "step": types.CompletionItemKind.Variable,
    "parameter": types.CompletionItemKind.Variable,
    "variable": types.CompletionItemKind.Variable,
    "let": types.CompletionItemKind.Constant,
    "keyword": types.CompletionItemKind.Keyword,
    "setting": types.CompletionItemKind.Property,
    "type": types.CompletionItemKind.TypeParameter,
}


def path_of(uri: str) -> str:
    """The file a document is, or its URI for one that is not a file (an untitled buffer)."""
    return to_fs_path(uri) or uri


QUIET_BEFORE_CHECK = 0.03  # seconds without a change before a check starts: keystrokes come faster


class TreadleServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("treadle", treadle_version(), text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.documents: dict[str, tuple[int | None, str]] = {}  # uri -> (version, text), as the client last sent
        self.open_paths: dict[str, str] = {}  # real path -> uri of open documents
        self.analyses: dict[str, Analysis] = {}  # uri -> the newest analysis made
        self.frontend_lock = threading.Lock()
        self.pending: dict[str, None] = {}  # uris waiting for diagnostics, in order
        self.wake = threading.Condition()
        self.worker: threading.Thread | None = None
        self.last_change = 0.0
        self.event_loop: asyncio.AbstractEventLoop | None = None
        # real path -> (its stat stamp, its text): closed files as last read from disk
        self.disk: dict[str, tuple[tuple[int, ...], str]] = {}

    # ------------------------------------------------------------ documents
    @property
    def encoding(self) -> str:
        try:
            return str(self.workspace.position_encoding or UTF16)
        except RuntimeError:  # no workspace before initialize
            return UTF16

    def read(self, path: str) -> SourceFile:
        """An imported file: the editor's text when it is open there, else the file on disk."""
        real = os.path.realpath(path)
        uri = self.open_paths.get(real)
        snapshot = self.documents.get(uri) if uri is not None else None
        if snapshot is not None:
            return SourceFile(path, snapshot[1])
        return SourceFile(path, self.disk_text(real))

    def disk_text(self, real: str) -> str:
        """A closed file's text on disk (by its real path), read again only when the file
        changed (its size, times or inode); OSError and UnicodeDecodeError as
        `SourceFile.read` raises them."""
        try:
            status = os.stat(real)
        except OSError:
            self.disk.pop(real, None)
            raise
        stamp = (status.st_mtime_ns, status.st_ctime_ns, status.st_size, status.st_ino)
        known = self.disk.get(real)
        if known is not None and known[0] == stamp:
            return known[1]
        text = SourceFile.read(real).text
        self.disk[real] = (stamp, text)
        return text

    def changed(self, uri: str, version: int | None, text: str) -> None:
        """A document's new text (called on the event loop): check it and every open document that imports it."""
        if self.event_loop is None:
            self.event_loop = asyncio.get_running_loop()
        self.documents[uri] = (version, text)
        self.open_paths[os.path.realpath(path_of(uri))] = uri
        self.schedule([uri, *self.dependents(uri)])

    def closed(self, uri: str) -> None:
        dependents = self.dependents(uri)
        self.documents.pop(uri, None)
        self.analyses.pop(uri, None)
        self.open_paths.pop(os.path.realpath(path_of(uri)), None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        for other in dependents:  # they read the file from disk now
            self.analyses.pop(other, None)
        self.schedule(dependents)

    def dependents(self, uri: str) -> list[str]:
        """Open documents whose last check read this one (or tried to)."""
        real = os.path.realpath(path_of(uri))
        return [other for other, analysis in list(self.analyses.items()) if other != uri and real in analysis.imported]

    def up_to_date(self, analysis: Analysis, text: str) -> bool:
        """Whether an analysis was made from this text and from the files it imports as they
        are now: the editor's text of open ones, the disk's of the others."""
        if analysis.source.text is not text and analysis.source.text != text:
            return False
        for real, imported in analysis.imported.items():
            uri = self.open_paths.get(real)
            snapshot = self.documents.get(uri) if uri is not None else None
            if snapshot is not None:
                current = snapshot[1]
            else:
                try:
                    current = self.disk_text(real)
                except (OSError, UnicodeDecodeError):
                    current = None  # unreadable now
            if current is not imported and current != imported:
                return False
        return True

    def files_changed(self, changes: list[types.FileEvent]) -> None:
        """Files changed on disk (the client's file watcher): check again the open documents
        that read them. A file created or deleted may be one that an import did not find, so
        then every open document is checked again. An open file's own text is the editor's."""
        if any(change.type != types.FileChangeType.Changed for change in changes):
            affected = list(self.documents)
            for uri in affected:
                self.analyses.pop(uri, None)
        else:
            affected = []
            for change in changes:
                if os.path.realpath(path_of(change.uri)) not in self.open_paths:
                    affected += [other for other in self.dependents(change.uri) if other not in affected]
        if affected:
            self.schedule(affected)

    def analysis(self, uri: str) -> Analysis | None:
        """The analysis of a document's newest text; the caller holds the front-end lock."""
        snapshot = self.documents.get(uri)
        if snapshot is None:
            return None
        current = self.analyses.get(uri)
        if current is None or not self.up_to_date(current, snapshot[1]):
            current = Analysis(path_of(uri), snapshot[1], self.read)
            self.analyses[uri] = current
        return current

    # ------------------------------------------------------------ diagnostics
    def schedule(self, uris: list[str]) -> None:
        with self.wake:
            for uri in uris:
                self.pending[uri] = None
            self.last_change = time.monotonic()
            self.wake.notify()
        if self.worker is None:
            self.worker = threading.Thread(target=self._work, name="treadle-diagnostics", daemon=True)
            self.worker.start()

    def _work(self) -> None:
        while True:
            with self.wake:
                while True:
                    if not self.pending:
                        self.wake.wait()
                        continue
                    # A check cannot be stopped once started: while changes keep coming
                    # (typing), wait for a short pause so that only the newest text is checked.
                    quiet_for = self.last_change + QUIET_BEFORE_CHECK - time.monotonic()
                    if quiet_for <= 0:
                        break
                    self.wake.wait(quiet_for)
                uri = next(iter(self.pending))
                del self.pending[uri]
            try:
                self._publish(uri)
            except Exception as error:  # a bug: the server logs it and carries on
                self.log_error("diagnostics", error)

    def _publish(self, uri: str) -> None:
        snapshot = self.documents.get(uri)
        if snapshot is None:
            return
        with self.frontend_lock:
            analysis = self.analysis(uri)
        if analysis is None or self.documents.get(uri) is not snapshot:
            return  # a newer text came in meanwhile; it is pending and will be published
        encoding = self.encoding
        items = [self.lsp_diagnostic(analysis, d, encoding) for d in analysis.diagnostics()]
        params = types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=snapshot[0])
        self.event_loop.call_soon_threadsafe(self._send_diagnostics, uri, snapshot, params)

    def _send_diagnostics(self, uri: str, snapshot, params) -> None:
        if self.documents.get(uri) is snapshot:
            self.text_document_publish_diagnostics(params)

    @staticmethod
    def lsp_diagnostic(analysis: Analysis, diagnostic: Diagnostic, encoding: str) -> types.Diagnostic:
        message = diagnostic.message if not diagnostic.hint else f"{diagnostic.message}\nhint: {diagnostic.hint}"
        severity = types.DiagnosticSeverity.Error if diagnostic.severity is Severity.ERROR else types.DiagnosticSeverity.Warning
        return types.Diagnostic(range=_range(analysis.source, diagnostic.span, encoding), message=message,
                                severity=severity, code=diagnostic.code, source="treadle")

    # ------------------------------------------------------------ requests
    def ask(self, uri: str, position: types.Position, question):
        """Answer a question about a position of a document from its newest analysis."""
        with self.frontend_lock:
            analysis = self.analysis(uri)
            if analysis is None:
                return None
            line, column = from_position(analysis.source, position.line, position.character, self.encoding)
            return question(analysis, line, column)

    def location(self, analysis: Analysis, span: Span) -> types.Location:
        source = analysis.source_of(span.path) or SourceFile(span.path, "")
        return types.Location(uri=self.uri_of(span.path), range=_range(source, span, self.encoding))

    def uri_of(self, path: str) -> str:
        return self.open_paths.get(os.path.realpath(path)) or from_fs_path(path) or path

    def log_error(self, where: str, error: Exception) -> None:
        """A bug in the server: one line in the client's log (the traceback under TREADLE_DEBUG), never a crash."""
        if os.environ.get("TREADLE_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        try:
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Error,
                message=f"treadle: internal error in {where}: {type(error).__name__}: {error} (a bug in treadle)"))
        except Exception:
            pass


def _range(source: SourceFile, span: Span, encoding: str) -> types.Range:
    (line, character), (end_line, end_character) = span_range(source, span, encoding)
    return types.Range(start=types.Position(line=line, character=character),
                       end=types.Position(line=end_line, character=end_character))


server = TreadleServer()


def _guarded(where: str):
    """Requests answer None on a bug instead of an error with a traceback; refusals pass through."""

    def decorate(handler):
        @wraps(handler)
        def run(ls: TreadleServer, params):
            try:
                return handler(ls, params)
            except JsonRpcException:
                raise
            except Exception as error:
                ls.log_error(where, error)
                return None

        return run

    return decorate


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@_guarded("didOpen")
def did_open(ls: TreadleServer, params: types.DidOpenTextDocumentParams) -> None:
    document = params.text_document
    ls.changed(document.uri, document.version, document.text)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
@_guarded("didChange")
def did_change(ls: TreadleServer, params: types.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)  # pygls applied the changes, full or incremental
    ls.changed(uri, params.text_document.version, document.source)


@server.feature(types.INITIALIZED)
@_guarded("initialized")
def initialized(ls: TreadleServer, params: types.InitializedParams) -> None:
    """Ask the client to report changes of .treadle files on disk, where it can: a closed
    file that an open one imports is read from disk."""
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace is not None else None
    if watched is not None and watched.dynamic_registration:
        ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
            id="treadle-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern="**/*.treadle")]))]))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@_guarded("didChangeWatchedFiles")
def did_change_watched_files(ls: TreadleServer, params: types.DidChangeWatchedFilesParams) -> None:
    ls.files_changed(params.changes)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
@_guarded("didClose")
def did_close(ls: TreadleServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.closed(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_HOVER)
@server.thread()
@_guarded("hover")
def hover(ls: TreadleServer, params: types.HoverParams) -> types.Hover | None:
    def answer(analysis: Analysis, line: int, column: int):
        found = analysis.hover(line, column)
        if found is None:
            return None
        text, span = found
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
                           range=_range(analysis.source, span, ls.encoding))

    return ls.ask(params.text_document.uri, params.position, answer)


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
@server.thread()
@_guarded("definition")
def definition(ls: TreadleServer, params: types.DefinitionParams) -> types.Location | None:
    def answer(analysis: Analysis, line: int, column: int):
        span = analysis.definition(line, column)
        return None if span is None else ls.location(analysis, span)

    return ls.ask(params.text_document.uri, params.position, answer)


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
@server.thread()
@_guarded("references")
def references(ls: TreadleServer, params: types.ReferenceParams) -> list[types.Location] | None:
    def answer(analysis: Analysis, line: int, column: int):
        spans = analysis.references(line, column, params.context.include_declaration)
        return [ls.location(analysis, span) for span in spans]

    return ls.ask(params.text_document.uri, params.position, answer)


def _completion_item(item: Completion) -> types.CompletionItem:
    documentation = types.MarkupContent(kind=types.MarkupKind.Markdown, value=item.documentation) if item.documentation else None
    return types.CompletionItem(label=item.label, kind=_KINDS.get(item.kind), detail=item.detail or None,
                                documentation=documentation, insert_text=item.insert_text)


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", "(", ","]))
@server.thread()
@_guarded("completion")
def completion(ls: TreadleServer, params: types.CompletionParams) -> types.CompletionList | None:
    def answer(analysis: Analysis, line: int, column: int):
        return types.CompletionList(is_incomplete=False,
                                    items=[_completion_item(item) for item in analysis.completions(line, column)])

    return ls.ask(params.text_document.uri, params.position, answer)


def _refused(error: RenameRefused) -> JsonRpcException:
    return JsonRpcException(message=str(error), code=_REQUEST_FAILED)


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
@server.thread()
@_guarded("prepareRename")
def prepare_rename(ls: TreadleServer, params: types.PrepareRenameParams) -> types.Range | None:
    def answer(analysis: Analysis, line: int, column: int):
        try:
            return _range(analysis.source, analysis.prepare_rename(line, column), ls.encoding)
        except RenameRefused as error:
            raise _refused(error) from None

    return ls.ask(params.text_document.uri, params.position, answer)


@server.feature(types.TEXT_DOCUMENT_RENAME, types.RenameOptions(prepare_provider=True))
@server.thread()
@_guarded("rename")
def rename(ls: TreadleServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    def answer(analysis: Analysis, line: int, column: int):
        try:
            edits = analysis.rename(line, column, params.new_name)
        except RenameRefused as error:
            raise _refused(error) from None
        changes = {}
        for path, spans in edits.items():
            source = analysis.source_of(path)
            changes[ls.uri_of(path)] = [types.TextEdit(range=_range(source, span, ls.encoding), new_text=params.new_name)
                                        for span in spans]
        return types.WorkspaceEdit(changes=changes)

    return ls.ask(params.text_document.uri, params.position, answer)


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
@server.thread()
@_guarded("formatting")
def formatting(ls: TreadleServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
    """`treadle fmt`'s layout as one edit of the whole document; none while it has syntax
    errors (the diagnostics already show them) or when it is formatted already."""
    from ..formatter import format_source

    uri = params.text_document.uri
    snapshot = ls.documents.get(uri)
    if snapshot is None:
        return None
    text = snapshot[1]
    with ls.frontend_lock:  # the parser is not reentrant
        formatted = format_source(text, path_of(uri)).text
    if formatted is None or formatted == text:
        return []
    lines = text.split("\n")
    end = types.Position(line=len(lines) - 1, character=to_units(lines[-1], len(lines[-1]) + 1, ls.encoding))
    return [types.TextEdit(range=types.Range(start=types.Position(line=0, character=0), end=end),
                           new_text=formatted)]


def serve() -> int:
    """Serve one client over stdin and stdout until it says exit."""
    server.start_io()
    return 0
