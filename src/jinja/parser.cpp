#include "jinja/parser.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <initializer_list>

#include "jinja/template_error.h"
#include "jinja/builtins.h"
#include "jinja/lexer.h"

namespace mxlm::jinja {

namespace {

// Deeper nesting than this is no chat template; the limit keeps hostile input from
// exhausting the stack.
constexpr int kMaxNesting = 200;

using Names = std::initializer_list<std::string_view>;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Program parse_program() {
    Program program;
    program.body = subparse({}, nullptr);
    return program;
  }

 private:
  // ---- token helpers ----
  const Token& current() const { return tokens_[pos_]; }
  const Token& peek(size_t ahead = 1) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  void advance() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool is_op(std::string_view op) const { return current().type == TokenType::kOperator && current().value == op; }
  bool is_name(std::string_view name) const { return current().type == TokenType::kName && current().value == name; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(name)) return false;
    advance();
    return true;
  }
  Position position() const { return {current().line, current().column}; }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::kText: return "template text";
      case TokenType::kVariableBegin: return "'{{'";
      case TokenType::kVariableEnd: return "'}}'";
      case TokenType::kBlockBegin: return "'{%'";
      case TokenType::kBlockEnd: return "'%}'";
      case TokenType::kString: return "string literal";
      case TokenType::kEnd: return "end of template";
      default: return fmt::format("'{}'", t.value);
    }
  }

  template <typename... Args>
  [[noreturn]] void error(const Token& at, fmt::format_string<Args...> format, Args&&... args) const {
    throw TemplateError(at.line, at.column, fmt::format(format, std::forward<Args>(args)...));
  }
  [[noreturn]] void unexpected(const std::string& expected) const {
    error(current(), "unexpected {}, expected {}", describe(current()), expected);
  }

  void expect_op(std::string_view op) {
    if (!skip_op(op)) unexpected(fmt::format("'{}'", op));
  }
  std::string expect_name() {
    if (current().type != TokenType::kName) unexpected("a name");
    std::string name = current().value;
    advance();
    return name;
  }
  void expect_block_end() {
    if (current().type != TokenType::kBlockEnd) unexpected("'%}'");
    advance();
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.error(p.current(), "template nested too deeply");
    }
    ~DepthGuard() { --p.depth_; }
  };

  template <typename T>
  std::unique_ptr<T> make(Position pos) {
    auto node = std::make_unique<T>();
    node->pos = pos;
    return node;
  }

  // ---- statements ----

  // Parses until a block whose tag is one of `ends`; leaves that tag name as the current token
  // and stores it in `found`. With no `ends`, parses to the end of the template.
  Body subparse(Names ends, std::string* found) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = current();
      switch (t.type) {
        case TokenType::kText: {
          auto s = make<TextStmt>({t.line, t.column});
          s->text = t.value;
          body.push_back(std::move(s));
          advance();
          break;
        }
        case TokenType::kVariableBegin: {
          auto s = make<OutputStmt>({t.line, t.column});
          advance();
          s->expr = parse_tuple(true, {}, false);
          if (current().type != TokenType::kVariableEnd) unexpected("'}}'");
          advance();
          body.push_back(std::move(s));
          break;
        }
        case TokenType::kBlockBegin: {
          advance();
          const Token& tag = current();
          if (tag.type == TokenType::kName &&
              std::find(ends.begin(), ends.end(), std::string_view(tag.value)) != ends.end()) {
            *found = tag.value;
            return body;
          }
          body.push_back(parse_statement());
          break;
        }
        case TokenType::kEnd:
          if (ends.size() == 0) return body;
          error(t, "unexpected end of template, expected {}", expected_tags(ends));
        default:
          error(t, "unexpected {}", describe(t));
      }
    }
  }

  static std::string expected_tags(Names ends) {
    std::string s;
    for (auto e : ends) s += fmt::format("{}'{}'", s.empty() ? "" : " or ", e);
    return s;
  }

  // Parses the body up to one of `ends`, consumes that tag name and returns it.
  std::string parse_body(Body& body, Names ends) {
    std::string found;
    body = subparse(ends, &found);
    advance();
    return found;
  }

  StmtPtr parse_statement() {
    const Token& tag = current();
    if (tag.type != TokenType::kName) unexpected("a statement name");
    const std::string name = tag.value;
    const Position pos{tag.line, tag.column};
    advance();
    if (name == "if") return parse_if(pos);
    if (name == "for") return parse_for(pos);
    if (name == "set") return parse_set(pos);
    if (name == "macro") return parse_macro(pos);
    if (name == "call") return parse_call_block(pos);
    if (name == "filter") return parse_filter_block(pos);
    if (name == "with") return parse_with(pos);
    if (name == "generation") {
      auto s = make<ScopeStmt>(pos);
      expect_block_end();
      parse_body(s->body, {"endgeneration"});
      expect_block_end();
      return s;
    }
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) error(tag, "'{}' outside of a loop", name);
      expect_block_end();
      return std::make_unique<LoopControlStmt>(name == "break" ? StmtKind::kBreak : StmtKind::kContinue);
    }
    error(tag, "unknown tag '{}'", name);
  }

  StmtPtr parse_if(Position pos) {
    auto s = make<IfStmt>(pos);
    ExprPtr test = parse_tuple(false, {}, false);
    while (true) {
      expect_block_end();
      Body body;
      const std::string end = parse_body(body, {"elif", "else", "endif"});
      s->branches.emplace_back(std::move(test), std::move(body));
      if (end == "elif") {
        test = parse_tuple(false, {}, false);
        continue;
      }
      if (end == "else") {
        expect_block_end();
        parse_body(s->otherwise, {"endif"});
      }
      expect_block_end();
      return s;
    }
  }

  StmtPtr parse_for(Position pos) {
    auto s = make<ForStmt>(pos);
    s->target = parse_target(false, {"in"});
    if (!skip_name("in")) unexpected("'in'");
    s->iterable = parse_tuple(false, {"recursive"}, false);
    if (skip_name("if")) s->filter = parse_expression(true);
    if (is_name("recursive")) error(current(), "recursive loops are not supported");
    expect_block_end();
    ++loop_depth_;
    const std::string end = parse_body(s->body, {"endfor", "else"});
    --loop_depth_;
    if (end == "else") {
      expect_block_end();
      parse_body(s->otherwise, {"endfor"});
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(Position pos) {
    Target target = parse_target(true, {});
    if (skip_op("=")) {
      auto s = make<SetStmt>(pos);
      s->target = std::move(target);
      s->value = parse_tuple(true, {}, false);
      expect_block_end();
      return s;
    }
    auto s = make<SetBlockStmt>(pos);
    s->target = std::move(target);
    while (is_op("|")) s->filters.push_back(parse_filter(nullptr));
    expect_block_end();
    parse_body(s->body, {"endset"});
    expect_block_end();
    return s;
  }

  std::vector<Parameter> parse_parameters() {
    std::vector<Parameter> params;
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      Parameter p;
      p.name = expect_name();
      if (skip_op("=")) p.fallback = parse_expression(true);
      params.push_back(std::move(p));
    }
    advance();
    return params;
  }

  StmtPtr parse_macro(Position pos) {
    auto s = make<MacroStmt>(pos);
    s->name = expect_name();
    s->params = parse_parameters();
    expect_block_end();
    const int saved = loop_depth_;
    loop_depth_ = 0;
    parse_body(s->body, {"endmacro"});
    loop_depth_ = saved;
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block(Position pos) {
    auto s = make<CallBlockStmt>(pos);
    if (is_op("(")) s->params = parse_parameters();
    const Token& at = current();
    ExprPtr call = parse_expression(true);
    if (call->kind != ExprKind::kCall) error(at, "expected a call after 'call'");
    s->call.reset(static_cast<Call*>(call.release()));
    expect_block_end();
    const int saved = loop_depth_;
    loop_depth_ = 0;
    parse_body(s->body, {"endcall"});
    loop_depth_ = saved;
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(Position pos) {
    auto s = make<FilterBlockStmt>(pos);
    s->filters.push_back(parse_filter(nullptr, /*leading_bar=*/false));
    while (is_op("|")) s->filters.push_back(parse_filter(nullptr));
    expect_block_end();
    parse_body(s->body, {"endfilter"});
    expect_block_end();
    return s;
  }

  StmtPtr parse_with(Position pos) {
    auto s = make<WithStmt>(pos);
    while (current().type != TokenType::kBlockEnd) {
      if (!s->assignments.empty()) expect_op(",");
      Target t = parse_target(false, {});
      expect_op("=");
      s->assignments.emplace_back(std::move(t), parse_expression(true));
    }
    expect_block_end();
    parse_body(s->body, {"endwith"});
    expect_block_end();
    return s;
  }

  // A name, `a, b` / `(a, b)` to unpack, or (for set) `namespace.attr`.
  Target parse_target(bool allow_attribute, Names extra_ends) {
    Target t;
    t.pos = position();
    const bool parens = skip_op("(");
    while (true) {
      t.names.push_back(expect_name());
      if (allow_attribute && !parens && t.names.size() == 1 && skip_op(".")) {
        t.attribute = expect_name();
        return t;
      }
      if (!skip_op(",")) break;
      t.unpack = true;
      if (is_op(")") || current().type == TokenType::kBlockEnd || is_op("=")) break;
      if (current().type == TokenType::kName &&
          std::find(extra_ends.begin(), extra_ends.end(), std::string_view(current().value)) != extra_ends.end())
        break;
    }
    if (parens) {
      expect_op(")");
      t.unpack = true;
    }
    return t;
  }

  // ---- expressions ----

  bool at_tuple_end(Names extra_ends) const {
    const Token& t = current();
    if (t.type == TokenType::kVariableEnd || t.type == TokenType::kBlockEnd || t.type == TokenType::kEnd) return true;
    if (t.type == TokenType::kOperator && t.value == ")") return true;
    return t.type == TokenType::kName &&
           std::find(extra_ends.begin(), extra_ends.end(), std::string_view(t.value)) != extra_ends.end();
  }

  // `a, b` builds a tuple; a single expression stays itself.
  ExprPtr parse_tuple(bool with_condition, Names extra_ends, bool explicit_parentheses) {
    const Position pos = position();
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (at_tuple_end(extra_ends)) break;
      items.push_back(parse_expression(with_condition));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parentheses) unexpected("an expression");
    }
    auto t = make<Sequence>(pos);
    t->kind = ExprKind::kTuple;
    t->items = std::move(items);
    return t;
  }

  ExprPtr parse_expression(bool with_condition) {
    DepthGuard guard(*this);
    ExprPtr expr = parse_or();
    if (!with_condition) return expr;
    while (is_name("if")) {
      auto c = make<Condition>(position());
      advance();
      c->test = parse_or();
      if (skip_name("else")) c->otherwise = parse_expression(true);
      c->then = std::move(expr);
      expr = std::move(c);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      auto node = make<Logical>(position());
      node->kind = ExprKind::kOr;
      advance();
      node->left = std::move(left);
      node->right = parse_and();
      left = std::move(node);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      auto node = make<Logical>(position());
      node->kind = ExprKind::kAnd;
      advance();
      node->left = std::move(left);
      node->right = parse_not();
      left = std::move(node);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto node = make<Unary>(position());
      advance();
      node->op = UnaryOp::kNot;
      node->operand = parse_not();
      return node;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Position pos = position();
    ExprPtr first = parse_math1();
    std::vector<std::pair<CompareOp, ExprPtr>> rest;
    while (true) {
      CompareOp op;
      if (is_op("==")) op = CompareOp::kEq;
      else if (is_op("!=")) op = CompareOp::kNe;
      else if (is_op("<")) op = CompareOp::kLt;
      else if (is_op("<=")) op = CompareOp::kLe;
      else if (is_op(">")) op = CompareOp::kGt;
      else if (is_op(">=")) op = CompareOp::kGe;
      else if (is_name("in")) op = CompareOp::kIn;
      else if (is_name("not") && peek().type == TokenType::kName && peek().value == "in") {
        op = CompareOp::kNotIn;
        advance();
      } else {
        break;
      }
      advance();
      rest.emplace_back(op, parse_math1());
    }
    if (rest.empty()) return first;
    auto node = make<Compare>(pos);
    node->first = std::move(first);
    node->rest = std::move(rest);
    return node;
  }

  ExprPtr binary(BinaryOp op, ExprPtr left, ExprPtr right, Position pos) {
    auto node = make<Binary>(pos);
    node->op = op;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Position pos = position();
      const BinaryOp op = is_op("+") ? BinaryOp::kAdd : BinaryOp::kSub;
      advance();
      left = binary(op, std::move(left), parse_concat(), pos);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const Position pos = position();
      advance();
      left = binary(BinaryOp::kConcat, std::move(left), parse_math2(), pos);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Position pos = position();
      const std::string op = current().value;
      advance();
      const BinaryOp bop = op == "*" ? BinaryOp::kMul : op == "/" ? BinaryOp::kDiv
                          : op == "//" ? BinaryOp::kFloorDiv : BinaryOp::kMod;
      left = binary(bop, std::move(left), parse_pow(), pos);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Position pos = position();
      advance();
      left = binary(BinaryOp::kPow, std::move(left), parse_unary(true), pos);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      auto u = make<Unary>(position());
      u->op = is_op("-") ? UnaryOp::kNegate : UnaryOp::kPlus;
      advance();
      u->operand = parse_unary(false);
      node = std::move(u);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = current();
    const Position pos{t.line, t.column};
    switch (t.type) {
      case TokenType::kName: {
        const std::string& n = t.value;
        if (n == "true" || n == "True" || n == "false" || n == "False" || n == "none" || n == "None") {
          auto lit = make<Literal>(pos);
          lit->value = (n == "none" || n == "None") ? Value::none() : Value(n == "true" || n == "True");
          advance();
          return lit;
        }
        auto name = make<Name>(pos);
        name->name = n;
        advance();
        return name;
      }
      case TokenType::kString: {
        // Adjacent string literals concatenate, as in Python.
        std::string s;
        while (current().type == TokenType::kString) {
          s += current().value;
          advance();
        }
        auto lit = make<Literal>(pos);
        lit->value = Value(std::move(s));
        return lit;
      }
      case TokenType::kInteger: {
        auto lit = make<Literal>(pos);
        int64_t v = 0;
        const auto res = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
        // Python ints are unbounded; beyond int64 the nearest float is the closest we get.
        lit->value = res.ec == std::errc() ? Value(v) : Value(std::strtod(t.value.c_str(), nullptr));
        advance();
        return lit;
      }
      case TokenType::kFloat: {
        auto lit = make<Literal>(pos);
        lit->value = Value(std::strtod(t.value.c_str(), nullptr));
        advance();
        return lit;
      }
      case TokenType::kOperator:
        if (t.value == "(") {
          advance();
          ExprPtr e = parse_tuple(true, {}, true);
          expect_op(")");
          return e;
        }
        if (t.value == "[") return parse_list(pos);
        if (t.value == "{") return parse_dict(pos);
        [[fallthrough]];
      default:
        unexpected("an expression");
    }
  }

  ExprPtr parse_list(Position pos) {
    advance();
    auto list = make<Sequence>(pos);
    list->kind = ExprKind::kList;
    while (!is_op("]")) {
      if (!list->items.empty()) expect_op(",");
      if (is_op("]")) break;
      list->items.push_back(parse_expression(true));
    }
    advance();
    return list;
  }

  ExprPtr parse_dict(Position pos) {
    advance();
    auto dict = make<DictDisplay>(pos);
    while (!is_op("}")) {
      if (!dict->items.empty()) expect_op(",");
      if (is_op("}")) break;
      ExprPtr key = parse_expression(true);
      expect_op(":");
      dict->items.emplace_back(std::move(key), parse_expression(true));
    }
    advance();
    return dict;
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) node = parse_subscript(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else return node;
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) node = parse_filter(std::move(node));
      else if (is_name("is")) node = parse_test(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else return node;
    }
  }

  ExprPtr parse_subscript(ExprPtr object) {
    const Position pos = position();
    if (skip_op(".")) {
      if (current().type == TokenType::kName) {
        auto g = make<GetAttr>(pos);
        g->object = std::move(object);
        g->name = current().value;
        advance();
        return g;
      }
      if (current().type != TokenType::kInteger) unexpected("a name or number");
      auto g = make<GetItem>(pos);
      g->object = std::move(object);
      g->index = parse_primary();
      return g;
    }
    advance();  // [
    ExprPtr start, stop, step;
    bool is_slice = false;
    if (!is_op(":")) start = parse_expression(true);
    if (skip_op(":")) {
      is_slice = true;
      if (!is_op("]") && !is_op(":")) stop = parse_expression(true);
      if (skip_op(":") && !is_op("]")) step = parse_expression(true);
    }
    expect_op("]");
    if (!is_slice) {
      auto g = make<GetItem>(pos);
      g->object = std::move(object);
      g->index = std::move(start);
      return g;
    }
    auto s = make<SliceExpr>(pos);
    s->object = std::move(object);
    s->start = std::move(start);
    s->stop = std::move(stop);
    s->step = std::move(step);
    return s;
  }

  std::vector<Argument> parse_call_args() {
    expect_op("(");
    std::vector<Argument> args;
    bool seen_keyword = false;
    while (!is_op(")")) {
      if (!args.empty()) expect_op(",");
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) error(current(), "*args and **kwargs in calls are not supported");
      Argument a;
      if (current().type == TokenType::kName && peek().type == TokenType::kOperator && peek().value == "=") {
        a.name = current().value;
        advance();
        advance();
        seen_keyword = true;
      } else if (seen_keyword) {
        error(current(), "positional argument follows keyword argument");
      }
      a.value = parse_expression(true);
      args.push_back(std::move(a));
    }
    advance();
    return args;
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = make<Call>(position());
    c->callee = std::move(callee);
    c->args = parse_call_args();
    return c;
  }

  std::unique_ptr<FilterExpr> parse_filter(ExprPtr operand, bool leading_bar = true) {
    if (leading_bar) expect_op("|");
    const Token& at = current();
    auto f = make<FilterExpr>({at.line, at.column});
    f->operand = std::move(operand);
    f->name = expect_name();
    while (skip_op(".")) f->name += fmt::format(".{}", expect_name());
    f->fn = find_filter(f->name);
    if (!f->fn) error(at, "no filter named '{}'", f->name);
    if (is_op("(")) f->args = parse_call_args();
    return f;
  }

  ExprPtr parse_test(ExprPtr operand) {
    const Position pos = position();
    advance();  // is
    auto t = make<TestExpr>(pos);
    t->operand = std::move(operand);
    t->negated = skip_name("not");
    const Token& at = current();
    t->name = expect_name();
    while (skip_op(".")) t->name += fmt::format(".{}", expect_name());
    t->fn = find_test(t->name);
    if (!t->fn) error(at, "no test named '{}'", t->name);
    const Token& next = current();
    const bool arg_start = next.type == TokenType::kName || next.type == TokenType::kString ||
                           next.type == TokenType::kInteger || next.type == TokenType::kFloat ||
                           (next.type == TokenType::kOperator && (next.value == "[" || next.value == "{"));
    if (is_op("(")) {
      t->args = parse_call_args();
    } else if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
      // `x is divisibleby 3`: one argument without parentheses.
      if (is_name("is")) error(current(), "cannot chain multiple tests with 'is'");
      Argument a;
      a.value = parse_postfix(parse_primary());
      t->args.push_back(std::move(a));
    }
    return t;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Program parse(const std::string& source) { return Parser(tokenize(source)).parse_program(); }

}  // namespace mxlm::jinja
