#include "jinja/template.h"

#include "jinja/ast.h"
#include "jinja/parser.h"

namespace mxlm::jinja {

namespace {

template <typename Json>
Dict context_dict(const Json& context) {
  if (!context.is_object()) fail("template context must be a JSON object");
  Value v = from_json(context);
  return v.as_dict();
}

}  // namespace

Template::Template(const std::string& source) : program_(std::make_shared<const Program>(parse(source))) {}

std::string Template::render_values(const Dict& context, const RenderLimits& limits) const {
  Evaluator evaluator(context, limits);
  std::string out;
  evaluator.render(*program_, out);
  return out;
}

std::string Template::render(const nlohmann::ordered_json& context, const RenderLimits& limits) const {
  return render_values(context_dict(context), limits);
}

std::string Template::render(const nlohmann::json& context, const RenderLimits& limits) const {
  return render_values(context_dict(context), limits);
}

}  // namespace mxlm::jinja
