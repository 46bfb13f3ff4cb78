#include "jinja/evaluator.h"

#include "jinja/builtins.h"
#include "jinja/operators.h"
#include "jinja/template_error.h"
#include "jinja/text.h"

namespace mxlm::jinja {

// ---- scopes ----

const Value* Scope::find(std::string_view name) const {
  for (const Scope* s = this; s; s = s->parent_.get())
    for (const auto& [k, v] : s->vars_)
      if (k == name) return &v;
  return nullptr;
}

void Scope::set(std::string_view name, Value value) {
  for (auto& [k, v] : vars_)
    if (k == name) {
      v = std::move(value);
      return;
    }
  vars_.emplace_back(std::string(name), std::move(value));
}

// ---- access ----

namespace {

Value loop_attribute(const LoopState& loop, std::string_view name) {
  const size_t n = loop.items->size(), i = loop.index;
  if (name == "index") return Value(int64_t(i + 1));
  if (name == "index0") return Value(int64_t(i));
  if (name == "revindex") return Value(int64_t(n - i));
  if (name == "revindex0") return Value(int64_t(n - i - 1));
  if (name == "first") return Value(i == 0);
  if (name == "last") return Value(i + 1 == n);
  if (name == "length") return Value(int64_t(n));
  if (name == "depth") return Value(int64_t(loop.depth));
  if (name == "depth0") return Value(int64_t(loop.depth - 1));
  if (name == "previtem") return i > 0 ? (*loop.items)[i - 1] : Value::undefined("there is no previous item");
  if (name == "nextitem") return i + 1 < n ? (*loop.items)[i + 1] : Value::undefined("there is no next item");
  return Value::undefined(fmt::format("'LoopContext' object has no attribute '{}'", name));
}

std::shared_ptr<const Callable> loop_method(const Value& loop_value, std::string_view name) {
  LoopState& loop = loop_value.as_loop();
  if (name == "cycle") {
    return std::make_shared<Callable>(Callable{"cycle", [&loop, keep = loop_value](Evaluator&, Args& args) {
      if (args.positional.empty()) fail("no items for cycling given");
      return args.positional[loop.index % args.positional.size()];
    }});
  }
  if (name == "changed") {
    return std::make_shared<Callable>(Callable{"changed", [&loop, keep = loop_value](Evaluator&, Args& args) {
      Value now(List(args.positional));
      const bool changed = !loop.changed_called || !equals(now, loop.last_changed);
      loop.changed_called = true;
      loop.last_changed = std::move(now);
      return Value(changed);
    }});
  }
  return nullptr;
}

Value bound_method(const Value& object, std::string_view name) {
  return Value(std::make_shared<const Callable>(Callable{
      std::string(name), [object, method = std::string(name)](Evaluator& ev, Args& args) {
        bool found = false;
        return call_method(ev, object, method, args, found);
      }}));
}

[[noreturn]] void fail_undefined(const Value& v) {
  fail("{}", v.undefined_hint().empty() ? std::string("value is undefined") : v.undefined_hint());
}

const char* object_name(const Value& v) {
  switch (v.kind()) {
    case Kind::kDict: return "dict object";
    case Kind::kList: return "list object";
    case Kind::kTuple: return "tuple object";
    case Kind::kString: return "str object";
    case Kind::kNone: return "None";
    default: return v.type_name();
  }
}

}  // namespace

Value get_attribute(const Value& object, std::string_view name) {
  switch (object.kind()) {
    case Kind::kUndefined: fail_undefined(object);
    case Kind::kDict:
      if (has_method(object, name)) return bound_method(object, name);
      if (const Value* v = object.as_dict().find(name)) return *v;
      break;
    case Kind::kNamespace:
      if (const Value* v = object.as_namespace().find(name)) return *v;
      break;
    case Kind::kLoop:
      if (auto m = loop_method(object, name)) return Value(std::move(m));
      return loop_attribute(object.as_loop(), name);
    case Kind::kString:
    case Kind::kList:
    case Kind::kTuple:
      if (has_method(object, name)) return bound_method(object, name);
      break;
    default: break;
  }
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", object_name(object), name));
}

Value get_item(const Value& object, const Value& key) {
  switch (object.kind()) {
    case Kind::kUndefined: fail_undefined(object);
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kString:
      if (key.is_int() || key.is_bool()) {
        if (object.is_string()) {
          const std::string& s = object.as_string();
          if (text::is_ascii(s)) {
            int64_t i = key.as_int();
            if (i < 0) i += int64_t(s.size());
            if (i >= 0 && i < int64_t(s.size())) return Value(std::string(1, s[size_t(i)]));
          } else {
            const std::u32string u = text::decode(s);
            int64_t i = key.as_int();
            if (i < 0) i += int64_t(u.size());
            if (i >= 0 && i < int64_t(u.size())) return Value(text::encode(u.substr(size_t(i), 1)));
          }
        } else {
          const List& items = object.as_list();
          int64_t i = key.as_int();
          if (i < 0) i += int64_t(items.size());
          if (i >= 0 && i < int64_t(items.size())) return items[size_t(i)];
        }
        return Value::undefined(fmt::format("{} index out of range", object.type_name()));
      }
      break;
    case Kind::kDict:
      if (const Value* v = object.as_dict().find(key)) return *v;
      break;
    case Kind::kNamespace:
      if (const Value* v = object.as_namespace().find(key)) return *v;
      break;
    default: break;
  }
  if (key.is_string()) return get_attribute(object, key.as_string());
  return Value::undefined(fmt::format("'{}' has no item {}", object_name(object), repr(key)));
}

std::shared_ptr<const List> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kList:
    case Kind::kTuple: return v.list_ptr();
    case Kind::kUndefined: return std::make_shared<const List>();
    case Kind::kDict: {
      List keys;
      keys.reserve(v.as_dict().items.size());
      for (const auto& kv : v.as_dict().items) keys.push_back(kv.first);
      return std::make_shared<const List>(std::move(keys));
    }
    case Kind::kString: {
      List chars;
      const std::string& s = v.as_string();
      if (text::is_ascii(s)) {
        for (char c : s) chars.emplace_back(std::string(1, c));
      } else {
        for (char32_t c : text::decode(s)) chars.emplace_back(text::encode(std::u32string(1, c)));
      }
      return std::make_shared<const List>(std::move(chars));
    }
    default: fail("'{}' object is not iterable", v.type_name());
  }
}

bool contains(const Value& haystack, const Value& needle) {
  switch (haystack.kind()) {
    case Kind::kString:
      if (!needle.is_string())
        fail("'in <string>' requires string as left operand, not {}", needle.type_name());
      return haystack.as_string().find(needle.as_string()) != std::string::npos;
    case Kind::kList:
    case Kind::kTuple:
      for (const Value& v : haystack.as_list())
        if (equals(v, needle)) return true;
      return false;
    case Kind::kDict: return haystack.as_dict().find(needle) != nullptr;
    case Kind::kUndefined: return false;
    default: fail("argument of type '{}' is not iterable", haystack.type_name());
  }
}

// ---- evaluator ----

namespace {

// Runs `f`, turning a failure without a template position into a TemplateError at `pos`: the
// innermost expression or statement that knows its position names it. Exceptions from the
// standard library (a number too large for stoll) count as template errors too.
template <typename F>
auto located(Position pos, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const TemplateError&) {
    throw;
  } catch (const RaisedException& e) {
    throw TemplateError(pos.line, pos.column, e.what(), /*raised=*/true);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw TemplateError(pos.line, pos.column, e.what());
  }
}

}  // namespace

Evaluator::Evaluator(const Dict& context, const RenderLimits& limits)
    : context_(context), limits_(limits), root_(std::make_shared<Scope>(nullptr)), scope_(root_) {}

Evaluator::~Evaluator() {
  for (const auto& weak : namespaces_) {
    if (auto ns = weak.lock()) {
      auto items = std::move(ns->items);  // destroyed after ns no longer points at them
      ns->items.clear();
    }
  }
}

Value Evaluator::make_namespace(std::shared_ptr<Dict> dict) {
  namespaces_.push_back(dict);
  return Value::namespace_(std::move(dict));
}

void Evaluator::render(const Program& program, std::string& out) { render_body(program.body, out); }

void Evaluator::step(Position pos) {
  if (++steps_ > limits_.max_steps)
    throw TemplateError(pos.line, pos.column, fmt::format("template exceeded {} loop iterations and calls", limits_.max_steps));
}

void Evaluator::check_size(size_t bytes) const {
  if (bytes > limits_.max_output) fail("template output exceeds {} bytes", limits_.max_output);
}

// Swaps in a scope for a block and restores the previous one however the block ends.
class ScopeGuard {
 public:
  ScopeGuard(std::shared_ptr<Scope>& slot, std::shared_ptr<Scope> next) : slot_(slot), saved_(std::move(slot)) {
    slot_ = std::move(next);
  }
  ~ScopeGuard() { slot_ = std::move(saved_); }
  const std::shared_ptr<Scope>& saved() const { return saved_; }

 private:
  std::shared_ptr<Scope>& slot_;
  std::shared_ptr<Scope> saved_;
};

Evaluator::Flow Evaluator::render_body(const Body& body, std::string& out) {
  for (const StmtPtr& s : body) {
    const Flow flow = located(s->pos, [&] { return render_stmt(*s, out); });
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Evaluator::Flow Evaluator::render_stmt(const Stmt& stmt, std::string& out) {
  switch (stmt.kind) {
    case StmtKind::kText:
      out += static_cast<const TextStmt&>(stmt).text;
      break;
    case StmtKind::kOutput:
      append_str(out, eval(*static_cast<const OutputStmt&>(stmt).expr));
      if (out.size() > limits_.max_output)
        throw TemplateError(stmt.pos.line, stmt.pos.column, fmt::format("template output exceeds {} bytes", limits_.max_output));
      break;
    case StmtKind::kIf: {
      const auto& s = static_cast<const IfStmt&>(stmt);
      for (const auto& [test, body] : s.branches)
        if (eval(*test).truthy()) return render_body(body, out);
      return render_body(s.otherwise, out);
    }
    case StmtKind::kFor: render_for(static_cast<const ForStmt&>(stmt), out); break;
    case StmtKind::kSet: {
      const auto& s = static_cast<const SetStmt&>(stmt);
      assign(s.target, eval(*s.value));
      break;
    }
    case StmtKind::kSetBlock: {
      const auto& s = static_cast<const SetBlockStmt&>(stmt);
      std::string captured;
      render_body(s.body, captured);
      assign(s.target, apply_filters(s.filters, Value(std::move(captured))));
      break;
    }
    case StmtKind::kMacro: render_macro_def(static_cast<const MacroStmt&>(stmt)); break;
    case StmtKind::kCallBlock: render_call_block(static_cast<const CallBlockStmt&>(stmt), out); break;
    case StmtKind::kFilterBlock: {
      const auto& s = static_cast<const FilterBlockStmt&>(stmt);
      std::string captured;
      render_body(s.body, captured);
      append_str(out, apply_filters(s.filters, Value(std::move(captured))));
      break;
    }
    case StmtKind::kWith: {
      const auto& s = static_cast<const WithStmt&>(stmt);
      std::vector<Value> values;
      for (const auto& a : s.assignments) values.push_back(eval(*a.second));
      ScopeGuard guard(scope_, std::make_shared<Scope>(scope_));
      for (size_t i = 0; i < values.size(); ++i) assign(s.assignments[i].first, std::move(values[i]));
      return render_body(s.body, out);
    }
    case StmtKind::kScope: return render_body(static_cast<const ScopeStmt&>(stmt).body, out);
    case StmtKind::kBreak: return Flow::kBreak;
    case StmtKind::kContinue: return Flow::kContinue;
  }
  return Flow::kNormal;
}

void Evaluator::assign(const Target& target, Value value) {
  located(target.pos, [&] {
    if (!target.attribute.empty()) {
      const Value* ns = scope_->find(target.names[0]);
      if (!ns) ns = context_.find(target.names[0]);
      if (!ns || !ns->is_namespace()) fail("cannot assign attribute on non-namespace object");
      ns->as_namespace().set(Value(target.attribute), std::move(value));
      return;
    }
    if (!target.unpack) {
      scope_->set(target.names[0], std::move(value));
      return;
    }
    const auto items = iterate(value);
    if (items->size() != target.names.size())
      fail("{} values to unpack (expected {}, got {})", items->size() < target.names.size() ? "not enough" : "too many",
           target.names.size(), items->size());
    for (size_t i = 0; i < items->size(); ++i) scope_->set(target.names[i], (*items)[i]);
  });
}

Value Evaluator::apply_filters(const std::vector<std::unique_ptr<FilterExpr>>& filters, Value value) {
  for (const auto& f : filters) value = eval_filter(*f, std::move(value));
  return value;
}

void Evaluator::render_for(const ForStmt& s, std::string& out) {
  std::shared_ptr<const List> items = located(s.iterable->pos, [&] { return iterate(eval(*s.iterable)); });
  if (s.filter) {
    List kept;
    for (const Value& item : *items) {
      step(s.pos);
      ScopeGuard guard(scope_, std::make_shared<Scope>(scope_));
      assign(s.target, item);
      if (eval(*s.filter).truthy()) kept.push_back(item);
    }
    items = std::make_shared<const List>(std::move(kept));
  }
  if (items->empty()) {
    render_body(s.otherwise, out);
    return;
  }
  auto loop = std::make_shared<LoopState>();
  loop->items = items;
  loop->depth = ++loop_depth_;
  const Value loop_value(loop);
  for (size_t i = 0; i < items->size(); ++i) {
    step(s.pos);
    loop->index = i;
    ScopeGuard guard(scope_, std::make_shared<Scope>(scope_));
    scope_->set("loop", loop_value);
    assign(s.target, (*items)[i]);
    if (render_body(s.body, out) == Flow::kBreak) break;
  }
  --loop_depth_;
}

Value Evaluator::make_macro(const std::string& name, const std::vector<Parameter>* params, const Body* body) {
  std::weak_ptr<Scope> defined_in = scope_;
  return Value(std::make_shared<const Callable>(Callable{
      name, [name, params, body, defined_in](Evaluator& ev, Args& args) {
        const Value* caller = args.find_keyword("caller");
        return ev.call_macro(name, *params, *body, defined_in, args, caller ? *caller : Value());
      }}));
}

void Evaluator::render_macro_def(const MacroStmt& s) { scope_->set(s.name, make_macro(s.name, &s.params, &s.body)); }

Value Evaluator::call_macro(const std::string& /*name*/, const std::vector<Parameter>& params, const Body& body,
                            const std::weak_ptr<Scope>& defined_in, const Args& args, const Value& caller) {
  // A plain Error: the call expression around this adds its position.
  if (++steps_ > limits_.max_steps) fail("template exceeded {} loop iterations and calls", limits_.max_steps);
  if (++call_depth_ > limits_.max_call_depth) {
    --call_depth_;
    fail("macro calls nested deeper than {}", limits_.max_call_depth);
  }
  struct DepthRestore {
    int& d;
    ~DepthRestore() { --d; }
  } restore{call_depth_};
  // A macro sees the scope it was written in; if that is gone (a macro smuggled out of a loop
  // through a namespace), it sees the template's top level.
  std::shared_ptr<Scope> parent = defined_in.lock();
  auto scope = std::make_shared<Scope>(parent ? parent : root_);
  List varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < params.size()) scope->set(params[i].name, args.positional[i]);
    else varargs.push_back(args.positional[i]);
  }
  auto kwargs = std::make_shared<Dict>();
  for (const auto& [k, v] : args.keyword) {
    if (k == "caller") continue;
    bool is_param = false;
    for (const auto& p : params) is_param |= p.name == k;
    if (is_param) scope->set(k, v);
    else kwargs->set(Value(k), v);
  }
  ScopeGuard guard(scope_, scope);
  for (size_t i = args.positional.size(); i < params.size(); ++i) {
    if (args.find_keyword(params[i].name)) continue;
    scope->set(params[i].name, params[i].fallback ? eval(*params[i].fallback)
                                                  : Value::undefined(fmt::format("parameter '{}' was not provided", params[i].name)));
  }
  scope->set("varargs", Value(std::move(varargs), /*tuple=*/true));
  scope->set("kwargs", Value(std::shared_ptr<const Dict>(std::move(kwargs))));
  if (!caller.is_undefined()) scope->set("caller", caller);
  std::string out;
  const int saved_loop_depth = int(loop_depth_);
  loop_depth_ = 0;
  render_body(body, out);
  loop_depth_ = size_t(saved_loop_depth);
  return Value(std::move(out));
}

void Evaluator::render_call_block(const CallBlockStmt& s, std::string& out) {
  const Value caller = make_macro("caller", &s.params, &s.body);
  Args args = eval_args(s.call->args);
  args.keyword.emplace_back("caller", caller);
  Value callee = eval(*s.call->callee);
  located(s.pos, [&] { append_str(out, call(callee, args)); });
}

Value Evaluator::call(const Value& callee, const Args& args) {
  if (callee.is_callable()) {
    Args copy = args;
    return callee.as_callable().call(*this, copy);
  }
  if (callee.is_undefined()) fail_undefined(callee);
  fail("'{}' object is not callable", callee.type_name());
}

Value Evaluator::lookup(const std::string& name) const {
  if (const Value* v = scope_->find(name)) return *v;
  if (const Value* v = context_.find(name)) return *v;
  if (const Value* v = find_global(name)) return *v;
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

Args Evaluator::eval_args(const std::vector<Argument>& args) {
  Args out;
  for (const Argument& a : args) {
    if (a.name.empty()) out.positional.push_back(eval(*a.value));
    else out.keyword.emplace_back(a.name, eval(*a.value));
  }
  return out;
}

Value Evaluator::eval_filter(const FilterExpr& f, Value operand) {
  const Args args = eval_args(f.args);
  return located(f.pos, [&] { return f.fn(*this, operand, args); });
}

Value Evaluator::eval_call(const Call& c) {
  if (c.callee->kind == ExprKind::kGetAttr) {
    // obj.method(...) dispatches directly, without materializing a bound method.
    const auto& g = static_cast<const GetAttr&>(*c.callee);
    const Value object = eval(*g.object);
    if ((object.is_string() || object.is_list() || object.is_dict()) && has_method(object, g.name)) {
      const Args args = eval_args(c.args);
      bool found = false;
      return call_method(*this, object, g.name, args, found);
    }
    const Value callee = get_attribute(object, g.name);
    return call(callee, eval_args(c.args));
  }
  const Value callee = eval(*c.callee);
  return call(callee, eval_args(c.args));
}

Value Evaluator::eval(const Expr& e) {
  return located(e.pos, [&] { return eval_inner(e); });
}

Value Evaluator::eval_inner(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kLiteral: return static_cast<const Literal&>(e).value;
    case ExprKind::kName: return lookup(static_cast<const Name&>(e).name);
    case ExprKind::kList:
    case ExprKind::kTuple: {
      const auto& s = static_cast<const Sequence&>(e);
      List items;
      items.reserve(s.items.size());
      for (const auto& item : s.items) items.push_back(eval(*item));
      return Value(std::move(items), e.kind == ExprKind::kTuple);
    }
    case ExprKind::kDict: {
      auto d = std::make_shared<Dict>();
      for (const auto& [k, v] : static_cast<const DictDisplay&>(e).items) {
        Value key = eval(*k);
        d->set(std::move(key), eval(*v));
      }
      return Value(std::shared_ptr<const Dict>(std::move(d)));
    }
    case ExprKind::kGetAttr: {
      const auto& g = static_cast<const GetAttr&>(e);
      return get_attribute(eval(*g.object), g.name);
    }
    case ExprKind::kGetItem: {
      const auto& g = static_cast<const GetItem&>(e);
      const Value object = eval(*g.object);
      return get_item(object, eval(*g.index));
    }
    case ExprKind::kSlice: {
      const auto& s = static_cast<const SliceExpr&>(e);
      const Value object = eval(*s.object);
      const Value start = s.start ? eval(*s.start) : Value::none();
      const Value stop = s.stop ? eval(*s.stop) : Value::none();
      const Value step_value = s.step ? eval(*s.step) : Value::none();
      return slice(object, start, stop, step_value);
    }
    case ExprKind::kCall: return eval_call(static_cast<const Call&>(e));
    case ExprKind::kFilter: {
      const auto& f = static_cast<const FilterExpr&>(e);
      return eval_filter(f, eval(*f.operand));
    }
    case ExprKind::kTest: {
      const auto& t = static_cast<const TestExpr&>(e);
      const Value operand = eval(*t.operand);
      const Args args = eval_args(t.args);
      return Value(t.fn(*this, operand, args) != t.negated);
    }
    case ExprKind::kUnary: {
      const auto& u = static_cast<const Unary&>(e);
      const Value v = eval(*u.operand);
      return unary_op(u.op, v);
    }
    case ExprKind::kBinary: {
      const auto& b = static_cast<const Binary&>(e);
      const Value left = eval(*b.left);
      const Value right = eval(*b.right);
      Value result = binary_op(b.op, left, right);
      if (result.is_string() || result.is_list()) check_size(result.is_string() ? result.as_string().size() : result.as_list().size());
      return result;
    }
    case ExprKind::kAnd: {
      const auto& l = static_cast<const Logical&>(e);
      Value left = eval(*l.left);
      return left.truthy() ? eval(*l.right) : left;
    }
    case ExprKind::kOr: {
      const auto& l = static_cast<const Logical&>(e);
      Value left = eval(*l.left);
      return left.truthy() ? left : eval(*l.right);
    }
    case ExprKind::kCompare: {
      const auto& c = static_cast<const Compare&>(e);
      Value left = eval(*c.first);
      for (const auto& [op, expr] : c.rest) {
        Value right = eval(*expr);
        if (!compare_op(op, left, right)) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case ExprKind::kCondition: {
      const auto& c = static_cast<const Condition&>(e);
      if (eval(*c.test).truthy()) return eval(*c.then);
      return c.otherwise ? eval(*c.otherwise) : Value::undefined("the condition was false and there is no else");
    }
  }
  return Value();
}

}  // namespace mxlm::jinja
