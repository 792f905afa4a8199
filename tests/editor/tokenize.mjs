// Tokenizes files with a TextMate grammar, as VS Code does (vscode-textmate over the
// Oniguruma regular expressions compiled to WebAssembly), and prints one JSON object:
// {"FILE": [[[start, end, [scopes...]], ...] for each line], ...}, columns 0-based.
//
// usage: node tokenize.mjs GRAMMAR.tmLanguage.json FILE...
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const textmate = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const [grammarPath, ...files] = process.argv.slice(2);
await oniguruma.loadWASM(fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")));
const registry = new textmate.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }),
  loadGrammar: async () => textmate.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath),
});
const raw = JSON.parse(fs.readFileSync(grammarPath, "utf8"));
const grammar = await registry.loadGrammar(raw.scopeName);

const result = {};
for (const file of files) {
  let state = textmate.INITIAL;
  const lines = [];
  for (const line of fs.readFileSync(file, "utf8").split(/\r?\n/)) {
    const tokenized = grammar.tokenizeLine(line, state);
    lines.push(tokenized.tokens.map((token) => [token.startIndex, token.endIndex, token.scopes]));
    state = tokenized.ruleStack;
  }
  result[file] = lines;
}
process.stdout.write(JSON.stringify(result));
