// Errors as values for the Kubernetes client: every fallible call returns Result<T>.
//
// An Error keeps what went wrong (a category), a message written for a person (what, where,
// what to do), and, when the API server answered, its Status object untouched, so callers can
// branch on reason/code the way client-go's apierrors helpers do.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

namespace kube {

using Json = nlohmann::json;

enum class ErrorKind {
  kInvalidConfig,  // kubeconfig or in-cluster configuration unusable
  kTransport,      // connection, TLS or timeout: the request may not have reached the server
  kApi,            // the API server answered with a non-success Status
  kDecode,         // a response body that is not the JSON it should be
};

// The metav1.Status an API server returns with every failed request.
struct ApiStatus {
  int code = 0;         // HTTP status code
  std::string reason;   // metav1.StatusReason, e.g. "NotFound", "Conflict", "Forbidden"
  std::string message;  // the server's own explanation
  Json details;         // metav1.StatusDetails, or null
};

struct Error {
  ErrorKind kind = ErrorKind::kTransport;
  std::string message;
  std::optional<ApiStatus> status;  // present exactly when kind == kApi

  int httpCode() const { return status ? status->code : 0; }
  bool isNotFound() const { return httpCode() == 404; }
  bool isAlreadyExists() const { return httpCode() == 409 && status->reason == "AlreadyExists"; }
  // A write lost an optimistic-concurrency race (stale resourceVersion): re-read and retry.
  bool isConflict() const { return httpCode() == 409 && status->reason == "Conflict"; }
  bool isForbidden() const { return httpCode() == 403; }
  bool isUnauthorized() const { return httpCode() == 401; }
  // The requested resourceVersion is too old (compacted): relist.
  bool isGone() const { return httpCode() == 410 || (status && status->reason == "Expired"); }
  bool isInvalid() const { return httpCode() == 422; }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}       // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}   // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<Error>(state_); }
  Error&& error() && { return std::get<Error>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

inline Error configError(std::string message) {
  return Error{.kind = ErrorKind::kInvalidConfig, .message = std::move(message), .status = {}};
}

}  // namespace kube
