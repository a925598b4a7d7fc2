#include "integration/tekton/github_delivery.h"

#include <curl/curl.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace aphex::testing {
namespace {

std::size_t collect(char* data, std::size_t size, std::size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

}  // namespace

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
