// An error answered to an API client: HTTP status plus the OpenAI error object's fields.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace mxlm::server {

class ApiError : public Error {
 public:
  ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string param = "",
           std::string code = "")
      : Error(message), status_(status), type_(std::move(type)), param_(std::move(param)), code_(std::move(code)) {}

  int status() const { return status_; }
  // {"error": {"message", "type", "param", "code"}}
  nlohmann::json body() const;

 private:
  int status_;
  std::string type_, param_, code_;
};

}  // namespace mxlm::server
