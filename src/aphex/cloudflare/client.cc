// The client's plumbing: construction, one request with the retry policy, and pagination.
#include "aphex/cloudflare/client.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>

#include "cloudflare/internal.h"
#include "kube/client.h"

namespace aphex::cloudflare {

namespace {

using kube::Json;

// A bound on pagination so that a server that never reports the last page cannot loop us forever.
constexpr int kMaxPages = 10000;

bool idempotent(std::string_view method) { return method != "POST"; }

kube::Result<void> validate(const ClientOptions& options) {
  const auto missing = [](std::string_view what) {
    return kube::configError("Cloudflare client: no " + std::string(what) +
                             " configured; set it in the controller's Cloudflare configuration");
  };
  if (options.api_token.empty()) return missing("API token");
  if (options.account_id.empty()) return missing("account id");
  if (options.zone_id.empty()) return missing("zone id");
  if (options.base_url.rfind("https://", 0) != 0 && options.base_url.rfind("http://", 0) != 0) {
    return kube::configError("Cloudflare client: base URL \"" + options.base_url + "\" is not an http(s) URL");
  }
  if (options.per_page < 1 || options.retry.max_attempts < 1 || options.delete_attempts < 1) {
    return kube::configError("Cloudflare client: per_page, retry.max_attempts and delete_attempts must be at least 1");
  }
  return {};
}

}  // namespace

// The default jitter source, shared by the threads that use one client.
struct Client::Jitter {
  std::mutex mutex;
  std::mt19937_64 engine{std::random_device{}()};
  double next() {
    std::lock_guard lock(mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  }
};

kube::Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  if (auto valid = validate(options); !valid) return std::move(valid).error();
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  // kube's transport prefixes every path with `server`, so a base URL with a path (/client/v4)
  // works as is; the token goes out as "Authorization: Bearer" and nowhere else.
  kube::ClientConfig config{.server = options.base_url, .bearer_token = options.api_token,
                            .source = "the Cloudflare API configuration"};
  auto transport = kube::HttpTransport::create(config);
  if (!transport) return detail::redacted(std::move(transport).error(), options.api_token);
  return std::unique_ptr<Client>(new Client(std::move(options), std::move(*transport)));
}

Client::Client(ClientOptions options, std::unique_ptr<kube::HttpTransport> transport)
    : options_(std::move(options)), transport_(std::move(transport)), jitter_(std::make_unique<Jitter>()) {}

Client::~Client() = default;

std::string Client::accountPath() const { return "/accounts/" + detail::percentEncode(options_.account_id); }

std::string Client::zonePath() const { return "/zones/" + detail::percentEncode(options_.zone_id); }

// Exponential from initial_backoff, capped, then "equal jitter": half fixed, half random, so
// replicas that failed together spread out but never retry at once.
std::chrono::milliseconds Client::backoff(int attempt) {
  const double initial = static_cast<double>(options_.retry.initial_backoff.count());
  const double cap = static_cast<double>(options_.retry.max_backoff.count());
  const double base = std::min(cap, initial * std::pow(2.0, attempt - 1));
  const double random = options_.random ? options_.random() : jitter_->next();
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(base / 2 + base / 2 * random));
}

bool Client::sleepFor(std::chrono::milliseconds delay) {
  if (options_.stop.stop_requested()) return false;
  if (options_.sleep) {
    options_.sleep(delay);
  } else {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    wake.wait_for(lock, options_.stop, delay, [] { return false; });  // returns early on stop
  }
  return !options_.stop.stop_requested();
}

std::optional<std::chrono::milliseconds> Client::retryDelay(const std::string& method,
                                                            const kube::Result<kube::HttpResponse>& response,
                                                            int attempt) {
  if (!response) return idempotent(method) ? std::optional(backoff(attempt)) : std::nullopt;
  if (response->status == 429) {
    const auto advice = kube::retryAfter(*response);
    if (!advice) return backoff(attempt);
    if (*advice <= options_.retry.max_retry_after) return std::chrono::milliseconds(*advice);
    return std::nullopt;
  }
  if (response->status >= 500 && idempotent(method)) return backoff(attempt);
  return std::nullopt;
}

kube::Result<Json> Client::call(const Call& call) {
  kube::HttpRequest request{.method = call.method, .path = call.path, .timeout = options_.request_timeout};
  if (call.body) {
    request.body = call.body->dump();
    request.content_type = "application/json";
  }
  std::chrono::milliseconds slept{0};
  for (int attempt = 1;; ++attempt) {
    auto response = transport_->send(request);
    const auto delay =
        attempt < options_.retry.max_attempts ? retryDelay(call.method, response, attempt) : std::nullopt;
    // Within the budget, wait and repeat; past it, or once stopped, the last answer is the result.
    if (delay && slept + *delay <= options_.retry.max_total_sleep && sleepFor(*delay)) {
      slept += *delay;
      continue;
    }
    if (!response) {
      return detail::redacted(detail::transportFailure(call.what, std::move(response).error()), options_.api_token);
    }
    auto envelope = detail::decodeEnvelope(call.what, *response);
    if (!envelope) return detail::redacted(std::move(envelope).error(), options_.api_token);
    return envelope;
  }
}

kube::Result<std::vector<Json>> Client::listAll(std::string_view what, const std::string& path, std::string query) {
  std::vector<Json> items;
  query += query.empty() ? "?" : "&";
  for (int page = 1; page <= kMaxPages; ++page) {
    auto envelope = call({.what = std::string(what),
                          .path = path + query + "page=" + std::to_string(page) + "&per_page=" +
                                  std::to_string(options_.per_page)});
    if (!envelope) return std::move(envelope).error();
    const Json& result = (*envelope)["result"];
    if (!result.is_array()) {
      return kube::Error{.kind = kube::ErrorKind::kDecode,
                         .message = std::string(what) + ": Cloudflare's answer has no result list", .status = {}};
    }
    items.insert(items.end(), result.begin(), result.end());
    const Json info = envelope->value("result_info", Json::object());
    const auto total_pages = info.find("total_pages");
    if (total_pages != info.end() && total_pages->is_number_integer()) {
      if (page >= total_pages->get<int>()) break;
    } else if (result.size() < static_cast<std::size_t>(options_.per_page)) {
      break;  // no total_pages: a short page is the last one
    }
    if (result.empty()) break;
  }
  return items;
}

namespace detail {

std::string percentEncode(std::string_view text) {
  // The handle argument is ignored since libcurl 7.82.
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  std::string out = escaped ? escaped : "";
  curl_free(escaped);
  return out;
}

kube::Result<std::string> newTunnelSecret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return kube::configError("creating a tunnel secret: OpenSSL's random generator failed");
  }
  std::array<unsigned char, 4 * ((bytes.size() + 2) / 3) + 1> encoded{};
  const int length = EVP_EncodeBlock(encoded.data(), bytes.data(), static_cast<int>(bytes.size()));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return std::string(reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(length));
}

}  // namespace detail
}  // namespace aphex::cloudflare
