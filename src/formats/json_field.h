// Typed reading of JSON documents: config files and request bodies alike. A JsonField is a value
// together with the path that reached it ("text_config.num_hidden_layers", "messages[2].role");
// every accessor checks the type and range it asks for and otherwise throws a FieldError naming
// the document and that path, so no malformed input reaches nlohmann's own exceptions.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace mxlm::formats {

// A value of the wrong type or out of range. `path` is the field's path inside the document
// (empty for the root); what() reads "DOCUMENT: PATH must be …" when the document has a name.
class FieldError : public Error {
 public:
  FieldError(const std::string& document, std::string path, const std::string& message)
      : Error(document.empty() ? message : document + ": " + message), path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // The first component of the path: the request parameter an API error names.
  std::string root() const { return path_.substr(0, path_.find_first_of(".[")); }

 private:
  std::string path_;
};

template <typename Json>
class BasicJsonField {
 public:
  // `document` names the file ("config.json") or is empty for a request body.
  BasicJsonField(const Json& value, std::string document, std::string path = "")
      : value_(&value), document_(std::move(document)), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const Json& json() const { return *value_; }

  // Absent members read as null: present() is false for both.
  bool present() const { return !value_->is_null(); }
  bool is_object() const { return value_->is_object(); }
  bool is_array() const { return value_->is_array(); }
  bool is_string() const { return value_->is_string(); }

  // A member of an object (the object itself must be one, when present).
  BasicJsonField operator[](std::string_view key) const {
    static const Json kNull;
    if (!present()) return {kNull, document_, join(key)};
    if (!value_->is_object()) reject("an object");
    const auto it = value_->find(key);
    return {it == value_->end() ? kNull : *it, document_, join(key)};
  }
  BasicJsonField operator[](size_t i) const {
    return {value_->at(i), document_, fmt::format("{}[{}]", path_, i)};
  }
  // Elements of an array (absent = none); throws when present and not an array.
  size_t size() const {
    if (!present()) return 0;
    if (!value_->is_array()) reject("an array");
    return value_->size();
  }
  // The value as an object, checked.
  const Json& object() const {
    if (!value_->is_object()) reject("an object");
    return *value_;
  }

  std::string string() const {
    if (!value_->is_string()) reject("a string");
    return value_->template get<std::string>();
  }
  bool boolean() const {
    if (!value_->is_boolean()) reject("a boolean");
    return value_->template get<bool>();
  }
  int64_t integer(int64_t lo = std::numeric_limits<int64_t>::min(),
                  int64_t hi = std::numeric_limits<int64_t>::max()) const {
    const auto bound = [&] { return fmt::format("an integer in [{}, {}]", lo, hi); };
    if (value_->is_number_unsigned()) {
      const uint64_t u = value_->template get<uint64_t>();
      if (u > uint64_t(hi) || (lo > 0 && u < uint64_t(lo))) reject(bound());
      return int64_t(u);
    }
    if (!value_->is_number_integer()) reject(lo == std::numeric_limits<int64_t>::min() ? "an integer" : bound());
    const int64_t v = value_->template get<int64_t>();
    if (v < lo || v > hi) reject(bound());
    return v;
  }
  double number(double lo = -std::numeric_limits<double>::max(),
                double hi = std::numeric_limits<double>::max()) const {
    if (!value_->is_number()) reject("a number");
    const double v = value_->template get<double>();
    if (!std::isfinite(v) || v < lo || v > hi) reject(fmt::format("a number in [{}, {}]", lo, hi));
    return v;
  }

  // Optional forms: absent or null gives nullopt; present with the wrong type still throws.
  std::optional<std::string> opt_string() const { return present() ? std::optional(string()) : std::nullopt; }
  std::optional<bool> opt_boolean() const { return present() ? std::optional(boolean()) : std::nullopt; }
  std::optional<int64_t> opt_integer(int64_t lo = std::numeric_limits<int64_t>::min(),
                                     int64_t hi = std::numeric_limits<int64_t>::max()) const {
    return present() ? std::optional(integer(lo, hi)) : std::nullopt;
  }
  std::optional<double> opt_number(double lo = -std::numeric_limits<double>::max(),
                                   double hi = std::numeric_limits<double>::max()) const {
    return present() ? std::optional(number(lo, hi)) : std::nullopt;
  }

  // Throws "PATH must be EXPECTED (got VALUE)", or "PATH is required (EXPECTED)" when absent.
  [[noreturn]] void reject(std::string_view expected) const {
    const std::string name = path_.empty() ? "the document" : "'" + path_ + "'";
    if (!present()) fail(fmt::format("{} is required ({})", name, expected));
    std::string seen = value_->dump(-1, ' ', false, Json::error_handler_t::replace);
    if (seen.size() > 40) seen = seen.substr(0, 37) + "...";
    fail(fmt::format("{} must be {} (got {})", name, expected, seen));
  }
  // Throws "PATH MESSAGE" for checks beyond type and range.
  [[noreturn]] void fail(const std::string& message) const { throw FieldError(document_, path_, message); }

 private:
  std::string join(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  const Json* value_;
  std::string document_;
  std::string path_;
};

using JsonField = BasicJsonField<nlohmann::json>;
using OrderedJsonField = BasicJsonField<nlohmann::ordered_json>;

}  // namespace mxlm::formats
