// The grammar files live in the repository's grammar/ folder (they also ship in the
// Python wheel); an extension may only use files inside its own folder, so they are
// copied here on `npm install` and before packaging.
const fs = require("node:fs");
const path = require("node:path");

const source = path.join(__dirname, "..", "..", "grammar");
const target = path.join(__dirname, "syntaxes");
fs.mkdirSync(target, { recursive: true });
for (const name of ["treadle.tmLanguage.json", "language-configuration.json"]) {
  fs.copyFileSync(path.join(source, name), path.join(target, name));
}
