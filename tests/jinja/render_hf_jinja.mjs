// Second reference renderer for mxlm's Jinja tests: @huggingface/jinja, the engine transformers.js
// and the Hugging Face Hub use for chat templates. Same input and output files as
// render_jinja2.py (see there); the chat variables are built the same way.
// Usage: node render_hf_jinja.mjs IN.json OUT.json   (run from tests/node after npm install)
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.cwd() + "/");
const { Template } = require("@huggingface/jinja");

function chatContext(chat) {
  return {
    messages: chat.messages,
    tools: chat.tools ?? null,
    documents: chat.documents ?? null,
    add_generation_prompt: chat.add_generation_prompt ?? false,
    ...(chat.special_tokens ?? {}),
    ...(chat.kwargs ?? {}),
  };
}

const cases = JSON.parse(readFileSync(process.argv[2], "utf8")).cases;
const results = cases.map((c) => {
  try {
    const template = new Template(c.template);
    if (c.chat && c.chat.continue_final_message) throw new Error("continue_final_message is not modelled here");
    return { output: template.render(c.chat ? chatContext(c.chat) : (c.context ?? {})) };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e), type: "Error" };
  }
});
writeFileSync(process.argv[3], JSON.stringify(results));
