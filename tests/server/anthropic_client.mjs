// POST /v1/messages driven by the official Anthropic SDK (@anthropic-ai/sdk), as Claude Code and
// Anthropic-SDK agents drive it. The model is random, so the checks are on protocol and
// accounting: message shapes, the stream's event grammar, tool use round trips, usage against
// an independent count of the prompt, count_tokens, and errors raised as the SDK's typed errors.
// Usage (from tests/node): node ../server/anthropic_client.mjs with MXLM_URL, MXLM_KEY,
// MXLM_MODEL_ID set by tests/e2e/server_agents.sh.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { claudeCodeRequest } from "./claude_code_replay.mjs";
import { closingBias, expectedPromptTokens, idOf, runner } from "./prompt_reference.mjs";

const require = createRequire(process.cwd() + "/");
const sdk = require("@anthropic-ai/sdk");
const Anthropic = sdk.default;

const base = process.env.MXLM_URL, key = process.env.MXLM_KEY, model = process.env.MXLM_MODEL_ID;
const client = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 60000 });
const { test, run } = runner();

// How an Anthropic conversation reads as chat messages: system blocks and a turn's text blocks
// joined by blank lines, tool_use as tool calls, each tool_result as a tool message.
function chatMessages(system, messages) {
  const out = [];
  const text = (c) => (typeof c === "string" ? c : c.map((b) => b.text).join("\n\n"));
  if (system) out.push({ role: "system", content: text(system) });
  for (const m of messages) {
    if (typeof m.content === "string") {
      out.push({ role: m.role, content: m.content });
    } else if (m.role === "assistant") {
      const msg = { role: "assistant", content: m.content.filter((b) => b.type === "text").map((b) => b.text).join("") };
      const thinking = m.content.filter((b) => b.type === "thinking").map((b) => b.thinking).join("");
      if (thinking) msg.reasoning_content = thinking;
      const calls = m.content.filter((b) => b.type === "tool_use");
      if (calls.length) msg.tool_calls = calls.map((b) => ({ id: b.id, type: "function", function: { name: b.name, arguments: b.input } }));
      out.push(msg);
    } else {
      for (const b of m.content.filter((b) => b.type === "tool_result"))
        out.push({ role: "tool", tool_call_id: b.tool_use_id, content: (b.is_error ? "Error: " : "") + text(b.content ?? "") });
      const texts = m.content.filter((b) => b.type === "text");
      if (texts.length) out.push({ role: "user", content: text(texts) });
    }
  }
  return out;
}
const chatTools = (tools) => tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.input_schema } }));

const question = [{ role: "user", content: "Say hello in three languages." }];
const system = [{ type: "text", text: "You are a helpful assistant.", cache_control: { type: "ephemeral" } }];
const weather = [{ name: "get_weather", description: "The weather in a city",
                   input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
const promptOf = (usage) => usage.input_tokens + usage.cache_read_input_tokens;

// Checks the event grammar of a stream and returns its events: message_start first; blocks with
// indices 0, 1, ... each opened, given deltas of its own kind, and closed before the next opens;
// one message_delta, then message_stop last.
function checkEvents(events) {
  assert.equal(events[0].type, "message_start");
  assert.match(events[0].message.id, /^msg_/);
  assert.equal(events[0].message.model, model);
  assert.equal(events.at(-1).type, "message_stop");
  assert.equal(events.at(-2).type, "message_delta");
  let open = null, next = 0;
  const deltaKind = { text: "text_delta", thinking: "thinking_delta", tool_use: "input_json_delta" };
  for (const e of events.slice(1, -2)) {
    if (e.type === "ping") continue;
    if (e.type === "content_block_start") {
      assert.equal(open, null, "a block opens only after the previous one closed");
      assert.equal(e.index, next++);
      open = e;
    } else if (e.type === "content_block_delta") {
      assert.equal(e.index, open.index);
      assert.equal(e.delta.type, deltaKind[open.content_block.type]);
    } else {
      assert.equal(e.type, "content_block_stop", JSON.stringify(e));
      assert.equal(e.index, open.index);
      open = null;
    }
  }
  assert.equal(open, null, "every block is closed");
  return events;
}

test("messages.create: shape, usage against the template, max_tokens, cache reads", async () => {
  const r = await client.messages.create({ model, max_tokens: 6, system, messages: question });
  assert.match(r.id, /^msg_/);
  assert.equal(r.type, "message");
  assert.equal(r.role, "assistant");
  assert.equal(r.model, model);
  assert.equal(r.stop_reason, "max_tokens");
  assert.equal(r.stop_sequence, null);
  assert.ok(r.content.every((b) => b.type === "text"));
  assert.equal(r.usage.output_tokens, 6);
  // Without `thinking` the model does not think: the template's empty think block is there.
  assert.equal(promptOf(r.usage), expectedPromptTokens(chatMessages(system, question), { enableThinking: false }));
  const again = await client.messages.create({ model, max_tokens: 2, system, messages: question });
  assert.ok(again.usage.cache_read_input_tokens > 0, "the same prompt is read from the prompt cache");
  assert.equal(promptOf(again.usage), promptOf(r.usage));
});

test("stop_sequences end the turn with stop_reason stop_sequence", async () => {
  const r = await client.messages.create({ model, max_tokens: 30, messages: question, stop_sequences: ["{"],
                                           logit_bias: { [idOf("{")]: 100 } });
  assert.equal(r.stop_reason, "stop_sequence");
  assert.equal(r.stop_sequence, "{");
  assert.ok(r.content.every((b) => !b.text.includes("{")));
});

test("messages.stream: thinking then text blocks, SDK helpers agree with the events", async () => {
  // A bias opens the reasoning at once (the presence penalty keeps it from opening twice);
  // the budget then closes it and the answer follows.
  const params = { model, max_tokens: 16, messages: question, thinking: { type: "enabled", budget_tokens: 4 },
                   logit_bias: { [idOf("<think>")]: 30 }, presence_penalty: 60 };
  const stream = client.messages.stream(params);
  let text = "", thinking = "";
  stream.on("text", (delta) => (text += delta));
  stream.on("thinking", (delta) => (thinking += delta));
  const events = [];
  for await (const e of stream) events.push(e);
  const final = await stream.finalMessage();
  checkEvents(events);
  assert.deepEqual(final.content.map((b) => b.type), ["thinking", "text"]);
  assert.equal(final.content[0].thinking, thinking);
  assert.equal(final.content[1].text, text);
  assert.ok(thinking.length > 0 && text.length > 0);
  assert.equal(final.stop_reason, "max_tokens");
  assert.equal(final.usage.output_tokens, 16);
  assert.equal(promptOf(final.usage), expectedPromptTokens(chatMessages(null, question), { enableThinking: true }));
});

test("tool use round trip: a forced call as a tool_use block, its result sent back", async () => {
  const messages = [{ role: "user", content: "What is the weather like in Paris today? ".repeat(10) }];
  const params = { model, max_tokens: 40, messages, tools: weather, tool_choice: { type: "tool", name: "get_weather" },
                   logit_bias: closingBias(), presence_penalty: 60 };
  const r = await client.messages.create(params);
  assert.equal(r.stop_reason, "tool_use");
  const use = r.content.find((b) => b.type === "tool_use");
  assert.ok(use, JSON.stringify(r.content));
  assert.equal(use.name, "get_weather");
  assert.deepEqual(use.input, {});
  assert.equal(typeof use.id, "string");
  // Streamed, the call arrives as input_json_delta and the SDK parses it back.
  const stream = client.messages.stream(params);
  const events = [];
  for await (const e of stream) events.push(e);
  checkEvents(events);
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, "tool_use");
  const streamed = final.content.find((b) => b.type === "tool_use");
  assert.deepEqual(streamed.input, {});
  assert.ok(events.some((e) => e.delta?.type === "input_json_delta"));
  // The result goes back as a tool_result; the prompt holds the call and its result.
  const followUp = [...messages, { role: "assistant", content: r.content },
                    { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "18 °C, sunny" }] }];
  const next = await client.messages.create({ model, max_tokens: 3, messages: followUp, tools: weather });
  assert.equal(promptOf(next.usage), expectedPromptTokens(chatMessages(null, followUp), { tools: chatTools(weather), enableThinking: false }));
  const failed = structuredClone(followUp);
  failed[2].content[0] = { ...failed[2].content[0], content: [{ type: "text", text: "no such city" }], is_error: true };
  const errorTurn = await client.messages.create({ model, max_tokens: 3, messages: failed, tools: weather });
  assert.equal(promptOf(errorTurn.usage), expectedPromptTokens(chatMessages(null, failed), { tools: chatTools(weather), enableThinking: false }));
});

test("count_tokens counts what create would prompt", async () => {
  const body = { model, system, messages: question, tools: weather };
  const counted = await client.messages.countTokens(body);
  assert.equal(counted.input_tokens, expectedPromptTokens(chatMessages(system, question), { tools: chatTools(weather), enableThinking: false }));
  const r = await client.messages.create({ ...body, max_tokens: 1 });
  assert.equal(promptOf(r.usage), counted.input_tokens);
});

test("a Claude Code request (system blocks, 15 tools, replayed thinking and tool_use) streams well-formed", async () => {
  const body = claudeCodeRequest(model, 12);
  const res = await fetch(base + "/v1/messages", { method: "POST", body: JSON.stringify(body), headers: {
    "x-api-key": key, "anthropic-version": "2023-06-01", "anthropic-beta": "interleaved-thinking-2025-05-14",
    "content-type": "application/json" } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/event-stream/);
  // Parsed here from the bytes, not by the SDK: every event's name matches its data's type.
  const events = [];
  for (const frame of (await res.text()).split("\n\n").filter((f) => f.trim() && !f.startsWith(":"))) {
    const name = frame.match(/^event: (.+)$/m)[1];
    const data = JSON.parse(frame.match(/^data: (.+)$/m)[1]);
    assert.equal(data.type, name);
    events.push(data);
  }
  checkEvents(events);
  assert.deepEqual(events[0].message.content, [], "message_start has no content yet");
  assert.ok(events.some((e) => e.type === "ping"), "a ping (the SDK drops them)");
  const expected = expectedPromptTokens(chatMessages(body.system, body.messages), { tools: chatTools(body.tools), enableThinking: true });
  assert.equal(events[0].message.usage.input_tokens, expected);
  assert.equal(events.at(-2).usage.output_tokens, 12);
});

async function expectError(promise, type, status, check = () => {}) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, status);
    assert.equal(e.error?.type, "error", "an Anthropic error body");
    assert.equal(typeof e.error?.error?.message, "string");
    check(e.error.error);
    return;
  }
  assert.fail(`expected ${type.name}, the request succeeded`);
}

test("bad input: typed SDK errors in Anthropic's shape, the server fine after", async () => {
  const create = (p) => client.messages.create({ model, max_tokens: 4, messages: question, ...p });
  const invalid = (e) => assert.equal(e.type, "invalid_request_error");
  await expectError(create({ max_tokens: undefined }), sdk.BadRequestError, 400, (e) => assert.match(e.message, /max_tokens/));
  await expectError(create({ max_tokens: 0 }), sdk.BadRequestError, 400, invalid);
  await expectError(create({ temperature: 1.5 }), sdk.BadRequestError, 400, (e) => assert.match(e.message, /temperature/));
  await expectError(create({ messages: [] }), sdk.BadRequestError, 400, invalid);
  await expectError(create({ messages: [{ role: "system", content: "hi" }] }), sdk.BadRequestError, 400, invalid);
  await expectError(create({ messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "" } }] }] }),
                    sdk.BadRequestError, 400, (e) => assert.match(e.message, /image/));
  await expectError(create({ tools: weather, tool_choice: { type: "tool", name: "get_time" } }), sdk.BadRequestError, 400,
                    (e) => assert.match(e.message, /get_time/));
  await expectError(create({ tool_choice: { type: "sometimes" } }), sdk.BadRequestError, 400, invalid);
  await expectError(create({ thinking: { type: "enabled", budget_tokens: "lots" } }), sdk.BadRequestError, 400, invalid);
  await expectError(create({ model: "claude-opus-4-1" }), sdk.NotFoundError, 404, (e) => assert.equal(e.type, "not_found_error"));
  await expectError(client.messages.countTokens({ model, messages: "hi" }), sdk.BadRequestError, 400, invalid);
  const wrongKey = new Anthropic({ baseURL: base, apiKey: "wrong", maxRetries: 0 });
  await expectError(wrongKey.messages.create({ model, max_tokens: 1, messages: question }), sdk.AuthenticationError, 401,
                    (e) => assert.equal(e.type, "authentication_error"));
  const res = await fetch(base + "/v1/messages", { method: "POST", body: "{bad json", headers: { "x-api-key": key } });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.type, "invalid_request_error");
  const batches = await fetch(base + "/v1/messages/batches", { headers: { "x-api-key": key } });
  assert.equal(batches.status, 404);
  assert.equal((await batches.json()).error.type, "not_found_error");
  // A stream refused before it starts is a typed error too.
  await expectError(client.messages.stream({ model, max_tokens: 4, messages: question, top_k: -1 }).finalMessage(),
                    sdk.BadRequestError, 400, invalid);
  // Bearer works as well as x-api-key, and the server still answers.
  const bearer = new Anthropic({ baseURL: base, apiKey: null, authToken: key, maxRetries: 0 });
  assert.equal((await bearer.messages.create({ model, max_tokens: 1, messages: question })).type, "message");
});

process.exit((await run()) ? 1 : 0);
