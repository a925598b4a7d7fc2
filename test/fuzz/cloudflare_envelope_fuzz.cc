// libFuzzer target: the Cloudflare response envelope decoder, what classifies its errors and
// kube::retryAfter, on any answer: two bytes pick the HTTP status, then a Retry-After header up to
// the first newline, then the body. An answer of the wrong shape must never crash the controller.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cloudflare/internal.h"
#include "kube/client.h"

namespace {

namespace cloudflare = aphex::cloudflare;

void readResult(const kube::Json& envelope) {
  const auto result = envelope.find("result");
  if (result == envelope.end()) return;
  if (result->is_array()) {
    for (const kube::Json& item : *result) {
      (void)cloudflare::detail::tunnelFrom(item);
      (void)cloudflare::detail::dnsRecordFrom(item);
    }
  } else {
    (void)cloudflare::detail::tunnelFrom(*result);
    (void)cloudflare::detail::dnsRecordFrom(*result);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  kube::HttpResponse response;
  response.status = 100 + ((data[0] << 8) | data[1]) % 500;  // 100..599
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::size_t newline = rest.find('\n');
  if (newline != std::string_view::npos) {
    response.headers["retry-after"] = std::string(rest.substr(0, newline));
    response.body = std::string(rest.substr(newline + 1));
  } else {
    response.body = std::string(rest);
  }
  (void)kube::retryAfter(response);

  auto envelope = cloudflare::detail::decodeEnvelope("fuzzing", response);
  if (envelope) {
    readResult(*envelope);
    return 0;
  }
  const kube::Error error = cloudflare::detail::redacted(envelope.error(), "token");
  (void)cloudflare::cloudflareCodes(error);
  (void)cloudflare::isAuthenticationError(error);
  (void)cloudflare::isTransient(error);
  (void)cloudflare::retryAfter(error);
  if (error.status) (void)error.status->details.dump();
  // The message reaches conditions, Events and logs, all written as JSON: it must be valid UTF-8
  // whatever bytes the answer held (dump() throws, and so fails the run, otherwise).
  (void)kube::Json(error.message).dump();
  return 0;
}
