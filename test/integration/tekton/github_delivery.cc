#include "integration/tekton/github_delivery.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>

namespace aphex::testing {
namespace {

std::string hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0x0f];
  }
  return out;
}

std::size_t collect(char* data, std::size_t size, std::size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

}  // namespace

std::string githubSignature(std::string_view secret, std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest.data(), &length) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return "sha256=" + hex(digest.data(), length);
}

std::string newDeliveryId() {
  static std::mt19937_64 random{std::random_device{}()};
  std::array<unsigned char, 16> bytes{};
  for (auto& byte : bytes) byte = static_cast<unsigned char>(random());
  const std::string h = hex(bytes.data(), bytes.size());
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

kube::Json pushPayload(const std::string& repo_full_name, const std::string& ref, const std::string& after) {
  return {{"ref", ref},
          {"before", std::string(40, '0')},
          {"after", after},
          {"created", true},
          {"deleted", false},
          {"repository",
           {{"full_name", repo_full_name}, {"clone_url", "https://github.com/" + repo_full_name + ".git"}}},
          {"head_commit", {{"id", after}, {"timestamp", "2026-01-02T03:04:05Z"}, {"message", "a change"}}}};
}

GithubDelivery signedDelivery(std::string_view secret, const kube::Json& payload, std::string event) {
  GithubDelivery delivery{.event = std::move(event), .id = newDeliveryId(), .body = payload.dump(), .signature = {}};
  delivery.signature = githubSignature(secret, delivery.body);
  return delivery;
}

DeliveryAnswer deliver(const std::string& url, const GithubDelivery& delivery) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  curl_slist* raw_headers = nullptr;
  const auto add = [&](const std::string& header) { raw_headers = curl_slist_append(raw_headers, header.c_str()); };
  add("Content-Type: application/json");
  add("User-Agent: GitHub-Hookshot/aphex-tests");
  add("X-GitHub-Event: " + delivery.event);
  add("X-GitHub-Delivery: " + delivery.id);
  if (delivery.signature) add("X-Hub-Signature-256: " + *delivery.signature);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers, &curl_slist_free_all);
  DeliveryAnswer answer;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, delivery.body.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(delivery.body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &answer.body);
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) throw std::runtime_error("POST " + url + ": " + curl_easy_strerror(code));
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

}  // namespace aphex::testing
