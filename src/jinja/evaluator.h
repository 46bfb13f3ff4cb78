// Renders a parsed Program. Scoping follows Jinja2: each for-loop iteration and each macro call
// gets a fresh scope whose parent is where the loop or macro is written, so `set` inside a loop
// never leaks out (templates carry state across iterations with namespace()).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinja/ast.h"
#include "jinja/value.h"

namespace mxlm::jinja {

// Bounds on one render, so that a hostile template cannot run forever or exhaust memory.
struct RenderLimits {
  int64_t max_steps = 50'000'000;      // loop iterations plus macro calls
  size_t max_output = size_t(1) << 28;  // bytes of any one string built
  int max_call_depth = 200;             // nested macro calls
};

class Scope {
 public:
  explicit Scope(std::shared_ptr<Scope> parent) : parent_(std::move(parent)) { vars_.reserve(4); }
  const Value* find(std::string_view name) const;
  void set(std::string_view name, Value value);
  const std::shared_ptr<Scope>& parent() const { return parent_; }

 private:
  std::vector<std::pair<std::string, Value>> vars_;
  std::shared_ptr<Scope> parent_;
};

class Evaluator {
 public:
  Evaluator(const Dict& context, const RenderLimits& limits);
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // Namespaces are the only mutable values, so the only way to build a reference cycle
  // ({% set ns.self = ns %}); the evaluator empties every one it made when the render ends.
  Value make_namespace(std::shared_ptr<Dict> dict);

  void render(const Program& program, std::string& out);

  // For built-ins that call back into the language.
  Value call(const Value& callee, const Args& args);
  const RenderLimits& limits() const { return limits_; }
  void check_size(size_t bytes) const;

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow render_body(const Body& body, std::string& out);
  Flow render_stmt(const Stmt& stmt, std::string& out);
  void render_for(const ForStmt& s, std::string& out);
  void render_macro_def(const MacroStmt& s);
  void render_call_block(const CallBlockStmt& s, std::string& out);
  void assign(const Target& target, Value value);
  Value apply_filters(const std::vector<std::unique_ptr<FilterExpr>>& filters, Value value);

  Value eval(const Expr& e);
  Value eval_inner(const Expr& e);
  Value eval_call(const Call& c);
  Value eval_filter(const FilterExpr& f, Value operand);
  Args eval_args(const std::vector<Argument>& args);
  Value lookup(const std::string& name) const;
  Value make_macro(const std::string& name, const std::vector<Parameter>* params, const Body* body);
  Value call_macro(const std::string& name, const std::vector<Parameter>& params, const Body& body,
                   const std::weak_ptr<Scope>& defined_in, const Args& args, const Value& caller);
  void step(Position pos);

  std::vector<std::weak_ptr<Dict>> namespaces_;
  const Dict& context_;
  RenderLimits limits_;
  std::shared_ptr<Scope> root_;
  std::shared_ptr<Scope> scope_;
  int64_t steps_ = 0;
  int call_depth_ = 0;
  size_t loop_depth_ = 0;
};

// Attribute and item access with Jinja2's fallbacks: `a.b` tries the attribute then the key,
// `a[b]` the key then the attribute, and a miss gives undefined (never an error, except on an
// undefined object).
Value get_attribute(const Value& object, std::string_view name);
Value get_item(const Value& object, const Value& key);
// The items a for loop visits: a list's elements, a dict's keys, a string's characters.
std::shared_ptr<const List> iterate(const Value& v);
// `needle in haystack`.
bool contains(const Value& haystack, const Value& needle);

}  // namespace mxlm::jinja
