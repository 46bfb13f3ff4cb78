// Python's str operations on UTF-8 strings. Templates index, slice, strip and case-map strings
// the way Python does, i.e. by code point and with Unicode's notion of whitespace and case.
// Bytes that are not valid UTF-8 survive unchanged: they decode to lone surrogates U+DC80..DCFF
// (Python's "surrogateescape") and encode back to the same byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxlm::jinja::text {

std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);
void append_code_point(std::string& out, char32_t c);
bool is_ascii(std::string_view s);
size_t length(std::string_view s);  // in code points

// str.isspace() for one code point.
bool is_space(char32_t c);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize()
std::string title(std::string_view s);       // str.title()

// str.strip/lstrip/rstrip; `chars` absent means whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split / str.rsplit; `sep` absent splits on runs of whitespace. maxsplit < 0: no limit.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit, bool from_right);
std::vector<std::string> splitlines(std::string_view s);
std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count);
int64_t count(std::string_view s, std::string_view sub);
// str.find / str.rfind as a code point index, or -1.
int64_t find(std::string_view s, std::string_view sub, bool from_right);

// Python's repr() of a str: quotes chosen as Python does, non-printables escaped.
std::string repr(std::string_view s);
// A JSON string literal as json.dumps(ensure_ascii=False) writes it.
void append_json_string(std::string& out, std::string_view s);
// HTML escaping as markupsafe.escape does it (the `escape` filter).
std::string html_escape(std::string_view s);

}  // namespace mxlm::jinja::text
