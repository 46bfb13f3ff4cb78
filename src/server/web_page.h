// The small chat page served at GET /: one self-contained HTML file that streams from
// /v1/chat/completions and shows reasoning folded.
#pragma once

#include <string_view>

namespace mxlm::server {

std::string_view web_page_html();

}  // namespace mxlm::server
