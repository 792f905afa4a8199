// Starts `treadle lsp` (stdio) for .treadle files. Highlighting and editing rules come
// from the grammar files declared in package.json; everything else comes from the server.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("treadle").get("server.command");
  client = new LanguageClient(
    "treadle",
    "treadle language server",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "treadle" }, { scheme: "untitled", language: "treadle" }] },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
