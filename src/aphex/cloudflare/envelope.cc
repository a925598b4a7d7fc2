// Cloudflare's response envelope ({"success", "errors", "messages", "result", "result_info"})
// turned into results and errors, and the predicates that classify those errors.
#include <algorithm>
#include <cctype>

#include "cloudflare/internal.h"
#include "kube/client.h"

namespace aphex::cloudflare {

namespace {

using kube::Json;

constexpr std::size_t kExcerptLength = 200;
constexpr const char* kReason = "CloudflareAPI";
// Cloudflare's envelopes nest a few levels; an answer nested deeper is not one, and is not parsed,
// since copying and describing it recurse once per level.
constexpr int kMaxEnvelopeDepth = 32;

// Whether `body`, read as JSON, opens more than `limit` arrays and objects inside one another.
// Linear and without recursion; brackets inside strings do not count.
bool nestsDeeperThan(std::string_view body, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// The first `limit` bytes of `text`, safe to put in a message and in JSON: control characters
// become spaces, and whatever nlohmann's decoder (the one that later writes the message) rejects as
// UTF-8 becomes U+FFFD, so a cut character or a byte of binary cannot make a write throw.
std::string printableExcerpt(std::string_view text, std::size_t limit) {
  std::string cut(text.substr(0, limit));
  for (char& c : cut) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) c = ' ';
  }
  const std::string quoted = Json(cut).dump(-1, ' ', false, Json::error_handler_t::replace);
  return Json::parse(quoted).get<std::string>();
}

// Field readers that never throw: an answer of the wrong shape must not crash the controller.
int codeOf(const Json& error) {
  const auto code = error.find("code");
  return code != error.end() && code->is_number_integer() ? code->get<int>() : 0;
}

std::string messageOf(const Json& error) {
  const std::string message = detail::stringField(error, "message");
  return message.empty() ? "(no message)" : message;
}

bool succeeded(const Json& envelope) {
  const auto success = envelope.find("success");
  return success != envelope.end() && success->is_boolean() && success->get<bool>();
}

// "Cloudflare error 1004: DNS Validation Error (9005: Content for A record …)"
std::string describeError(const Json& error) {
  std::string text = "Cloudflare error " + std::to_string(codeOf(error)) + ": " + messageOf(error);
  if (const auto chain = error.find("error_chain"); chain != error.end() && chain->is_array()) {
    for (const Json& cause : *chain) {
      if (!cause.is_object()) continue;
      text += " (" + std::to_string(codeOf(cause)) + ": " + messageOf(cause) + ")";
    }
  }
  return text;
}

Json errorObjects(const Json& envelope) {
  Json errors = Json::array();
  if (!envelope.is_object()) return errors;
  if (const auto found = envelope.find("errors"); found != envelope.end() && found->is_array()) {
    for (const Json& error : *found) {
      if (error.is_object()) errors.push_back(error);
    }
  }
  return errors;
}

std::string hintFor(long status, const Json& errors) {
  const bool auth = status == 401 || status == 403 ||
                    std::any_of(errors.begin(), errors.end(),
                                [](const Json& e) { return codeOf(e) == kErrorAuthentication; });
  if (!auth) return {};
  return "; check that the API token is valid and grants Account > Cloudflare Tunnel > Edit and "
         "Zone > DNS > Edit for the configured account and zone";
}

std::string describeAnswer(const kube::HttpResponse& response, const Json& envelope, const Json& errors) {
  if (!errors.empty()) {
    std::string text;
    for (const Json& error : errors) text += (text.empty() ? "" : "; ") + describeError(error);
    return text + " (HTTP " + std::to_string(response.status) + ")";
  }
  if (envelope.is_object()) return "Cloudflare answered HTTP " + std::to_string(response.status) + " without errors";
  // An edge or proxy page rather than the API: keep a bounded excerpt.
  return "HTTP " + std::to_string(response.status) + " from Cloudflare: " +
         printableExcerpt(response.body, kExcerptLength);
}

kube::Error apiError(std::string_view what, const kube::HttpResponse& response, const Json& envelope) {
  const Json errors = errorObjects(envelope);
  Json details = {{"errors", errors}};
  if (const auto advice = kube::retryAfter(response)) details["retry_after_seconds"] = advice->count();
  std::string message = std::string(what) + ": " + describeAnswer(response, envelope, errors) +
                        hintFor(response.status, errors);
  kube::ApiStatus status{.code = static_cast<int>(response.status), .reason = kReason, .message = message,
                         .details = std::move(details)};
  return kube::Error{.kind = kube::ErrorKind::kApi, .message = std::move(message), .status = std::move(status)};
}

void collectCodes(const Json& error, std::vector<int>& codes) {
  if (!error.is_object()) return;
  if (const int code = codeOf(error); code != 0) codes.push_back(code);
  if (const auto chain = error.find("error_chain"); chain != error.end() && chain->is_array()) {
    for (const Json& cause : *chain) collectCodes(cause, codes);
  }
}

}  // namespace

namespace detail {

kube::Result<Json> decodeEnvelope(std::string_view what, const kube::HttpResponse& response) {
  Json envelope = nestsDeeperThan(response.body, kMaxEnvelopeDepth)
                      ? Json(Json::value_t::discarded)
                      : Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  const bool ok_status = response.status >= 200 && response.status < 300;
  if (ok_status && envelope.is_object() && succeeded(envelope)) return envelope;
  if (ok_status && !envelope.is_object()) {
    return kube::Error{.kind = kube::ErrorKind::kDecode,
                       .message = std::string(what) + ": Cloudflare's answer (HTTP " +
                                  std::to_string(response.status) + ") is not a JSON envelope",
                       .status = {}};
  }
  return apiError(what, response, envelope);
}

kube::Error transportFailure(std::string_view what, kube::Error error) {
  error.message = std::string(what) + ": " + error.message;
  return error;
}

kube::Error invalidArgument(std::string_view what, std::string_view problem) {
  return kube::configError(std::string(what) + ": " + std::string(problem));
}

kube::Error redacted(kube::Error error, std::string_view secret) {
  if (secret.empty()) return error;
  const auto scrub = [secret](std::string& text) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "[redacted]");
    }
  };
  scrub(error.message);
  if (error.status) scrub(error.status->message);
  return error;
}

std::string stringField(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

Tunnel tunnelFrom(const Json& object) {
  return Tunnel{.id = stringField(object, "id"),
                .name = stringField(object, "name"),
                .status = stringField(object, "status"),
                .config_src = stringField(object, "config_src"),
                .created_at = stringField(object, "created_at"),
                .deleted_at = stringField(object, "deleted_at")};
}

DnsRecord dnsRecordFrom(const Json& object) {
  const auto proxied = object.is_object() ? object.find("proxied") : object.end();
  return DnsRecord{.id = stringField(object, "id"),
                   .type = stringField(object, "type"),
                   .name = stringField(object, "name"),
                   .content = stringField(object, "content"),
                   .comment = stringField(object, "comment"),
                   .proxied = proxied != object.end() && proxied->is_boolean() && proxied->get<bool>()};
}

bool sameHost(std::string_view a, std::string_view b) {
  const auto trim = [](std::string_view name) {
    return !name.empty() && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
  };
  a = trim(a);
  b = trim(b);
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace detail

std::vector<int> cloudflareCodes(const kube::Error& error) {
  std::vector<int> codes;
  if (!error.status || !error.status->details.is_object()) return codes;
  const Json& details = error.status->details;
  if (const auto errors = details.find("errors"); errors != details.end() && errors->is_array()) {
    for (const Json& entry : *errors) collectCodes(entry, codes);
  }
  return codes;
}

bool hasCloudflareCode(const kube::Error& error, int code) {
  const std::vector<int> codes = cloudflareCodes(error);
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

bool isNotFound(const kube::Error& error) { return error.httpCode() == 404; }

bool isRateLimited(const kube::Error& error) { return error.httpCode() == 429; }

bool isAuthenticationError(const kube::Error& error) {
  return error.httpCode() == 401 || error.httpCode() == 403 || hasCloudflareCode(error, kErrorAuthentication);
}

bool isTransient(const kube::Error& error) {
  return error.kind == kube::ErrorKind::kTransport || error.httpCode() == 429 || error.httpCode() >= 500;
}

std::optional<std::chrono::seconds> retryAfter(const kube::Error& error) {
  if (!error.status || !error.status->details.is_object()) return std::nullopt;
  const Json& details = error.status->details;
  const auto found = details.find("retry_after_seconds");
  if (found == details.end() || !found->is_number_integer()) return std::nullopt;
  return std::chrono::seconds(found->get<long long>());
}

}  // namespace aphex::cloudflare
