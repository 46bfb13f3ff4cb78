// A Jinja2 template, parsed once and rendered any number of times (from any number of threads).
// It renders the way Hugging Face transformers renders chat templates: trim_blocks and
// lstrip_blocks on, loop controls enabled, transformers' tojson/raise_exception/strftime_now,
// and Python's semantics for values.
//
//   mxlm::jinja::Template t(source);            // throws TemplateError on a syntax error
//   std::string prompt = t.render(context);     // context: a JSON object of variables
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "jinja/evaluator.h"
#include "jinja/template_error.h"

namespace mxlm::jinja {

struct Program;

class Template {
 public:
  explicit Template(const std::string& source);

  // Renders with `context`'s members as variables. Throws TemplateError on a failure inside the
  // template (an undefined value used, a type error, raise_exception). Use ordered_json to keep
  // the key order of the input, which tojson reproduces.
  std::string render(const nlohmann::ordered_json& context, const RenderLimits& limits = {}) const;
  std::string render(const nlohmann::json& context, const RenderLimits& limits = {}) const;
  std::string render_values(const Dict& context, const RenderLimits& limits = {}) const;

 private:
  std::shared_ptr<const Program> program_;
};

}  // namespace mxlm::jinja
