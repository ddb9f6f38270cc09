// Validate an AsyncAPI document with the official parser (@asyncapi/parser): prints one JSON
// line per diagnostic (severity 0 error, 1 warning, 2 information, 3 hint) and exits 0;
// exit 2 when the document cannot be read. Used by tests/e2e/test_asyncapi_document.py.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
let text;
try {
  text = await readFile(path, "utf8");
} catch (error) {
  console.error(`cannot read ${path}: ${error.message}`);
  process.exit(2);
}
const diagnostics = await new Parser().validate(text, { source: path });
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
}
