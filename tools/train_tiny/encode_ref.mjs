// Encodes texts with @lenml/tokenizers (a port of transformers.js) as an independent reference
// for the Python BPE encoder: node encode_ref.mjs TOKENIZER_DIR TEXTS.json > IDS.json
// Needs `npm install` in tests/node.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(new URL("../../tests/node/package.json", import.meta.url));
const { TokenizerLoader } = require("@lenml/tokenizers");
const [dir, textsPath] = process.argv.slice(2);
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8")),
});
const texts = JSON.parse(readFileSync(textsPath, "utf8"));
const out = texts.map((t) => tok.encode(t, { add_special_tokens: false }));
process.stdout.write(JSON.stringify(out));
