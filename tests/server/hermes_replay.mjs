// Requests shaped like Hermes Agent's (NousResearch/hermes-agent, see
// ../shared/reference/hermes-agent-client.md): a long, byte-stable system prompt and a list of
// tool schemas that use JSON-Schema keywords (pattern, format, enum, nested objects, arrays)
// which some servers' grammar compilers reject.

const names = [
  ["terminal", "Run a shell command in the agent's sandbox and return its output."],
  ["process", "List, poll, wait for or kill background processes started by terminal."],
  ["read_file", "Read a text file with line numbers; large files are paginated."],
  ["write_file", "Create or overwrite a file with the given content."],
  ["patch", "Replace an exact string in a file; fails when the string is not unique."],
  ["search_files", "Search file contents with a regular expression, or find files by name."],
  ["web_search", "Search the web and return titles, URLs and snippets."],
  ["web_extract", "Fetch web pages and return their main text as markdown."],
  ["browser_navigate", "Open a URL in the headless browser."],
  ["browser_snapshot", "Return the accessibility tree of the current page."],
  ["browser_click", "Click the element with the given reference id."],
  ["browser_type", "Type text into an input element."],
  ["browser_scroll", "Scroll the page up or down."],
  ["browser_back", "Go back in the browser history."],
  ["browser_press", "Press a keyboard key."],
  ["browser_vision", "Describe a screenshot of the current page."],
  ["vision_analyze", "Analyze an image file or URL and answer a question about it."],
  ["image_generate", "Generate an image from a prompt."],
  ["text_to_speech", "Turn text into an audio file."],
  ["todo", "Read or update the session's task list."],
  ["memory", "Add, replace or remove entries of the persistent memory."],
  ["session_search", "Search past conversations for relevant context."],
  ["skills_list", "List installed skills with their descriptions."],
  ["skill_view", "Show the full instructions of a skill."],
  ["skill_manage", "Create, edit or delete a skill."],
  ["clarify", "Ask the user a clarifying question with optional choices."],
  ["execute_code", "Run a Python script that can call other tools programmatically."],
  ["delegate_task", "Spawn a sub-agent with its own context to work on a task."],
  ["cronjob", "Schedule, list or remove recurring jobs."],
  ["send_message", "Send a message to a connected messaging platform."],
  ["ha_call_service", "Call a Home Assistant service."],
  ["mixture_of_agents", "Ask several models and aggregate their answers."],
];

function parametersFor(name, i) {
  const properties = {
    path: { type: "string", description: "Path relative to the working directory.", pattern: "^[^\\0]+$" },
    command: { type: "string", description: "The command line to run." },
    url: { type: "string", format: "uri", description: "An absolute http(s) URL." },
    timeout: { type: "integer", minimum: 1, maximum: 3600, default: 180, description: "Seconds before giving up." },
    background: { type: "boolean", description: "Run without waiting for completion." },
    mode: { type: "string", enum: ["read", "write", "append"], description: "How to open the target." },
    pattern: { type: "string", description: "A regular expression (ripgrep syntax)." },
    old_string: { type: "string" },
    new_string: { type: "string" },
    limit: { type: "number", exclusiveMinimum: 0, description: "Maximum results." },
    options: {
      type: "object",
      description: "Advanced options.",
      properties: {
        email: { type: "string", format: "email" },
        when: { type: "string", format: "date-time" },
        tags: { type: "array", items: { type: "string", minLength: 1 }, maxItems: 8 },
      },
      additionalProperties: false,
    },
  };
  // Each tool takes a different, stable subset so the list is long and varied.
  const keys = Object.keys(properties).filter((_, k) => (k + i) % 3 !== 0 || k < 2);
  const chosen = Object.fromEntries(keys.map((k) => [k, properties[k]]));
  return { type: "object", properties: chosen, required: keys.slice(0, 1) };
}

// Hermes sends about 60 tools (8–15K tokens); the tests take fewer because prefill on the
// test machine is slow, and what they check does not depend on the count.
export function hermesTools(count = names.length) {
  return names.slice(0, count).map(([name, description], i) => ({
    type: "function",
    function: { name, description, parameters: parametersFor(name, i) },
  }));
}

export function hermesSystemPrompt() {
  const rules = [
    "You are Hermes Agent, an intelligent AI assistant created by Nous Research.",
    "You are helpful, knowledgeable, and direct. You assist users with a wide range of tasks.",
    "When a tool can answer a question more reliably than memory, call the tool.",
    "Prefer small, verifiable steps. After editing code, run the relevant tests.",
    "Never invent file contents; read files before patching them.",
    "Keep answers concise unless the user asks for detail.",
  ];
  const memory = Array.from({ length: 12 }, (_, i) => `- Memory note ${i + 1}: the user prefers tabs in Makefiles and spaces elsewhere (entry ${i}).`);
  const skills = names.slice(0, 16).map(([n, d]) => `- ${n}: ${d}`);
  return [
    ...rules,
    "",
    "## Memory",
    ...memory,
    "",
    "## Skills",
    ...skills,
    "",
    "Conversation started: Tuesday, March 03, 2026. Working directory: /home/user/project.",
  ].join("\n");
}
