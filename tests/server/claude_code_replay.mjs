// A request shaped like those Claude Code sends to POST /v1/messages: the system prompt as text
// blocks marked with cache_control, its built-in tools with draft-07 JSON schemas, user turns
// made of several text blocks (system reminders beside the prompt), a replayed assistant turn
// with a signed thinking block and a tool_use, the tool_result answering it, metadata.user_id,
// extended thinking, temperature 1 and a stream. Claude Code asks for 32000 tokens; callers
// lower max_tokens to keep a test short.

const schema = (properties, required) => ({
  type: "object", properties, required, additionalProperties: false, $schema: "http://json-schema.org/draft-07/schema#",
});
const str = (description) => ({ type: "string", description });

const tools = [
  ["Task", "Launch a new agent to handle complex, multi-step tasks autonomously.",
   schema({ description: str("A short (3-5 word) description of the task"), prompt: str("The task for the agent to perform"),
            subagent_type: str("The type of specialized agent to use for this task") }, ["description", "prompt", "subagent_type"])],
  ["Bash", "Executes a given bash command in a persistent shell session with optional timeout.",
   schema({ command: str("The command to execute"), timeout: { type: "number", description: "Optional timeout in milliseconds (max 600000)" },
            description: str("Clear, concise description of what this command does in 5-10 words"),
            run_in_background: { type: "boolean", description: "Set to true to run this command in the background." } }, ["command"])],
  ["Glob", "Fast file pattern matching tool that works with any codebase size.",
   schema({ pattern: str("The glob pattern to match files against"), path: str("The directory to search in.") }, ["pattern"])],
  ["Grep", "A powerful search tool built on ripgrep.",
   schema({ pattern: str("The regular expression pattern to search for in file contents"), path: str("File or directory to search in"),
            glob: str("Glob pattern to filter files"),
            output_mode: { type: "string", enum: ["content", "files_with_matches", "count"], description: "Output mode" },
            "-i": { type: "boolean", description: "Case insensitive search" },
            head_limit: { type: "number", description: "Limit output to first N lines/entries" } }, ["pattern"])],
  ["Read", "Reads a file from the local filesystem.",
   schema({ file_path: str("The absolute path to the file to read"), offset: { type: "number" }, limit: { type: "number" } }, ["file_path"])],
  ["Edit", "Performs exact string replacements in files.",
   schema({ file_path: str("The absolute path to the file to modify"), old_string: str("The text to replace"),
            new_string: str("The text to replace it with"), replace_all: { type: "boolean", default: false } },
          ["file_path", "old_string", "new_string"])],
  ["Write", "Writes a file to the local filesystem.",
   schema({ file_path: str("The absolute path to the file to write"), content: str("The content to write to the file") },
          ["file_path", "content"])],
  ["NotebookEdit", "Completely replaces the contents of a specific cell in a Jupyter notebook.",
   schema({ notebook_path: str("The absolute path to the Jupyter notebook file"), cell_id: str("The ID of the cell"),
            new_source: str("The new source for the cell"), cell_type: { type: "string", enum: ["code", "markdown"] },
            edit_mode: { type: "string", enum: ["replace", "insert", "delete"] } }, ["notebook_path", "new_source"])],
  ["WebFetch", "Fetches content from a specified URL and processes it using an AI model.",
   schema({ url: { type: "string", format: "uri", description: "The URL to fetch content from" },
            prompt: str("The prompt to run on the fetched content") }, ["url", "prompt"])],
  ["TodoWrite", "Use this tool to create and manage a structured task list for your current coding session.",
   schema({ todos: { type: "array", items: { type: "object", additionalProperties: false, required: ["content", "status", "activeForm"],
     properties: { content: { type: "string", minLength: 1 }, status: { type: "string", enum: ["pending", "in_progress", "completed"] },
                   activeForm: { type: "string", minLength: 1 } } }, description: "The updated todo list" } }, ["todos"])],
  ["WebSearch", "Allows Claude to search the web and use the results to inform responses.",
   schema({ query: { type: "string", minLength: 2 }, allowed_domains: { type: "array", items: { type: "string" } },
            blocked_domains: { type: "array", items: { type: "string" } } }, ["query"])],
  ["BashOutput", "Retrieves output from a running or completed background bash shell.",
   schema({ bash_id: str("The ID of the background shell"), filter: str("Optional regular expression to filter lines") }, ["bash_id"])],
  ["KillShell", "Kills a running background bash shell by its ID.", schema({ shell_id: str("The ID of the shell to kill") }, ["shell_id"])],
  ["ExitPlanMode", "Use this tool when you are in plan mode and have finished presenting your plan.",
   schema({ plan: str("The plan you came up with") }, ["plan"])],
  ["SlashCommand", "Execute a slash command within the main conversation.", schema({ command: str("The slash command to execute") }, ["command"])],
].map(([name, description, input_schema]) => ({ name, description, input_schema }));

const instructions = [
  "You are an interactive CLI tool that helps users with software engineering tasks.",
  "IMPORTANT: Assist with defensive security tasks only.",
  "# Tone and style\nYou should be concise, direct, and to the point.",
  "# Doing tasks\nThe user will primarily request you perform software engineering tasks.",
  "# Tool usage policy\nWhen doing file search, prefer to use the Task tool in order to reduce context usage.",
  "Here is useful information about the environment you are running in:\n<env>\nWorking directory: /home/user/project\n" +
    "Is directory a git repo: Yes\nPlatform: linux\n</env>",
].join("\n\n");

export function claudeCodeRequest(model, maxTokens) {
  return {
    model,
    max_tokens: maxTokens,
    temperature: 1,
    system: [
      { type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: "ephemeral" } },
      { type: "text", text: instructions, cache_control: { type: "ephemeral" } },
    ],
    messages: [
      { role: "user", content: [
        { type: "text", text: "<system-reminder>\nAs you answer the user's questions, you can use the following context: ...\n</system-reminder>" },
        { type: "text", text: "What files are in this directory?", cache_control: { type: "ephemeral" } },
      ] },
      { role: "assistant", content: [
        { type: "thinking", thinking: "The user wants a listing; Bash with ls is the quickest.",
          signature: "EqQBCkYIBRgCKkBv0dPRtJ8nNt7k0Hk2s3g0d8f9aXlIb2hDdfGgm3qz1" },
        { type: "text", text: "I'll list the directory." },
        { type: "tool_use", id: "toolu_01XFDUDYJgAACzvnptvVoYEL", name: "Bash", input: { command: "ls", description: "List files" } },
      ] },
      { role: "user", content: [
        { type: "tool_result", tool_use_id: "toolu_01XFDUDYJgAACzvnptvVoYEL", content: "README.md\nsrc\ntests", is_error: false },
        { type: "text", text: "<system-reminder>\nThe TodoWrite tool hasn't been used recently.\n</system-reminder>",
          cache_control: { type: "ephemeral" } },
      ] },
    ],
    tools,
    metadata: { user_id: "user_3f1e2d_account__session_6b0c9a51-2d1e-4c84-9d57-0f1b7b1c2e3a" },
    thinking: { type: "enabled", budget_tokens: 31999 },
    stream: true,
  };
}
