// POST /v1/responses driven by the official OpenAI SDK's Responses API, as Codex CLI and the
// OpenAI Agents SDK drive it. The model is random, so the checks are on protocol and accounting:
// response objects and output items, the typed stream events (whose order the SDK's own
// accumulator enforces), a function-call round trip, previous_response_id, usage against an
// independent count of the prompt, and errors.
// Usage (from tests/node): node ../server/responses_client.mjs with MXLM_URL, MXLM_KEY,
// MXLM_MODEL_ID set by tests/e2e/server_agents.sh.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { closingBias, expectedPromptTokens, idOf, runner } from "./prompt_reference.mjs";

const require = createRequire(process.cwd() + "/");
const { default: OpenAI } = require("openai");

const base = process.env.MXLM_URL, key = process.env.MXLM_KEY, model = process.env.MXLM_MODEL_ID;
const client = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 0, timeout: 60000 });
const { test, run } = runner();

const instructions = "You are a helpful assistant.";
const weather = [{ type: "function", name: "get_weather", description: "The weather in a city", strict: false,
                   parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
const chatTools = (tools) => tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.parameters } }));
// How output items read back as a chat turn: text, reasoning and calls of one assistant message.
function assistantOf(output) {
  const msg = { role: "assistant", content: output.filter((i) => i.type === "message").map((i) => i.content[0].text).join("") };
  const reasoning = output.filter((i) => i.type === "reasoning").map((i) => i.content[0].text).join("");
  if (reasoning) msg.reasoning_content = reasoning;
  const calls = output.filter((i) => i.type === "function_call");
  if (calls.length) msg.tool_calls = calls.map((c) => ({ id: c.call_id, type: "function", function: { name: c.name, arguments: JSON.parse(c.arguments) } }));
  return msg;
}

// Every event numbered from 0 in order, opened by response.created and closed by the final one.
function checkSequence(events, last) {
  events.forEach((e, i) => assert.equal(e.sequence_number, i, e.type));
  assert.equal(events[0].type, "response.created");
  assert.equal(events[0].response.status, "in_progress");
  assert.equal(events.at(-1).type, last);
}

test("responses.create: object, output items, usage against the template, status", async () => {
  const r = await client.responses.create({ model, instructions, input: "Say hello in three languages.", max_output_tokens: 6 });
  assert.match(r.id, /^resp_/);
  assert.equal(r.object, "response");
  assert.equal(r.model, model);
  assert.equal(r.status, "incomplete");
  assert.equal(r.incomplete_details.reason, "max_output_tokens");
  assert.equal(r.usage.output_tokens, 6);
  const messages = [{ role: "system", content: instructions }, { role: "user", content: "Say hello in three languages." }];
  assert.equal(r.usage.input_tokens, expectedPromptTokens(messages));
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + 6);
  assert.equal(typeof r.usage.input_tokens_details.cached_tokens, "number");
  for (const item of r.output) assert.ok(["reasoning", "message"].includes(item.type), item.type);
  const text = r.output.filter((i) => i.type === "message").map((i) => i.content[0].text).join("");
  assert.equal(r.output_text, text);
  const again = await client.responses.create({ model, instructions, input: "Say hello in three languages.", max_output_tokens: 1 });
  assert.ok(again.usage.input_tokens_details.cached_tokens > 0, "the same prompt is read from the prompt cache");
});

test("responses.stream: typed events in order, reasoning then text, the final response agrees", async () => {
  // A bias opens the reasoning at once; the presence penalty keeps it from opening twice.
  const stream = client.responses.stream({ model, input: "Why is the sky blue?", max_output_tokens: 12,
                                           reasoning: { effort: "high" }, logit_bias: { [idOf("<think>")]: 30 }, presence_penalty: 60 });
  const events = [];
  let text = "", reasoning = "";
  stream.on("response.output_text.delta", (e) => (text += e.delta));
  stream.on("response.reasoning_text.delta", (e) => (reasoning += e.delta));
  for await (const e of stream) events.push(e);
  const final = await stream.finalResponse();
  checkSequence(events, "response.incomplete");
  assert.ok(reasoning.length > 0, "reasoning was streamed");
  assert.equal(final.output[0].type, "reasoning");
  assert.equal(final.output[0].content[0].text, reasoning);
  assert.equal(final.output_text, text);
  assert.equal(final.usage.output_tokens, 12);
  const added = events.filter((e) => e.type === "response.output_item.added").map((e) => e.output_index);
  const done = events.filter((e) => e.type === "response.output_item.done").map((e) => e.output_index);
  assert.deepEqual(added, [...added.keys()]);
  assert.deepEqual(done, added);
  // Without reasoning asked for a short reply runs to response.completed.
  const short = client.responses.stream({ model, input: "Hi", max_output_tokens: 30, logit_bias: { [idOf("<|im_end|>")]: 30 } });
  const shortEvents = [];
  for await (const e of short) shortEvents.push(e);
  checkSequence(shortEvents, "response.completed");
  assert.equal((await short.finalResponse()).status, "completed");
});

test("function call round trip, streamed and not", async () => {
  const input = [{ role: "user", content: "What is the weather like in Paris today? ".repeat(10) }];
  const params = { model, input, max_output_tokens: 40, tools: weather, tool_choice: { type: "function", name: "get_weather" },
                   reasoning: { effort: "none" }, logit_bias: closingBias(), presence_penalty: 60 };
  const r = await client.responses.create(params);
  assert.equal(r.status, "completed");
  const call = r.output.find((i) => i.type === "function_call");
  assert.ok(call, JSON.stringify(r.output));
  assert.equal(call.name, "get_weather");
  assert.equal(call.arguments, "{}");
  assert.match(call.id, /^fc_/);
  assert.equal(typeof call.call_id, "string");
  const stream = client.responses.stream(params);
  const events = [];
  for await (const e of stream) events.push(e);
  checkSequence(events, "response.completed");
  assert.equal(events.filter((e) => e.type === "response.function_call_arguments.delta").map((e) => e.delta).join(""), "{}");
  const streamed = (await stream.finalResponse()).output.find((i) => i.type === "function_call");
  assert.equal(streamed.arguments, "{}");
  // The output goes back as input with the call's result.
  const followUp = [...input, ...r.output, { type: "function_call_output", call_id: call.call_id, output: "18 °C, sunny" }];
  const next = await client.responses.create({ model, input: followUp, tools: weather, max_output_tokens: 2, reasoning: { effort: "none" } });
  const messages = [...input, assistantOf(r.output), { role: "tool", tool_call_id: call.call_id, content: "18 °C, sunny" }];
  assert.equal(next.usage.input_tokens, expectedPromptTokens(messages, { tools: chatTools(weather), enableThinking: false }));
});

test("previous_response_id continues a stored response; store: false keeps none", async () => {
  const first = await client.responses.create({ model, instructions, input: "My name is Ada.", max_output_tokens: 5 });
  const second = await client.responses.create({ model, previous_response_id: first.id, input: [{ role: "user", content: "What is my name?" }],
                                                 max_output_tokens: 3 });
  assert.equal(second.previous_response_id, first.id);
  // The instructions are not carried over; the earlier turn and its reply are.
  const messages = [{ role: "user", content: "My name is Ada." }, assistantOf(first.output), { role: "user", content: "What is my name?" }];
  assert.equal(second.usage.input_tokens, expectedPromptTokens(messages));
  const third = await client.responses.create({ model, previous_response_id: second.id, input: "And again?", max_output_tokens: 1 });
  assert.ok(third.usage.input_tokens > second.usage.input_tokens);
  const unstored = await client.responses.create({ model, input: "Forget this.", max_output_tokens: 1, store: false });
  await expectError(client.responses.create({ model, previous_response_id: unstored.id, input: "Hi" }), 400,
                    (e) => assert.equal(e.param, "previous_response_id"));
});

test("text.format json_object guides the output", async () => {
  // A bias makes the model write "hello" everywhere; a JSON document cannot start with it.
  const ask = (extra) => client.responses.create({ model, input: "Answer in JSON.", max_output_tokens: 8,
                                                   reasoning: { effort: "none" }, logit_bias: { [idOf("hello")]: 100 }, ...extra });
  assert.match((await ask({})).output_text, /hello/);
  const guided = await ask({ text: { format: { type: "json_object" } } });
  assert.doesNotMatch(guided.output_text, /hello/);
  assert.deepEqual(guided.text.format, { type: "json_object" });
});

async function expectError(promise, status, check = () => {}) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.status, status, `expected HTTP ${status}, got ${e.status}: ${e.message}`);
    assert.equal(typeof e.error?.message, "string", "an OpenAI error object with a message");
    check(e.error);
    return;
  }
  assert.fail(`expected HTTP ${status}, the request succeeded`);
}

test("bad input gets OpenAI errors, the server fine after", async () => {
  const create = (p) => client.responses.create({ model, input: "Hi", max_output_tokens: 2, ...p });
  await expectError(create({ input: undefined }), 400, (e) => assert.equal(e.param, "input"));
  await expectError(create({ input: 42 }), 400, (e) => assert.equal(e.param, "input"));
  await expectError(create({ input: [{ type: "item_reference", id: "x" }] }), 400, (e) => assert.match(e.message, /item_reference/));
  await expectError(create({ input: [{ role: "user", content: [{ type: "input_image", image_url: "http://x/y.png" }] }] }), 400,
                    (e) => assert.match(e.message, /input_image/));
  await expectError(create({ temperature: "hot" }), 400, (e) => assert.equal(e.param, "temperature"));
  await expectError(create({ max_output_tokens: 0 }), 400, (e) => assert.equal(e.param, "max_output_tokens"));
  await expectError(create({ tool_choice: "required" }), 400, (e) => assert.equal(e.param, "tool_choice"));
  await expectError(create({ text: { format: { type: "xml" } } }), 400);
  await expectError(create({ previous_response_id: "resp_nope" }), 400, (e) => assert.equal(e.param, "previous_response_id"));
  await expectError(create({ model: "gpt-5" }), 404, (e) => assert.equal(e.code, "model_not_found"));
  const wrongKey = new OpenAI({ baseURL: base + "/v1", apiKey: "wrong", maxRetries: 0 });
  await expectError(wrongKey.responses.create({ model, input: "Hi" }), 401);
  const res = await fetch(base + "/v1/responses", { method: "POST", body: "[1]", headers: { Authorization: `Bearer ${key}` } });
  assert.equal(res.status, 400);
  assert.equal(typeof (await res.json()).error.message, "string");
  assert.equal((await create({})).object, "response");
});

process.exit((await run()) ? 1 : 0);
