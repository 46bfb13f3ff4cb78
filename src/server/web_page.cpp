#include "server/web_page.h"

namespace mxlm::server {

// Kept as one raw string so the binary serves it with no files beside it. Plain DOM and fetch:
// the page reads the SSE stream itself (EventSource cannot POST).
static constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mxlm chat</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;background:#fafafa;color:#222}
#log .msg{margin:.6rem 0;padding:.6rem .8rem;border-radius:.5rem;white-space:pre-wrap;word-wrap:break-word}
.user{background:#dbeafe}.assistant{background:#fff;border:1px solid #ddd}
details{color:#666;font-size:.9em;margin-bottom:.3rem}summary{cursor:pointer}
form{display:flex;gap:.5rem;margin-top:1rem}textarea{flex:1;height:3.2rem;font:inherit}
#stats{color:#888;font-size:.8em;margin-top:.3rem}
</style></head><body>
<h3>mxlm chat <small id="model"></small></h3>
<div id="log"></div>
<form id="form"><textarea id="input" placeholder="Message (Enter sends, Shift+Enter new line)"></textarea>
<button id="send">Send</button></form><div id="stats"></div>
<script>
const messages = [];
const $ = (id) => document.getElementById(id);
// ?key= passes the API key; ?q= sends a first message on load and ?max_tokens= caps replies
// (both for tests and for links that open a chat).
const params = new URLSearchParams(location.search);
const key = params.get("key"), maxTokens = Number(params.get("max_tokens")) || undefined;
const headers = {"Content-Type": "application/json"};
if (key) headers.Authorization = "Bearer " + key;
fetch("/v1/models", {headers}).then(r => r.json()).then(j => { $("model").textContent = j.data[0].id; }).catch(() => {});
function bubble(role) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  $("log").appendChild(div);
  return div;
}
async function send(text) {
  messages.push({role: "user", content: text});
  bubble("user").textContent = text;
  const div = bubble("assistant");
  const details = document.createElement("details"), summary = document.createElement("summary");
  const thought = document.createElement("div"), answer = document.createElement("div");
  summary.textContent = "reasoning"; details.append(summary, thought); details.hidden = true;
  div.append(details, answer);
  const res = await fetch("/v1/chat/completions", {method: "POST", headers,
    body: JSON.stringify({messages, stream: true, stream_options: {include_usage: true}, max_tokens: maxTokens})});
  if (!res.ok) { answer.textContent = "error: " + (await res.text()); return; }
  const reader = res.body.getReader(), decoder = new TextDecoder();
  let buffer = "", content = "";
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const line = buffer.slice(0, end); buffer = buffer.slice(end + 2);
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const chunk = JSON.parse(line.slice(6));
      if (chunk.error) { answer.textContent += "\n[error: " + chunk.error.message + "]"; continue; }
      if (chunk.usage) $("stats").textContent = `${chunk.usage.prompt_tokens} prompt tokens ` +
        `(${chunk.usage.prompt_tokens_details.cached_tokens} cached), ${chunk.usage.completion_tokens} generated`;
      const delta = chunk.choices[0]?.delta || {};
      if (delta.reasoning_content) { details.hidden = false; thought.textContent += delta.reasoning_content; }
      if (chunk.choices[0]?.finish_reason) div.dataset.finish = chunk.choices[0].finish_reason;
      if (delta.content) { content += delta.content; answer.textContent = content; }
    }
  }
  messages.push({role: "assistant", content});
}
$("form").onsubmit = (e) => { e.preventDefault(); const t = $("input").value.trim(); $("input").value = ""; if (t) send(t); };
if (params.get("q")) send(params.get("q"));
$("input").onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form").requestSubmit(); } };
</script></body></html>
)HTML";

std::string_view web_page_html() { return kPage; }

}  // namespace mxlm::server
