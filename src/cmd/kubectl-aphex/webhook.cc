#include "kubectl-aphex/webhook.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ostream>
#include <set>
#include <thread>

#include "aphex/api/group.h"
#include "aphex/api/time.h"
#include "aphex/common/random.h"
#include "aphex/organization/children.h"
#include "kube/base64.h"
#include "kubectl-aphex/objects.h"
#include "kubectl-aphex/runs.h"

namespace aphex::cli {

using kube::Json;

std::string githubSignature(std::string_view secret, std::string_view payload) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0f];
  }
  return out;
}

std::string newDeliveryId() {
  std::string hex = randomHex(16);
  hex[12] = '4';                                           // version 4
  hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];  // variant 10xx
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

Json pushPayload(const PushEvent& event) {
  const std::string full_name = event.repository.owner + "/" + event.repository.name;
  const std::string html_url = "https://github.com/" + full_name;
  const Json owner = {{"login", event.repository.owner}, {"name", event.repository.owner}};
  const Json pusher = {{"name", std::string(kCommandName)}, {"email", "kubectl-aphex@example.invalid"}};
  const Json commit = {{"id", event.after},
                       {"message", "kubectl aphex webhook test"},
                       {"timestamp", event.pushed_at},
                       {"url", html_url + "/commit/" + event.after},
                       {"author", pusher},
                       {"committer", pusher}};
  return {{"ref", "refs/heads/" + event.branch},
          {"before", std::string(40, '0')},
          {"after", event.after},
          {"created", false},
          {"deleted", false},
          {"forced", false},
          {"compare", html_url + "/compare/" + event.after},
          {"commits", Json::array({commit})},
          {"head_commit", commit},
          {"repository",
           {{"name", event.repository.name},
            {"full_name", full_name},
            {"owner", owner},
            {"private", false},
            {"html_url", html_url},
            {"clone_url", html_url + ".git"},
            {"default_branch", event.branch}}},
          {"pusher", pusher},
          {"sender", {{"login", event.repository.owner}}}};
}

std::map<std::string, std::string> deliveryHeaders(std::string_view event, std::string_view delivery_id,
                                                   std::string_view signature) {
  return {{"Content-Type", "application/json"},
          {"User-Agent", "GitHub-Hookshot/kubectl-aphex"},
          {"X-GitHub-Event", std::string(event)},
          {"X-GitHub-Delivery", std::string(delivery_id)},
          {"X-Hub-Signature-256", std::string(signature)}};
}

namespace {

size_t collect(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

}  // namespace

HttpAnswer postDelivery(const std::string& url, const std::string& body,
                        const std::map<std::string, std::string>& headers, std::chrono::seconds timeout) {
  HttpAnswer answer;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return {.status = 0, .body = {}, .error = "libcurl could not start"};
  curl_slist* list = nullptr;
  for (const auto& [name, value] : headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  } else {
    answer.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return answer;
}

namespace {

struct OrgWebhook {
  Json org;
  std::string url;
  std::string secret_ns, secret_name, secret_key;
};

// The organization and where its webhook secret is; an exit code when it cannot be read.
std::optional<OrgWebhook> readOrgWebhook(Connection& conn, Io& io, const std::string& name, int& exit_code) {
  auto org = conn.client->get(api::kOrganizations, conn.flags.platform_namespace, name);
  if (!org) {
    exit_code = reportError(io, "organization " + conn.flags.platform_namespace + "/" + name, org.error(),
                            "check the name and --platform-namespace; list them with kubectl get organizations -n " +
                                conn.flags.platform_namespace);
    return std::nullopt;
  }
  const Json status = org->value("status", Json::object());
  const Json ref = status.value("webhookSecretRef", Json::object());
  return OrgWebhook{.org = *org, .url = status.value("webhookURL", ""),
                    .secret_ns = ref.value("namespace", ""), .secret_name = ref.value("name", ""),
                    .secret_key = ref.value("key", "")};
}

struct SecretValue {
  std::string value;
  std::string rotation;  // the rotation request that made it
};

kube::Result<SecretValue> readSecret(kube::Client& client, const OrgWebhook& hook) {
  auto secret = client.get(kube::resources::kSecrets, hook.secret_ns, hook.secret_name);
  if (!secret) return std::move(secret).error();
  const std::string encoded = secret->value("data", Json::object()).value(hook.secret_key, "");
  const Json annotations = secret->value("metadata", Json::object()).value("annotations", Json::object());
  return SecretValue{.value = kube::base64Decode(encoded).value_or(""),
                     .rotation = annotations.value(std::string(organization::kRotationAnnotation), "")};
}

// The organization has not got its webhook `what` yet: the controller has not provisioned it.
int notYet(Io& io, const std::string& org, std::string_view what) {
  return fail(io, kExitUnhealthy, "organization " + org + " has no webhook " + std::string(what) + " yet; see " +
                                      std::string(kCommandName) + " org describe " + org);
}

int secretError(Io& io, const OrgWebhook& hook, const kube::Error& error) {
  return reportError(io, "secret " + hook.secret_ns + "/" + hook.secret_name, error,
                     "the controller makes it with the organization; see kubectl aphex org describe " +
                         metadataOf(hook.org, "name"));
}

}  // namespace

int runWebhookUrl(Connection& conn, Io& io, const std::string& org) {
  int exit_code = kExitOk;
  auto hook = readOrgWebhook(conn, io, org, exit_code);
  if (!hook) return exit_code;
  if (hook->url.empty()) return notYet(io, org, "URL");
  io.out << hook->url << "\n";
  return kExitOk;
}

int runWebhookSecret(Connection& conn, Io& io, const WebhookSecretFlags& flags) {
  int exit_code = kExitOk;
  auto hook = readOrgWebhook(conn, io, flags.org, exit_code);
  if (!hook) return exit_code;
  if (hook->secret_name.empty()) return notYet(io, flags.org, "secret");
  if (!flags.show_secret) {
    io.out << "Secret " << hook->secret_ns << "/" << hook->secret_name << ", key " << hook->secret_key << "\n";
    io.err << "(the value is not printed; add --show-secret to print it)\n";
    return kExitOk;
  }
  auto secret = readSecret(*conn.client, *hook);
  if (!secret) return secretError(io, *hook, secret.error());
  io.out << secret->value << "\n";
  return kExitOk;
}

int runWebhookRotate(Connection& conn, Io& io, const WebhookRotateFlags& flags) {
  int exit_code = kExitOk;
  auto hook = readOrgWebhook(conn, io, flags.org, exit_code);
  if (!hook) return exit_code;
  // The value means nothing to the controller; a new one is the request. Time plus randomness
  // keeps two rotations in the same second apart.
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  const std::string request = api::formatTime(now) + "-" + randomHex(4);
  const Json patch = {{"metadata", {{"annotations", {{std::string(api::kRotateWebhookSecretAnnotation), request}}}}}};
  auto patched = conn.client->mergePatch(api::kOrganizations, conn.flags.platform_namespace, flags.org, patch);
  if (!patched) return reportError(io, "organization " + conn.flags.platform_namespace + "/" + flags.org, patched.error());
  io.err << "rotation requested (" << api::kRotateWebhookSecretAnnotation << "=" << request << "); waiting for the "
         << "controller to write the new secret\n";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(flags.timeout_seconds);
  for (;;) {
    if (hook->secret_name.empty()) {
      if (auto again = readOrgWebhook(conn, io, flags.org, exit_code)) hook = std::move(again);
    }
    if (!hook->secret_name.empty()) {
      auto secret = readSecret(*conn.client, *hook);
      if (!secret && !secret.error().isNotFound()) return secretError(io, *hook, secret.error());
      if (secret && secret->rotation == request && !secret->value.empty()) {
        io.err << "Secret " << hook->secret_ns << "/" << hook->secret_name << " has a new value: give it to every "
               << "GitHub webhook of " << flags.org << "'s repositories (" << kCommandName << " webhook secret "
               << flags.org << " --show-secret)\n";
        if (flags.show_secret) io.out << secret->value << "\n";
        return kExitOk;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(io, kExitTimeout, "the webhook secret of " + flags.org + " has no new value after " +
                                        std::to_string(flags.timeout_seconds) + "s: is aphex-controller running? (" +
                                        std::string(kCommandName) + " status)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

namespace {

// Names of the PipelineRuns in `ns` now; nullopt when they cannot be listed.
std::optional<std::set<std::string>> pipelineRunNames(kube::Client& client, const std::string& ns) {
  auto runs = client.list(kPipelineRuns, ns);
  if (!runs) return std::nullopt;
  std::set<std::string> names;
  for (const auto& run : (*runs)["items"]) names.insert(metadataOf(run, "name"));
  return names;
}

std::string newRun(kube::Client& client, const std::string& ns, const std::set<std::string>& before) {
  const auto now = pipelineRunNames(client, ns);
  if (!now) return "";
  for (const auto& name : *now) {
    if (!before.contains(name)) return name;
  }
  return "";
}

}  // namespace

namespace {

// Signs and sends one push of `event` to `url`; kExitOk when the listener accepted it (2xx).
int deliverPush(Io& io, const std::string& url, const PushEvent& event, const std::string& secret,
                const std::string& org_namespace) {
  const std::string body = pushPayload(event).dump();
  const std::string delivery = newDeliveryId();
  io.err << "sending a push of " << event.repository.owner << "/" << event.repository.name << " branch "
         << event.branch << " (commit " << event.after << ", delivery " << delivery << ") to " << url << "\n";
  const HttpAnswer answer =
      postDelivery(url, body, deliveryHeaders("push", delivery, githubSignature(secret, body)), std::chrono::seconds(10));
  if (answer.status == 0) {
    const bool in_cluster = url.find(".svc.cluster.local") != std::string::npos;
    return fail(io, kExitUnreachable,
                "no answer from " + url + ": " + answer.error +
                    (in_cluster ? "\n  fix: that URL is in-cluster; forward the listener (kubectl port-forward -n " +
                                      org_namespace + " svc/el-github-listener 8080) and pass --url http://127.0.0.1:8080"
                                : ""));
  }
  io.out << "listener answered HTTP " << answer.status << (answer.body.empty() ? "" : ": " + oneLine(answer.body, 200))
         << "\n";
  if (answer.status < 200 || answer.status >= 300) {
    return fail(io, kExitUnhealthy, "the listener refused the delivery (HTTP " + std::to_string(answer.status) + ")");
  }
  return kExitOk;
}

// The name of a PipelineRun in `ns` not in `before`, polled until `deadline`; "" when none came.
std::string awaitNewRun(kube::Client& client, const std::string& ns, const std::set<std::string>& before,
                        std::chrono::steady_clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::string run = newRun(client, ns, before); !run.empty()) return run;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return "";
}

}  // namespace

int runWebhookTest(Connection& conn, Io& io, const WebhookTestFlags& flags) {
  int exit_code = kExitOk;
  const auto found = resolveBinding(conn, io, flags.repository, flags.branch, exit_code);
  if (!found) return exit_code;
  const Json spec = found->binding.value("spec", Json::object());
  const std::string org = spec.value("aphexOrg", "");
  auto hook = readOrgWebhook(conn, io, org, exit_code);
  if (!hook) return exit_code;
  const std::string url =
      !flags.url.empty() ? flags.url : found->binding.value("status", Json::object()).value("webhookURL", hook->url);
  if (url.empty()) return notYet(io, org, "URL");
  if (hook->secret_name.empty()) return notYet(io, org, "secret");
  auto secret = readSecret(*conn.client, *hook);
  if (!secret) return secretError(io, *hook, secret.error());

  const std::string& ns = found->pipeline_namespace;
  const auto before = pipelineRunNames(*conn.client, ns);
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  const PushEvent event{.repository = found->repository,
                        .branch = flags.branch.empty() ? spec.value("branch", "main") : flags.branch,
                        .after = randomHex(20),
                        .pushed_at = api::formatTime(now)};
  const auto sent_at = std::chrono::steady_clock::now();
  if (const int sent = deliverPush(io, url, event, secret->value, hook->secret_ns); sent != kExitOk) return sent;
  if (!before) {
    io.err << "warning: cannot list PipelineRuns in " << ns << "; not checking that one started\n";
    return kExitOk;
  }
  const std::string run =
      awaitNewRun(*conn.client, ns, *before, sent_at + std::chrono::seconds(flags.timeout_seconds));
  if (run.empty()) {
    return fail(io, kExitUnhealthy,
                "no PipelineRun appeared in " + ns + " within " + std::to_string(flags.timeout_seconds) +
                    "s\n  fix: check the Trigger's filter (branch " + event.branch +
                    ") and the listener's log: kubectl logs -n " + hook->secret_ns + " deploy/el-github-listener");
  }
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent_at);
  io.out << "PipelineRun " << ns << "/" << run << " started " << after.count() << " ms after the delivery\n"
         << "follow it with: " << kCommandName << " runs " << flags.repository << "\n";
  return kExitOk;
}

}  // namespace aphex::cli
