#!/usr/bin/python3
"""Reference renderer for mxlm's Jinja tests: Python Jinja2 set up the way Hugging Face
transformers renders chat templates (transformers/utils/chat_template_utils.py):
ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, a {% generation %}
tag that renders its body, tojson without ASCII escaping, raise_exception and strftime_now.

Usage: render_jinja2.py IN.json OUT.json
IN is {"cases": [...]}; each case is either
  {"template": SRC, "context": {...}}                     -- render with these variables, or
  {"template": SRC, "chat": {messages, tools, add_generation_prompt, kwargs, special_tokens,
                             continue_final_message}}      -- build the variables like
                                                               apply_chat_template does.
OUT is a list with {"output": TEXT} or {"error": MESSAGE, "type": EXCEPTION_CLASS} per case
(syntax errors add "line").
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(Extension):
    """{% generation %}...{% endgeneration %}: transformers uses it to mark assistant tokens;
    for plain rendering it outputs its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


def make_env():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def chat_context(chat):
    """The variables apply_chat_template passes to render()."""
    context = dict(
        messages=chat["messages"],
        tools=chat.get("tools"),
        documents=chat.get("documents"),
        add_generation_prompt=chat.get("add_generation_prompt", False),
    )
    context.update(chat.get("special_tokens", {}))
    context.update(chat.get("kwargs", {}))
    return context


def continue_final_message(rendered, messages):
    """transformers' continue_final_message post-processing."""
    final = messages[-1]["content"]
    if isinstance(final, (list, tuple)):
        for block in reversed(final):
            if "text" in block:
                final = block["text"]
                break
        else:
            raise ValueError("no text to continue in the final message")
    if final.strip() not in rendered:
        raise ValueError("final message does not appear in the chat")
    at = rendered.rindex(final.strip())
    if rendered[at:at + len(final.lstrip())] == final:
        return rendered[:at + len(final.lstrip())]
    return rendered[:at + len(final.strip())]


def render_case(env, compiled, case):
    try:
        source = case["template"]
        if source not in compiled:
            compiled[source] = env.from_string(source)
        template = compiled[source]
        if "chat" in case:
            chat = case["chat"]
            if chat.get("continue_final_message") and chat.get("add_generation_prompt"):
                raise ValueError("continue_final_message and add_generation_prompt are mutually exclusive")
            out = template.render(**chat_context(chat))
            if chat.get("continue_final_message"):
                out = continue_final_message(out, chat["messages"])
        else:
            out = template.render(**case.get("context", {}))
        return {"output": out}
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error": e.message, "type": type(e).__name__, "line": e.lineno}
    except Exception as e:  # every failure is a result the C++ engine must reproduce
        return {"error": str(e), "type": type(e).__name__}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    env = make_env()
    compiled = {}
    results = [render_case(env, compiled, case) for case in cases]
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
