// The parsed form of a template: expressions and statements, each with the line and column it
// came from so that evaluation errors can point at the template.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace mxlm::jinja {

struct Position {
  int line = 0;
  int column = 0;
};

// ---- expressions ----

enum class ExprKind {
  kLiteral, kName, kList, kTuple, kDict, kGetAttr, kGetItem, kSlice, kCall, kFilter, kTest,
  kUnary, kBinary, kAnd, kOr, kCompare, kCondition,
};

struct Expr {
  ExprKind kind;
  Position pos;
  explicit Expr(ExprKind k) : kind(k) {}
  virtual ~Expr() = default;
};
using ExprPtr = std::unique_ptr<Expr>;

struct Literal : Expr {
  Value value;
  Literal() : Expr(ExprKind::kLiteral) {}
};

struct Name : Expr {
  std::string name;
  Name() : Expr(ExprKind::kName) {}
};

// List and tuple displays.
struct Sequence : Expr {
  std::vector<ExprPtr> items;
  Sequence() : Expr(ExprKind::kList) {}
};

struct DictDisplay : Expr {
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
  DictDisplay() : Expr(ExprKind::kDict) {}
};

struct GetAttr : Expr {  // object.name
  ExprPtr object;
  std::string name;
  GetAttr() : Expr(ExprKind::kGetAttr) {}
};

struct GetItem : Expr {  // object[index]
  ExprPtr object, index;
  GetItem() : Expr(ExprKind::kGetItem) {}
};

struct SliceExpr : Expr {  // object[start:stop:step], each part optional
  ExprPtr object, start, stop, step;
  SliceExpr() : Expr(ExprKind::kSlice) {}
};

struct Argument {
  std::string name;  // empty for a positional argument
  ExprPtr value;
};

struct Call : Expr {
  ExprPtr callee;
  std::vector<Argument> args;
  Call() : Expr(ExprKind::kCall) {}
};

class Evaluator;
using FilterFn = Value (*)(Evaluator&, const Value&, const Args&);
using TestFn = bool (*)(Evaluator&, const Value&, const Args&);

struct FilterExpr : Expr {  // operand | name(args); operand is null inside {% filter %}
  ExprPtr operand;
  std::string name;
  FilterFn fn = nullptr;
  std::vector<Argument> args;
  FilterExpr() : Expr(ExprKind::kFilter) {}
};

struct TestExpr : Expr {  // operand is [not] name(args)
  ExprPtr operand;
  std::string name;
  TestFn fn = nullptr;
  bool negated = false;
  std::vector<Argument> args;
  TestExpr() : Expr(ExprKind::kTest) {}
};

enum class UnaryOp { kNot, kNegate, kPlus };
struct Unary : Expr {
  UnaryOp op;
  ExprPtr operand;
  Unary() : Expr(ExprKind::kUnary) {}
};

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow, kConcat };
struct Binary : Expr {
  BinaryOp op;
  ExprPtr left, right;
  Binary() : Expr(ExprKind::kBinary) {}
};

// `and` / `or` short-circuit and return an operand, as in Python.
struct Logical : Expr {
  ExprPtr left, right;
  Logical() : Expr(ExprKind::kAnd) {}
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };
// a < b <= c: chained like Python.
struct Compare : Expr {
  ExprPtr first;
  std::vector<std::pair<CompareOp, ExprPtr>> rest;
  Compare() : Expr(ExprKind::kCompare) {}
};

struct Condition : Expr {  // then if test else otherwise; otherwise may be null (undefined)
  ExprPtr test, then, otherwise;
  Condition() : Expr(ExprKind::kCondition) {}
};

// ---- statements ----

enum class StmtKind {
  kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kCallBlock, kFilterBlock, kWith,
  kBreak, kContinue, kScope,
};

struct Stmt {
  StmtKind kind;
  Position pos;
  explicit Stmt(StmtKind k) : kind(k) {}
  virtual ~Stmt() = default;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct TextStmt : Stmt {
  std::string text;
  TextStmt() : Stmt(StmtKind::kText) {}
};

struct OutputStmt : Stmt {  // {{ expr }}
  ExprPtr expr;
  OutputStmt() : Stmt(StmtKind::kOutput) {}
};

struct IfStmt : Stmt {
  std::vector<std::pair<ExprPtr, Body>> branches;  // if, then each elif
  Body otherwise;
  IfStmt() : Stmt(StmtKind::kIf) {}
};

// What `for` and `set` assign to: a name, a tuple of names to unpack, or namespace.attr.
struct Target {
  Position pos;
  std::vector<std::string> names;  // one name, or several to unpack
  bool unpack = false;
  std::string attribute;           // set ns.attr: names[0] is the namespace
};

struct ForStmt : Stmt {
  Target target;
  ExprPtr iterable;
  ExprPtr filter;  // for x in y if filter
  Body body, otherwise;
  ForStmt() : Stmt(StmtKind::kFor) {}
};

struct SetStmt : Stmt {
  Target target;
  ExprPtr value;
  SetStmt() : Stmt(StmtKind::kSet) {}
};

struct SetBlockStmt : Stmt {  // {% set x | filters %}body{% endset %}
  Target target;
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
  SetBlockStmt() : Stmt(StmtKind::kSetBlock) {}
};

struct Parameter {
  std::string name;
  ExprPtr fallback;  // default value, may be null
};

struct MacroStmt : Stmt {
  std::string name;
  std::vector<Parameter> params;
  Body body;
  MacroStmt() : Stmt(StmtKind::kMacro) {}
};

struct CallBlockStmt : Stmt {  // {% call(params) macro(args) %}body{% endcall %}
  std::unique_ptr<Call> call;
  std::vector<Parameter> params;
  Body body;
  CallBlockStmt() : Stmt(StmtKind::kCallBlock) {}
};

struct FilterBlockStmt : Stmt {
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
  FilterBlockStmt() : Stmt(StmtKind::kFilterBlock) {}
};

struct WithStmt : Stmt {
  std::vector<std::pair<Target, ExprPtr>> assignments;
  Body body;
  WithStmt() : Stmt(StmtKind::kWith) {}
};

// A body rendered as it is: {% generation %} (HF's assistant-mask marker).
struct ScopeStmt : Stmt {
  Body body;
  ScopeStmt() : Stmt(StmtKind::kScope) {}
};

struct LoopControlStmt : Stmt {
  explicit LoopControlStmt(StmtKind k) : Stmt(k) {}
};

struct Program {
  Body body;
};

}  // namespace mxlm::jinja
