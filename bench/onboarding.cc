// Onboarding: how fast a running aphex-controller turns many Organizations and RepoBindings
// into Ready ones, what it writes to the API server meanwhile and at rest, and what it costs in
// memory.
//
// The controller is a separate process (bench/run-onboarding starts the real binary under its
// ServiceAccount with the shipped RBAC); this program only creates objects as a user would,
// watches them with informers, reads the controller's /metrics (rest_client_requests_total) and
// its /proc/<pid>/status. Phases:
//   1. Organizations, created in parallel, until all are Ready;
//   2. RepoBindings (half in the platform namespace, half self-service in org-<org>), created by
//      --parallelism threads: time from the first create to the last Ready, create→Ready
//      percentiles, the controller's writes and memory;
//   3. steady state: the controller's writes over --steady-seconds once everything is Ready;
//   4. idle latency: RepoBindings created one at a time, each waited for;
//   5. ceiling: as many writes as the controller issued in phase 2, issued directly;
//   5b. same-objects ceiling: every binding's namespace and children, built by the controller's
//       own functions, written directly (under other names) by as many threads as phase 2 used.
// It prints figures and asserts nothing; docs/benchmarks.md says what each figure means and
// records a run.
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "aphex/api/group.h"
#include "aphex/api/organization.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "aphex/config.h"
#include "aphex/repobinding/children.h"
#include "bench_support.h"

#include "kube/client.h"
#include "kube/config.h"
#include "runtime/clock.h"
#include "runtime/events.h"
#include "runtime/informer.h"
#include "runtime/store.h"

namespace {

using namespace aphex::bench;

using kube::Json;
using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

using aphex::api::kOrganizations;
using aphex::api::kRepoBindings;
using aphex::resources::kEventListeners;

// Every object this program creates carries the run's id under this label, so its informers see
// its own objects only and a person can find them afterwards.
constexpr std::string_view kRunLabel = "bench.aphex.dev/onboarding";
constexpr std::string_view kFieldManager = "aphex-bench-onboarding";
constexpr std::size_t kCeilingNamespaces = 100;
constexpr std::size_t kCeilingPayloadBytes = 1000;
constexpr std::chrono::seconds kSettle{5};

struct Options {
  std::string kubeconfig;
  std::string ceiling_kubeconfig;
  std::string platform_namespace = "platform-system";
  std::size_t organizations = 100;
  std::size_t bindings_per_organization = 10;
  std::size_t parallelism = 8;
  int controller_pid = 0;
  std::string metrics_url;
  std::size_t steady_seconds = 30;
  std::size_t idle_samples = 20;
  std::size_t timeout_seconds = 900;
  std::string output = "text";
  bool same_objects_ceiling = true;
};

// Thrown to end the run; main() reports it.
struct Failure {
  std::string message;
};

[[noreturn]] void fail(const std::string& message) { throw Failure{message}; }

double seconds(SteadyClock::duration duration) { return std::chrono::duration<double>(duration).count(); }
double secondsSince(TimePoint start) { return seconds(SteadyClock::now() - start); }

std::string randomText(std::size_t length, std::string_view alphabet, std::mt19937_64& random) {
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out(length, ' ');
  for (auto& c : out) c = alphabet[pick(random)];
  return out;
}

// `n` in decimal, zero-padded to `width` digits.
std::string padded(std::size_t n, std::size_t width) {
  std::string digits = std::to_string(n);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

// --- the controller's process ------------------------------------------------------------------

struct ProcessSample {
  bool ok = false;
  std::int64_t rss = 0;  // VmRSS, bytes
  std::int64_t hwm = 0;  // VmHWM: peak resident since the process started
  double cpu = 0;        // user + system seconds since the process started
};

// CPU seconds from /proc/<pid>/stat: utime and stime are the 14th and 15th fields, counted after
// the command name, which is in parentheses and may itself hold spaces.
double processCpuSeconds(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::strtod(field.c_str(), nullptr);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

ProcessSample sampleProcess(int pid) {
  if (pid <= 0) return {};
  std::ifstream file("/proc/" + std::to_string(pid) + "/status");
  if (!file) return {};
  std::string status((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return {.ok = true,
          .rss = statusKilobytes(status, "VmRSS") * 1024,
          .hwm = statusKilobytes(status, "VmHWM") * 1024,
          .cpu = processCpuSeconds(pid)};
}

// Samples the controller's resident memory every 100 ms on its own thread; VmHWM alone would not
// tell the peak of one phase from that of the start-up.
class MemorySampler {
 public:
  explicit MemorySampler(int pid) : pid_(pid) {
    if (pid_ <= 0) return;
    thread_ = std::jthread([this](std::stop_token stop) {
      std::mutex mutex;
      std::condition_variable_any wake;
      std::unique_lock lock(mutex);
      while (!stop.stop_requested()) {
        const ProcessSample sample = sampleProcess(pid_);
        if (sample.ok) {
          std::int64_t peak = peak_.load();
          while (sample.rss > peak && !peak_.compare_exchange_weak(peak, sample.rss)) {
          }
        } else if (!lost_.exchange(true)) {
          note("warning: cannot read /proc/" + std::to_string(pid_) + "/status: has the controller exited?");
        }
        wake.wait_for(lock, stop, std::chrono::milliseconds(100), [] { return false; });
      }
    });
  }
  // Starts a new phase: the peak from here on.
  void resetPeak() { peak_ = sampleProcess(pid_).rss; }
  std::int64_t peak() const { return peak_.load(); }

 private:
  int pid_;
  std::atomic<std::int64_t> peak_{0};
  std::atomic<bool> lost_{false};
  std::jthread thread_;
};

// --- the controller's metrics ------------------------------------------------------------------

std::size_t appendBody(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::optional<std::string> httpGet(const std::string& url, std::string& error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    error = "curl_easy_init failed";
    return std::nullopt;
  }
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    error = url + ": " + curl_easy_strerror(code);
    return std::nullopt;
  }
  if (status != 200) {
    error = url + ": HTTP " + std::to_string(status);
    return std::nullopt;
  }
  return body;
}

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// One line of the text exposition format: name, optional {label="value",...}, value, optional
// timestamp. Label values escape backslash, double quote and newline.
std::optional<Sample> parseSampleLine(std::string_view line) {
  Sample sample;
  std::size_t at = 0;
  while (at < line.size() && line[at] != '{' && line[at] != ' ') ++at;
  sample.name = std::string(line.substr(0, at));
  if (at < line.size() && line[at] == '{') {
    ++at;
    while (at < line.size() && line[at] != '}') {
      const auto equals = line.find('=', at);
      if (equals == std::string_view::npos || equals + 1 >= line.size() || line[equals + 1] != '"') return std::nullopt;
      std::string key(line.substr(at, equals - at));
      std::string value;
      at = equals + 2;
      for (; at < line.size() && line[at] != '"'; ++at) {
        if (line[at] == '\\' && at + 1 < line.size()) {
          ++at;
          value += line[at] == 'n' ? '\n' : line[at];
        } else {
          value += line[at];
        }
      }
      if (at >= line.size()) return std::nullopt;
      ++at;  // the closing quote
      sample.labels.emplace(std::move(key), std::move(value));
      if (at < line.size() && line[at] == ',') ++at;
    }
    if (at >= line.size()) return std::nullopt;
    ++at;  // the closing brace
  }
  while (at < line.size() && line[at] == ' ') ++at;
  if (at >= line.size()) return std::nullopt;
  const std::string number(line.substr(at, line.find(' ', at) - at));
  char* end = nullptr;
  sample.value = std::strtod(number.c_str(), &end);
  if (end == number.c_str()) return std::nullopt;
  return sample;
}

std::vector<Sample> parseExposition(const std::string& text) {
  std::vector<Sample> samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (auto sample = parseSampleLine(line)) samples.push_back(std::move(*sample));
  }
  return samples;
}

// What the controller has done so far, from its counters.
struct Counters {
  bool ok = false;
  double writes = 0;                            // rest_client_requests_total, method != GET
  std::map<std::string, double> writes_by;      // "PATCH 200" → count
  std::map<std::string, double> reconciles_by;  // controller → count
  double reconcile_errors = 0;
};

Counters operator-(const Counters& after, const Counters& before) {
  Counters delta{.ok = after.ok && before.ok};
  delta.writes = after.writes - before.writes;
  delta.reconcile_errors = after.reconcile_errors - before.reconcile_errors;
  const auto subtract = [](const std::map<std::string, double>& a, const std::map<std::string, double>& b) {
    std::map<std::string, double> out;
    for (const auto& [key, value] : a) {
      const auto found = b.find(key);
      const double diff = value - (found == b.end() ? 0.0 : found->second);
      if (diff != 0) out[key] = diff;
    }
    return out;
  };
  delta.writes_by = subtract(after.writes_by, before.writes_by);
  delta.reconciles_by = subtract(after.reconciles_by, before.reconciles_by);
  return delta;
}

Counters readCounters(const std::string& url) {
  if (url.empty()) return {};
  std::string error;
  const auto body = httpGet(url, error);
  if (!body) {
    note("warning: cannot read the controller's metrics: " + error);
    return {};
  }
  Counters counters{.ok = true};
  for (const auto& sample : parseExposition(*body)) {
    const auto label = [&](const char* name) {
      const auto found = sample.labels.find(name);
      return found == sample.labels.end() ? std::string() : found->second;
    };
    if (sample.name == "rest_client_requests_total" && label("method") != "GET") {
      counters.writes += sample.value;
      counters.writes_by[label("method") + " " + label("code")] += sample.value;
    } else if (sample.name == "controller_runtime_reconcile_total") {
      counters.reconciles_by[label("controller")] += sample.value;
    } else if (sample.name == "controller_runtime_reconcile_errors_total") {
      counters.reconcile_errors += sample.value;
    }
  }
  return counters;
}

std::int64_t whole(double value) { return std::llround(value); }

std::string describeCounts(const std::map<std::string, double>& counts) {
  std::string out;
  for (const auto& [key, value] : counts) out += (out.empty() ? "" : ", ") + key + ": " + std::to_string(whole(value));
  return out.empty() ? "none" : out;
}

// Writes whose answer was not a 2xx: conflicts, invalid objects, refusals, errors.
double failedWrites(const Counters& counters) {
  double failed = 0;
  for (const auto& [key, value] : counters.writes_by) {
    if (key.substr(key.find(' ') + 1).rfind('2', 0) != 0) failed += value;
  }
  return failed;
}

Json countersJson(const Counters& counters) {
  if (!counters.ok) return nullptr;
  Json writes_by = Json::object();
  for (const auto& [key, value] : counters.writes_by) writes_by[key] = whole(value);
  Json reconciles = Json::object();
  for (const auto& [key, value] : counters.reconciles_by) reconciles[key] = whole(value);
  return {{"writes", whole(counters.writes)},
          {"writes_by_method_and_code", writes_by},
          {"writes_not_2xx", whole(failedWrites(counters))},
          {"reconciles", reconciles},
          {"reconcile_errors", whole(counters.reconcile_errors)}};
}

// --- readiness -----------------------------------------------------------------------------------

std::string conditionField(const Json& object, std::string_view type, const char* field) {
  const auto status = object.find("status");
  if (status == object.end() || !status->is_object()) return "";
  for (const auto& condition : status->value("conditions", Json::array())) {
    if (condition.value("type", "") == type) return condition.value(field, "");
  }
  return "";
}

// What Ready means for Aphex's objects: condition Ready=True for the current generation.
bool isReady(const Json& object) {
  if (conditionField(object, "Ready", "status") != "True") return false;
  const auto status = object.find("status");
  return status->value("observedGeneration", std::int64_t{0}) ==
         object["metadata"].value("generation", std::int64_t{-1});
}

// The EventListener of an Organization lists the namespaces of its Ready RepoBindings.
std::set<std::string> listenerNamespaces(const Json& listener) {
  std::set<std::string> namespaces;
  const Json spec = listener.value("spec", Json::object());
  for (const auto& group : spec.value("triggerGroups", Json::array())) {
    const Json selector = group.value("triggerSelector", Json::object()).value("namespaceSelector", Json::object());
    for (const auto& name : selector.value("matchNames", Json::array())) {
      if (name.is_string()) namespaces.insert(name.get<std::string>());
    }
  }
  return namespaces;
}

// When each awaited object first reached its milestone (Ready, or a listener that lists all its
// namespaces), as seen by an informer's handlers. Objects are awaited in groups (one per phase);
// start() stamps when the awaiting began, i.e. just before the create request.
class Milestones {
 public:
  using Reached = std::function<bool(const Json&)>;
  explicit Milestones(Reached reached) : reached_(std::move(reached)) {}

  void start(const std::string& key, int group) {
    std::lock_guard lock(mutex_);
    entries_[key] = Entry{.group = group, .started = SteadyClock::now(), .reached = std::nullopt};
  }

  // From informer handlers: quick, no API calls.
  void observe(const kube::runtime::ObjectPtr& object) {
    if (!reached_(*object)) return;
    const TimePoint now = SteadyClock::now();
    const std::string key = kube::runtime::objectKey(*object);
    std::lock_guard lock(mutex_);
    const auto entry = entries_.find(key);
    if (entry == entries_.end() || entry->second.reached) return;
    entry->second.reached = now;
    ++reached_count_[entry->second.group];
    cv_.notify_all();
  }

  std::size_t reached(int group) const {
    std::lock_guard lock(mutex_);
    const auto found = reached_count_.find(group);
    return found == reached_count_.end() ? 0 : found->second;
  }

  // Waits until `count` objects of `group` have reached the milestone, printing progress every
  // 5 s when `what` is not empty; false when `timeout` came first.
  bool waitFor(int group, std::size_t count, std::chrono::seconds timeout, const std::string& what) {
    const TimePoint deadline = SteadyClock::now() + timeout;
    std::unique_lock lock(mutex_);
    const auto done = [&] { return reached_count_[group] >= count; };
    while (!done()) {
      const TimePoint next = std::min(deadline, SteadyClock::now() + std::chrono::seconds(5));
      if (cv_.wait_until(lock, next, done)) break;
      if (SteadyClock::now() >= deadline) return false;
      if (!what.empty()) note(what + " " + std::to_string(reached_count_[group]) + "/" + std::to_string(count));
    }
    return true;
  }

  struct Entry {
    int group = 0;
    TimePoint started;
    std::optional<TimePoint> reached;
  };
  std::vector<std::pair<std::string, Entry>> entries(int group) const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, Entry>> out;
    for (const auto& [key, entry] : entries_) {
      if (entry.group == group) out.emplace_back(key, entry);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
  }

 private:
  Reached reached_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mutex_
  std::map<int, std::size_t> reached_count_;         // guarded by mutex_
};

// An informer on its own thread that feeds a Milestones with every added and updated object.
struct Watched {
  Watched(kube::Client& client, kube::runtime::InformerOptions options, Milestones& milestones)
      : informer(client, kube::runtime::realClock(), std::move(options)) {
    informer.addHandler({.on_add = [&milestones](const kube::runtime::ObjectPtr& object) { milestones.observe(object); },
                         .on_update = [&milestones](const kube::runtime::ObjectPtr&,
                                                    const kube::runtime::ObjectPtr& object) { milestones.observe(object); },
                         .on_delete = nullptr});
    thread = std::jthread([this](std::stop_token stop) { informer.run(stop); });
  }
  void waitForSync(const std::string& what) {
    if (!informer.waitForSync(thread.get_stop_token(), std::chrono::minutes(2))) {
      fail("the informer on " + what + " did not sync in 2 min (are the CRDs installed?)");
    }
  }
  kube::runtime::Informer informer;
  std::jthread thread;  // last: stopped and joined before the informer goes
};

// Why awaited objects did not get there: their Ready condition (or their absence from the cache).
std::string describeStuck(const Milestones& milestones, int group, const kube::runtime::Store& store,
                          std::size_t limit) {
  std::ostringstream out;
  std::size_t shown = 0, stuck = 0;
  for (const auto& [key, entry] : milestones.entries(group)) {
    if (entry.reached) continue;
    ++stuck;
    if (shown == limit) continue;
    ++shown;
    const auto object = store.get(key);
    out << "\n  " << key << ": ";
    if (!object) {
      out << "not in the cache";
      continue;
    }
    const Json& o = *object;
    const Json status = o.value("status", Json::object());
    out << "phase " << status.value("phase", "-") << ", Ready=" << conditionField(o, "Ready", "status") << " ("
        << conditionField(o, "Ready", "reason") << ": " << conditionField(o, "Ready", "message") << "), generation "
        << o["metadata"].value("generation", std::int64_t{0}) << ", observedGeneration "
        << status.value("observedGeneration", std::int64_t{0});
  }
  if (stuck > shown) out << "\n  … and " << (stuck - shown) << " more";
  return out.str();
}

// --- the objects ---------------------------------------------------------------------------------

// A tekton.dev/v1 Pipeline that declares the parameters of the pipeline contract.
std::string pipelineYaml(const std::string& name) {
  return "apiVersion: tekton.dev/v1\n"
         "kind: Pipeline\n"
         "metadata:\n"
         "  name: " + name + "\n"
         "spec:\n"
         "  params:\n"
         "    - {name: git-url, type: string}\n"
         "    - {name: git-revision, type: string}\n"
         "    - {name: repo-full-name, type: string}\n"
         "    - {name: event-type, type: string}\n"
         "    - {name: event-id, type: string}\n"
         "  tasks:\n"
         "    - name: build\n"
         "      params:\n"
         "        - {name: revision, value: $(params.git-revision)}\n"
         "      taskSpec:\n"
         "        params:\n"
         "          - {name: revision, type: string}\n"
         "        steps:\n"
         "          - name: build\n"
         "            image: registry.example.invalid/build:1.0\n"
         "            script: echo building $(params.revision)\n";
}

Json organizationObject(const std::string& ns, const std::string& name, const std::string& run) {
  return {{"apiVersion", "aphex.io/v1alpha1"},
          {"kind", "Organization"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{std::string(kRunLabel), run}}}}},
          {"spec",
           {{"displayName", "Onboarding benchmark " + name},
            {"adminUsers", {"owner@" + name + ".example.com"}},
            {"adminGroups", {name + "-admins"}},
            {"exposure", {{"mode", "None"}}}}}};
}

struct Binding {
  std::string org;
  std::string ns;    // where the RepoBinding lives: the platform namespace or org-<org>
  std::string name;  // also the pipeline's name, hence its namespace
  std::string key() const { return kube::runtime::objectKey(ns, name); }
};

Json repoBindingObject(const Binding& binding, const std::string& run) {
  return {{"apiVersion", "aphex.io/v1alpha1"},
          {"kind", "RepoBinding"},
          {"metadata",
           {{"name", binding.name}, {"namespace", binding.ns}, {"labels", {{std::string(kRunLabel), run}}}}},
          {"spec",
           {{"aphexOrg", binding.org},
            {"repoOrg", "gh-" + binding.org},
            {"repoName", binding.name},
            {"pipelineName", binding.name},
            {"branch", "main"},
            {"pipelineSpec", pipelineYaml(binding.name)}}}};
}

using aphex::api::organizationNamespace;

// The client already honours Retry-After; this also rides out dropped connections.
// A create retried after a lost answer may meet the object its first attempt made.
std::optional<std::string> create(kube::Client& client, const kube::ResourceType& type, const std::string& ns,
                                  const Json& object) {
  bool retried = false;
  auto made = withRetries([&] {
    auto result = client.create(type, ns, object);
    if (!result && retriable(result.error())) retried = true;
    return result;
  });
  if (made || (retried && made.error().isAlreadyExists())) return std::nullopt;
  return kube::runtime::objectKey(object) + ": " + made.error().message;
}

// The user the API server takes `client` for (a SelfSubjectReview), or the error why not.
std::string userName(kube::Client& client) {
  const kube::ResourceType reviews{.group = "authentication.k8s.io", .version = "v1", .plural = "selfsubjectreviews",
                                   .namespaced = false};
  const Json review{{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "SelfSubjectReview"}};
  auto answered = withRetries([&] { return client.create(reviews, "", review); });
  if (!answered) return "(unknown: " + answered.error().message + ")";
  return (*answered).value("status", Json::object()).value("userInfo", Json::object()).value("username", "(unknown)");
}

// Lists `type` (with `selector`) once a second until `left` finds nothing left to wait for in
// the list; the seconds that took. After `timeout`, fails with `describe` of what was left.
double pollUntilNoneLeft(kube::Client& client, const kube::ResourceType& type, const std::string& selector,
                         std::chrono::seconds timeout, const std::function<std::size_t(const Json& items)>& left,
                         const std::function<std::string(std::size_t)>& describe) {
  const TimePoint started = SteadyClock::now();
  while (true) {
    auto listed = withRetries([&] { return client.list(type, "", {.label_selector = selector}); });
    if (!listed) fail("listing " + type.plural + ": " + listed.error().message);
    const std::size_t remaining = left((*listed)["items"]);
    if (remaining == 0) return secondsSince(started);
    if (SteadyClock::now() - started > timeout) {
      fail(describe(remaining) + " after " + std::to_string(timeout.count()) + " s");
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// Seconds until `expected` ResourceQuotas made by the controller count RepoBindings (their
// status.used names the resource).
double waitForCountedQuotas(kube::Client& client, std::size_t expected, std::chrono::seconds timeout) {
  return pollUntilNoneLeft(
      client, aphex::resources::kResourceQuotas, "app.kubernetes.io/managed-by=aphex-controller", timeout,
      [&](const Json& quotas) {
        std::size_t counted = 0;
        for (const auto& quota : quotas) {
          const Json used = quota.value("status", Json::object()).value("used", Json::object());
          if (used.contains("count/repobindings.aphex.io")) ++counted;
        }
        return expected - std::min(counted, expected);
      },
      [&](std::size_t uncounted) {
        return std::to_string(expected - uncounted) + " of " + std::to_string(expected) +
               " Organization quotas counted";
      });
}

// Seconds until none of `namespaces` (labelled with this run) exists any more: what a deleted
// namespace sets off (kube-controller-manager deleting its objects one by one) must not run
// during the next measurement.
double waitForNamespacesGone(kube::Client& client, const std::vector<std::string>& namespaces, const std::string& run_id,
                             std::chrono::seconds timeout) {
  const std::set<std::string> awaited(namespaces.begin(), namespaces.end());
  return pollUntilNoneLeft(
      client, kube::resources::kNamespaces, std::string(kRunLabel) + "=" + run_id, timeout,
      [&](const Json& listed) {
        std::size_t left = 0;
        for (const auto& ns : listed) {
          if (awaited.contains(ns["metadata"].value("name", ""))) ++left;
        }
        return left;
      },
      [&](std::size_t left) {
        return std::to_string(left) + " of " + std::to_string(awaited.size()) + " namespaces still there";
      });
}

// Runs work(i) for i in [0, count) on `threads` threads; the first error stops the others.
void parallelFor(std::size_t count, std::size_t threads, const std::string& what, std::size_t progress_every,
                 const std::function<std::optional<std::string>(std::size_t)>& work) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::atomic<bool> failed{false};
  std::mutex failure_mutex;
  std::optional<std::string> failure;
  const TimePoint started = SteadyClock::now();
  {
    std::vector<std::jthread> workers;
    for (std::size_t t = 0; t < std::max<std::size_t>(threads, 1); ++t) {
      workers.emplace_back([&] {
        while (!failed.load()) {
          const std::size_t i = next.fetch_add(1);
          if (i >= count) return;
          if (auto error = work(i)) {
            std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::move(error);
            failed = true;
            return;
          }
          const std::size_t finished = done.fetch_add(1) + 1;
          if (finished % progress_every == 0 || finished == count) {
            note(what + " " + std::to_string(finished) + "/" + std::to_string(count) + " (" +
                 fixed(static_cast<double>(finished) / std::max(secondsSince(started), 1e-9), 0) + "/s)");
          }
        }
      });
    }
  }
  if (failure) fail(what + ": " + *failure);
}

// What one binding's controller writes, built by the controller's own functions: its namespace
// first, then every child in the order of the condition groups.
std::vector<aphex::Child> bindingObjects(const Binding& binding, const std::string& run,
                                         const aphex::ControllerConfig& config,
                                         const std::vector<aphex::ApiServerEndpoint>& api_servers) {
  namespace rb = aphex::repobinding;
  auto parsed = aphex::api::RepoBinding::fromJson(repoBindingObject(binding, run));
  if (!parsed) fail(binding.key() + ": " + parsed.error().message);
  auto pipeline = aphex::api::parsePipelineSpec(parsed->spec.pipeline_spec);
  if (!pipeline) fail(binding.key() + ": " + pipeline.error().message);
  std::vector<aphex::Child> objects = rb::namespaceChildren(*parsed, aphex::api::toString(aphex::api::PodSecurityLevel::kRestricted));
  const auto append = [&objects](std::vector<aphex::Child> more) {
    for (auto& child : more) objects.push_back(std::move(child));
  };
  append(rb::pipelineChildren(*parsed, *pipeline));
  append(rb::accessChildren(*parsed));
  append(rb::guardrailChildren(*parsed, config, api_servers));
  append(rb::gitOpsChildren(*parsed, config));
  append(rb::triggerChildren(*parsed, rb::declaresSourceWorkspace(*pipeline)));
  // Not Aphex's: the running controller's label-scoped caches must not see them (nor hold them
  // when the wrapper restarts it, before the namespaces are gone).
  for (auto& child : objects) {
    Json& labels = child.object["metadata"]["labels"];
    labels.erase(std::string(aphex::kManagedByLabel));
    labels[std::string(kRunLabel)] = run;
  }
  return objects;
}

// The API server's addresses, as the controller reads them for its NetworkPolicies.
std::vector<aphex::ApiServerEndpoint> apiServerEndpoints(kube::Client& client) {
  auto slices = withRetries([&] {
    return client.list(aphex::resources::kEndpointSlices, "default",
                       {.label_selector = "kubernetes.io/service-name=kubernetes"});
  });
  if (!slices) fail("listing the API server's EndpointSlices: " + slices.error().message);
  std::vector<kube::runtime::ObjectPtr> items;
  for (auto& item : (*slices)["items"]) items.push_back(std::make_shared<const Json>(std::move(item)));
  return aphex::apiServerEndpoints(items);
}

struct DirectWrites {
  double seconds = 0;
  std::size_t writes = 0;
};

// Phase 5b: each binding's objects written directly by `writer`, one binding per thread at a time:
// the namespace by a create, every child by a server-side apply, as the controller's first pass
// does, without its reads, finalizer and status. The objects are built before the clock starts;
// `client` reads the API server's addresses and deletes the objects afterwards.
DirectWrites writeDirectly(kube::Client& writer, kube::Client& client, const std::vector<Binding>& bindings,
                           const std::string& run, std::size_t parallelism) {
  const aphex::ControllerConfig config;
  const std::vector<aphex::ApiServerEndpoint> api_servers = apiServerEndpoints(client);
  std::vector<std::vector<aphex::Child>> planned;
  DirectWrites result;
  for (const Binding& b : bindings) {
    planned.push_back(bindingObjects(b, run, config, api_servers));
    result.writes += planned.back().size();
  }
  const TimePoint started = SteadyClock::now();
  const auto writeOne = [&](std::size_t i) -> std::optional<std::string> {
    const std::vector<aphex::Child>& objects = planned[i];
    if (auto error = create(writer, kube::resources::kNamespaces, "", objects.front().object)) return error;
    for (std::size_t k = 1; k < objects.size(); ++k) {
      auto applied = withRetries([&] {
        return writer.apply(objects[k].type, objects[k].object, {.field_manager = std::string(kFieldManager)});
      });
      if (!applied) return kube::runtime::objectKey(objects[k].object) + ": " + applied.error().message;
    }
    return std::nullopt;
  };
  parallelFor(planned.size(), parallelism, "bindings written directly", 100, writeOne);
  result.seconds = secondsSince(started);
  for (const auto& objects : planned) {
    for (const auto& child : objects) {
      const auto& metadata = child.object["metadata"];
      // The namespace takes what is in it along; the AppProject lives in Argo CD's namespace.
      if (child.type.plural != kube::resources::kNamespaces.plural && metadata.value("namespace", "") != config.argocd_namespace) continue;
      if (auto removed = client.remove(child.type, metadata.value("namespace", ""), metadata.value("name", ""));
          !removed && !removed.error().isNotFound()) {
        note("could not delete " + kube::runtime::objectKey(child.object) + ": " + removed.error().message);
      }
    }
  }
  return result;
}

// --- figures -------------------------------------------------------------------------------------

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

struct Distribution {
  std::size_t count = 0;
  double min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

Distribution distribution(std::vector<double> values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  d.count = values.size();
  d.min = values.front();
  d.max = values.back();
  d.p50 = percentile(values, 0.50);
  d.p90 = percentile(values, 0.90);
  d.p99 = percentile(values, 0.99);
  double sum = 0;
  for (double v : values) sum += v;
  d.mean = sum / static_cast<double>(values.size());
  return d;
}

Json distributionJson(const Distribution& d) {
  return {{"count", d.count}, {"min", d.min}, {"p50", d.p50}, {"p90", d.p90},
          {"p99", d.p99},     {"max", d.max}, {"mean", d.mean}};
}

// How many Events the controller wrote about each awaited RepoBinding. The controller's event
// writer drops occurrences when its queue is full and does not export that count, so a binding
// with fewer Events than its peers is the only trace of a drop.
struct EventCount {
  std::size_t events = 0;       // Event objects about the bindings
  std::size_t occurrences = 0;  // counting each Event's series
  Distribution per_binding;     // Event objects per binding
};

EventCount countEvents(kube::Client& client, const std::vector<std::string>& binding_keys) {
  std::unordered_map<std::string, std::size_t> per_key;
  for (const auto& key : binding_keys) per_key[key] = 0;
  EventCount count;
  kube::ListOptions page{.limit = 500};
  do {
    auto listed = withRetries([&] { return client.list(kube::runtime::kEventsV1, "", page); });
    if (!listed) fail("listing Events: " + listed.error().message);
    for (const auto& event : (*listed)["items"]) {
      const Json regarding = event.value("regarding", Json::object());
      if (regarding.value("kind", "") != "RepoBinding") continue;
      const auto found = per_key.find(kube::runtime::objectKey(regarding.value("namespace", ""), regarding.value("name", "")));
      if (found == per_key.end()) continue;
      ++found->second;
      ++count.events;
      const Json series = event.value("series", Json::object());
      count.occurrences += static_cast<std::size_t>(std::max<std::int64_t>(1, series.value("count", std::int64_t{1})));
    }
    page.continue_token = (*listed)["metadata"].value("continue", "");
  } while (!page.continue_token.empty());
  std::vector<double> values;
  for (const auto& [key, n] : per_key) values.push_back(static_cast<double>(n));
  count.per_binding = distribution(values);
  return count;
}

std::string milliseconds(double value) { return fixed(value * 1e3, 0) + " ms"; }
// MB as the design's memory target counts them: 10^6 bytes.
std::string megabytes(std::int64_t bytes) { return fixed(static_cast<double>(bytes) / 1e6, 1) + " MB"; }

std::string verdict(std::optional<bool> met) {
  if (!met) return "";
  return *met ? "met" : "MISSED";
}

Json nullable(std::optional<double> value) { return value ? Json(*value) : Json(nullptr); }

}  // namespace

int run(const Options& options);

int main(int argc, char** argv) {
  Options options;
  CLI::App app{
      "Onboarding benchmark: against a running aphex-controller, creates Organizations, then\n"
      "RepoBindings in parallel, and measures how long they take to become Ready, what the\n"
      "controller writes meanwhile and at rest, its memory, the create->Ready latency on an idle\n"
      "system, and the time the API server needs for as many writes issued directly. Prints\n"
      "figures; asserts nothing. See docs/benchmarks.md; bench/run-onboarding runs it all.",
      "aphex_bench_onboarding"};
  app.add_option("--kubeconfig", options.kubeconfig,
                 "kubeconfig of a user that may create namespaces, Organizations and RepoBindings "
                 "(default: $KUBECONFIG)");
  app.add_option("--ceiling-kubeconfig", options.ceiling_kubeconfig,
                 "kubeconfig of the identity that issues phases 5 and 5b's writes (default: --kubeconfig's); "
                 "bench/run-onboarding gives the controller's, so that those writes pass the same "
                 "authorization as the controller's own, which a system:masters user skips");
  app.add_option("--platform-namespace", options.platform_namespace,
                 "the controller's platform namespace: Organizations and half the RepoBindings go there")
      ->capture_default_str();
  app.add_option("--organizations", options.organizations, "Organizations to create")
      ->capture_default_str()
      ->check(CLI::Range(1, 999));
  app.add_option("--bindings-per-organization", options.bindings_per_organization,
                 "RepoBindings to create for each Organization")
      ->capture_default_str()
      ->check(CLI::Range(1, 99));
  app.add_option("--parallelism", options.parallelism, "concurrent writers when creating")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--controller-pid", options.controller_pid,
                 "the controller's process id, for its memory and CPU from /proc (default: not measured)");
  app.add_option("--metrics-url", options.metrics_url,
                 "the controller's /metrics, for its write and reconcile counters (default: not measured)");
  app.add_option("--steady-seconds", options.steady_seconds,
                 "how long to count the controller's writes once everything is Ready")
      ->capture_default_str();
  app.add_option("--idle-samples", options.idle_samples,
                 "RepoBindings created one at a time on the idle system (0: skip)")
      ->capture_default_str();
  app.add_option("--timeout", options.timeout_seconds,
                 "seconds to wait for each phase's objects to become Ready before giving up")
      ->capture_default_str();
  app.add_flag("!--no-same-objects-ceiling", options.same_objects_ceiling,
               "skip phase 5b, which writes every binding's objects directly");
  app.add_option("-o,--output", options.output, "report format: text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  CLI11_PARSE(app, argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  try {
    return run(options);
  } catch (const Failure& failure) {
    std::cerr << "aphex_bench_onboarding: error: " << failure.message << "\n";
    return 1;
  }
}

// A client for `kubeconfig`, or for $KUBECONFIG when it is empty.
std::unique_ptr<kube::Client> connect(const std::string& kubeconfig) {
  std::vector<std::string> paths;
  if (!kubeconfig.empty()) {
    paths.push_back(kubeconfig);
  } else if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::stringstream list(env);
    for (std::string path; std::getline(list, path, ':');) {
      if (!path.empty()) paths.push_back(path);
    }
  }
  if (paths.empty()) fail("--kubeconfig is required (or set KUBECONFIG)");
  auto config = kube::loadKubeconfig({.paths = paths, .context = {}});
  if (!config) fail(config.error().message);
  auto created_client = kube::Client::create(*config);
  if (!created_client) fail(created_client.error().message);
  return std::move(*created_client);
}

int run(const Options& options) {
  // --- connect ---------------------------------------------------------------------------------
  const std::unique_ptr<kube::Client> created_client = connect(options.kubeconfig);
  const std::unique_ptr<kube::Client> ceiling_client =
      options.ceiling_kubeconfig.empty() ? nullptr : connect(options.ceiling_kubeconfig);
  kube::Client& client = *created_client;
  // Phases 5 and 5b write as the controller does when given its identity: same authorization.
  kube::Client& writer = ceiling_client ? *ceiling_client : client;
  const std::string writer_name = userName(writer);
  const std::chrono::seconds timeout(options.timeout_seconds);
  const std::string& platform = options.platform_namespace;
  const std::string load_at_start = loadAverage();

  if (options.controller_pid > 0 && !sampleProcess(options.controller_pid).ok) {
    fail("no process " + std::to_string(options.controller_pid) + " to measure (--controller-pid)");
  }
  if (!options.metrics_url.empty() && !readCounters(options.metrics_url).ok) {
    fail("cannot read the controller's metrics at " + options.metrics_url);
  }
  if (options.metrics_url.empty()) note("no --metrics-url: the controller's writes are not counted, no ceiling phase");
  if (options.controller_pid <= 0) note("no --controller-pid: the controller's memory is not measured");

  // The platform namespace, and argocd, where RepoBindings' AppProjects go.
  for (const std::string& ns : {platform, std::string("argocd")}) {
    const Json object{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
    auto made = withRetries([&] { return client.create(kube::resources::kNamespaces, "", object); });
    if (!made && !made.error().isAlreadyExists()) fail("namespace " + ns + ": " + made.error().message);
  }

  // --- the plan: every name, decided before any informer runs --------------------------------
  std::mt19937_64 random{std::random_device{}()};
  const std::string run_id = randomText(5, "abcdefghijklmnopqrstuvwxyz0123456789", random);
  const std::string selector = std::string(kRunLabel) + "=" + run_id;
  std::vector<std::string> orgs;
  for (std::size_t i = 0; i < options.organizations; ++i) {
    orgs.push_back("onb-" + run_id + "-" + padded(i, 3));
  }
  // Bindings in creation order: round-robin over the Organizations, so that every one of them is
  // busy at once, as when many teams onboard together. Even ones in the platform namespace, odd
  // ones self-service in the org namespace.
  std::vector<Binding> bindings;
  std::map<std::string, std::set<std::string>> expected_namespaces;  // listener key → pipelines
  for (std::size_t j = 0; j < options.bindings_per_organization; ++j) {
    for (std::size_t i = 0; i < orgs.size(); ++i) {
      Binding b{.org = orgs[i],
                .ns = j % 2 == 0 ? platform : organizationNamespace(orgs[i]),
                .name = orgs[i] + "-" + padded(j, 2)};
      expected_namespaces[kube::runtime::objectKey(organizationNamespace(orgs[i]), "github-listener")].insert(b.name);
      bindings.push_back(std::move(b));
    }
  }
  std::vector<Binding> idle_bindings;
  for (std::size_t s = 0; s < options.idle_samples; ++s) {
    const std::string& org = orgs[s % orgs.size()];
    idle_bindings.push_back(
        {.org = org, .ns = s % 2 == 0 ? platform : organizationNamespace(org), .name = org + "-idle" + padded(s, 2)});
  }
  note("run " + run_id + ": " + std::to_string(orgs.size()) + " Organizations, " + std::to_string(bindings.size()) +
       " RepoBindings, " + std::to_string(idle_bindings.size()) + " idle samples, on " + client.transport().server());

  enum Group { kOrgs = 1, kOnboarding, kIdle, kListeners };
  Milestones ready([](const Json& object) { return isReady(object); });
  Milestones listeners([&expected_namespaces](const Json& listener) {
    const auto expected = expected_namespaces.find(kube::runtime::objectKey(listener));
    if (expected == expected_namespaces.end()) return false;
    const std::set<std::string> listed = listenerNamespaces(listener);
    return std::includes(listed.begin(), listed.end(), expected->second.begin(), expected->second.end());
  });
  for (const auto& [key, unused] : expected_namespaces) listeners.start(key, kListeners);

  Watched org_informer(client, {.type = kOrganizations, .ns = platform, .label_selector = selector}, ready);
  Watched binding_informer(client, {.type = kRepoBindings, .ns = "", .label_selector = selector}, ready);
  Watched listener_informer(
      client, {.type = kEventListeners, .ns = "", .label_selector = "app.kubernetes.io/managed-by=aphex-controller"},
      listeners);
  org_informer.waitForSync("Organizations");
  binding_informer.waitForSync("RepoBindings");
  listener_informer.waitForSync("EventListeners");

  MemorySampler memory(options.controller_pid);
  const ProcessSample process_at_start = sampleProcess(options.controller_pid);

  // --- 1. Organizations ----------------------------------------------------------------------
  note("phase 1: creating " + std::to_string(orgs.size()) + " Organizations with " +
       std::to_string(options.parallelism) + " threads");
  const Counters counters_before_orgs = readCounters(options.metrics_url);
  const TimePoint orgs_started = SteadyClock::now();
  parallelFor(orgs.size(), options.parallelism, "Organizations created", 25, [&](std::size_t i) -> std::optional<std::string> {
    const Json object = organizationObject(platform, orgs[i], run_id);
    ready.start(kube::runtime::objectKey(platform, orgs[i]), kOrgs);
    return create(client, kOrganizations, platform, object);
  });
  const double orgs_created_seconds = secondsSince(orgs_started);
  if (!ready.waitFor(kOrgs, orgs.size(), timeout, "Organizations Ready")) {
    fail("Organizations not Ready after " + std::to_string(timeout.count()) + " s:" +
         describeStuck(ready, kOrgs, org_informer.informer.store(), 20));
  }
  const double orgs_ready_seconds = secondsSince(orgs_started);
  const Counters counters_after_orgs = readCounters(options.metrics_url);
  const Counters org_writes = counters_after_orgs - counters_before_orgs;
  const ProcessSample process_after_orgs = sampleProcess(options.controller_pid);
  note("all " + std::to_string(orgs.size()) + " Organizations Ready after " + fixed(orgs_ready_seconds, 1) + " s");
  // A self-service RepoBinding is refused while its namespace's quota is not counted yet; that
  // wait is kube-controller-manager's, not the controller's, so it stays out of phase 2's clock.
  const double quotas_seconds = waitForCountedQuotas(client, orgs.size(), timeout);
  note("kube-controller-manager counted every Organization's quota after another " + fixed(quotas_seconds, 1) + " s");

  // --- 2. RepoBindings -------------------------------------------------------------------------
  note("phase 2: creating " + std::to_string(bindings.size()) + " RepoBindings with " +
       std::to_string(options.parallelism) + " threads");
  memory.resetPeak();
  const Counters counters_before_bindings = readCounters(options.metrics_url);
  const ProcessSample process_before_bindings = sampleProcess(options.controller_pid);
  const TimePoint bindings_started = SteadyClock::now();
  parallelFor(bindings.size(), options.parallelism, "RepoBindings created", 100,
              [&](std::size_t i) -> std::optional<std::string> {
                const Binding& b = bindings[i];
                const Json object = repoBindingObject(b, run_id);
                ready.start(b.key(), kOnboarding);
                return create(client, kRepoBindings, b.ns, object);
              });
  const double creates_seconds = secondsSince(bindings_started);
  note("all creates answered after " + fixed(creates_seconds, 1) + " s; waiting for Ready");
  if (!ready.waitFor(kOnboarding, bindings.size(), timeout, "RepoBindings Ready")) {
    fail("RepoBindings not Ready after " + std::to_string(timeout.count()) + " s:" +
         describeStuck(ready, kOnboarding, binding_informer.informer.store(), 20));
  }
  const Counters counters_at_last_ready = readCounters(options.metrics_url);
  const ProcessSample process_at_last_ready = sampleProcess(options.controller_pid);
  const std::int64_t onboarding_peak_rss = memory.peak();

  std::optional<TimePoint> first_create, last_ready;
  std::vector<double> create_to_ready;
  for (const auto& [key, entry] : ready.entries(kOnboarding)) {
    if (!first_create || entry.started < *first_create) first_create = entry.started;
    if (!last_ready || *entry.reached > *last_ready) last_ready = entry.reached;
    create_to_ready.push_back(seconds(*entry.reached - entry.started));
  }
  const double onboarding_seconds = seconds(*last_ready - *first_create);
  const Distribution latency = distribution(create_to_ready);
  note("all " + std::to_string(bindings.size()) + " RepoBindings Ready " + fixed(onboarding_seconds, 1) +
       " s after the first create");

  // Ready bindings are not yet reachable by webhooks until their Organization's EventListener
  // lists their namespace; the Organization controller does that after they turn Ready.
  std::optional<double> listeners_seconds;
  if (listeners.waitFor(kListeners, expected_namespaces.size(), timeout, "EventListeners listing every namespace")) {
    std::optional<TimePoint> last;
    for (const auto& [key, entry] : listeners.entries(kListeners)) {
      if (!last || *entry.reached > *last) last = entry.reached;
    }
    listeners_seconds = seconds(*last - *first_create);
  } else {
    note("warning: not every EventListener lists its RepoBindings' namespaces after " +
         std::to_string(timeout.count()) + " s (" + std::to_string(listeners.reached(kListeners)) + "/" +
         std::to_string(expected_namespaces.size()) + ")");
  }

  // --- 3. steady state -------------------------------------------------------------------------
  note("phase 3: everything Ready; waiting " + std::to_string(kSettle.count()) + " s, then counting the controller's "
       "writes for " + std::to_string(options.steady_seconds) + " s");
  std::this_thread::sleep_for(kSettle);
  const Counters counters_steady_start = readCounters(options.metrics_url);
  const ProcessSample process_steady_start = sampleProcess(options.controller_pid);
  std::this_thread::sleep_for(std::chrono::seconds(options.steady_seconds));
  const Counters counters_steady_end = readCounters(options.metrics_url);
  const ProcessSample process_at_rest = sampleProcess(options.controller_pid);
  const Counters onboarding_writes = counters_at_last_ready - counters_before_bindings;
  const Counters trailing_writes = counters_steady_start - counters_at_last_ready;
  const Counters steady_writes = counters_steady_end - counters_steady_start;
  if (steady_writes.ok) {
    note("controller writes at rest over " + std::to_string(options.steady_seconds) + " s: " +
         std::to_string(whole(steady_writes.writes)));
  }

  std::vector<std::string> onboarding_keys;
  for (const auto& b : bindings) onboarding_keys.push_back(b.key());
  const EventCount events = countEvents(client, onboarding_keys);

  // --- 4. idle latency -------------------------------------------------------------------------
  std::vector<double> idle_latencies;
  const Counters counters_before_idle = readCounters(options.metrics_url);
  if (!idle_bindings.empty()) {
    note("phase 4: " + std::to_string(idle_bindings.size()) + " RepoBindings one at a time");
    for (std::size_t s = 0; s < idle_bindings.size(); ++s) {
      const Binding& b = idle_bindings[s];
      ready.start(b.key(), kIdle);
      if (auto error = create(client, kRepoBindings, b.ns, repoBindingObject(b, run_id))) fail(*error);
      if (!ready.waitFor(kIdle, s + 1, timeout, "")) {
        fail("idle RepoBinding not Ready after " + std::to_string(timeout.count()) + " s:" +
             describeStuck(ready, kIdle, binding_informer.informer.store(), 20));
      }
    }
    for (const auto& [key, entry] : ready.entries(kIdle)) idle_latencies.push_back(seconds(*entry.reached - entry.started));
  }
  const Distribution idle = distribution(idle_latencies);
  const Counters idle_writes = readCounters(options.metrics_url) - counters_before_idle;
  if (idle.count > 0) note("idle create->Ready: p50 " + milliseconds(idle.p50) + ", p99 " + milliseconds(idle.p99));

  // --- 5. ceiling ------------------------------------------------------------------------------
  std::optional<double> ceiling_seconds;
  std::size_t ceiling_writes = 0;
  if (onboarding_writes.ok && onboarding_writes.writes > 0) {
    ceiling_writes = static_cast<std::size_t>(whole(onboarding_writes.writes));
    std::vector<std::string> namespaces;
    for (std::size_t i = 0; i < kCeilingNamespaces; ++i) {
      namespaces.push_back("onb-" + run_id + "-ceiling-" + padded(i, 3));
    }
    note("phase 5: " + std::to_string(ceiling_writes) + " server-side applies of ~1 KB ConfigMaps over " +
         std::to_string(namespaces.size()) + " namespaces with " + std::to_string(options.parallelism) +
         " threads, as " + writer_name);
    parallelFor(namespaces.size(), options.parallelism, "ceiling namespaces created", 50,
                [&](std::size_t i) -> std::optional<std::string> {
                  const Json object{{"apiVersion", "v1"},
                                    {"kind", "Namespace"},
                                    {"metadata", {{"name", namespaces[i]}, {"labels", {{std::string(kRunLabel), run_id}}}}}};
                  return create(writer, kube::resources::kNamespaces, "", object);
                });
    // Payloads made before the clock starts: the ceiling is the API server's, not this program's.
    std::vector<Json> objects;
    objects.reserve(ceiling_writes);
    for (std::size_t k = 0; k < ceiling_writes; ++k) {
      objects.push_back({{"apiVersion", "v1"},
                         {"kind", "ConfigMap"},
                         {"metadata",
                          {{"name", "cm-" + std::to_string(k / namespaces.size())},
                           {"namespace", namespaces[k % namespaces.size()]},
                           {"labels", {{std::string(kRunLabel), run_id}}}}},
                         {"data", {{"payload", randomText(kCeilingPayloadBytes, "abcdefghijklmnopqrstuvwxyz0123456789", random)}}}});
    }
    const TimePoint ceiling_started = SteadyClock::now();
    parallelFor(ceiling_writes, options.parallelism, "ceiling writes", 500, [&](std::size_t k) -> std::optional<std::string> {
      auto applied = withRetries([&] {
        return writer.apply(kube::resources::kConfigMaps, objects[k], {.field_manager = std::string(kFieldManager)});
      });
      if (!applied) return applied.error().message;
      return std::nullopt;
    });
    ceiling_seconds = secondsSince(ceiling_started);
    for (const auto& ns : namespaces) {
      if (auto removed = client.remove(kube::resources::kNamespaces, "", ns); !removed) {
        note("could not delete namespace " + ns + ": " + removed.error().message);
      }
    }
    if (options.same_objects_ceiling) {
      note("deleting the ceiling namespaces and waiting for them to go before phase 5b; the Organizations and "
           "RepoBindings stay");
      const double gone = waitForNamespacesGone(client, namespaces, run_id, timeout);
      note("the ceiling namespaces were gone after " + fixed(gone, 1) + " s");
    } else {
      note("deleting the ceiling namespaces (not waited for); the Organizations and RepoBindings stay");
    }
  } else {
    note("phase 5 skipped: the controller's writes were not counted");
  }
  std::optional<DirectWrites> direct;
  if (options.same_objects_ceiling) {
    std::vector<Binding> renamed = bindings;
    for (Binding& b : renamed) b.name += "-direct";
    note("phase 5b: every binding's namespace and children written directly, under <binding>-direct, with " +
         std::to_string(options.parallelism) + " threads");
    direct = writeDirectly(writer, client, renamed, run_id, options.parallelism);
    note("deleted the directly written namespaces and AppProjects (not waited for)");
  }

  // --- report ----------------------------------------------------------------------------------
  const bool has_memory = process_at_rest.ok;
  const std::optional<double> ratio =
      ceiling_seconds ? std::optional<double>(onboarding_seconds / *ceiling_seconds) : std::nullopt;
  const std::optional<double> direct_ratio =
      direct ? std::optional<double>(onboarding_seconds / direct->seconds) : std::nullopt;
  constexpr double kRatioTarget = 1.5;
  constexpr double kIdleP50Target = 0.1;  // design.md: p50 <= 100 ms, p99 <= 500 ms
  constexpr double kIdleP99Target = 0.5;
  constexpr std::int64_t kRssTarget = 40'000'000;
  const auto processJson = [](const ProcessSample& sample) -> Json {
    if (!sample.ok) return nullptr;
    return {{"vm_rss_bytes", sample.rss}, {"vm_hwm_bytes", sample.hwm}, {"cpu_seconds", sample.cpu}};
  };
  Json report{
      {"server", client.transport().server()},
      {"run", run_id},
      {"cpus", std::thread::hardware_concurrency()},
      {"load_average_at_start", load_at_start},
      {"load_average_at_end", loadAverage()},
      {"organizations", orgs.size()},
      {"bindings_per_organization", options.bindings_per_organization},
      {"parallelism", options.parallelism},
      {"organizations_phase",
       {{"create_seconds", orgs_created_seconds},
        {"all_ready_seconds", orgs_ready_seconds},
        {"controller", countersJson(org_writes)},
        {"controller_process_after", processJson(process_after_orgs)}}},
      {"onboarding",
       {{"bindings", bindings.size()},
        {"create_seconds", creates_seconds},
        {"first_create_to_last_ready_seconds", onboarding_seconds},
        {"create_to_ready_seconds", distributionJson(latency)},
        {"listeners_complete_seconds", nullable(listeners_seconds)},
        {"controller", countersJson(onboarding_writes)},
        {"controller_after_last_ready_until_steady", countersJson(trailing_writes)},
        {"events_about_the_bindings",
         {{"events", events.events},
          {"occurrences", events.occurrences},
          {"per_binding", distributionJson(events.per_binding)}}},
        {"controller_peak_rss_bytes", has_memory ? Json(onboarding_peak_rss) : Json(nullptr)},
        {"controller_cpu_seconds",
         has_memory ? Json(process_at_last_ready.cpu - process_before_bindings.cpu) : Json(nullptr)},
        {"controller_process_at_last_ready", processJson(process_at_last_ready)}}},
      {"steady",
       {{"seconds", options.steady_seconds},
        {"settle_seconds", kSettle.count()},
        {"controller", countersJson(steady_writes)},
        {"controller_cpu_seconds", has_memory ? Json(process_at_rest.cpu - process_steady_start.cpu) : Json(nullptr)},
        {"controller_process_at_rest", processJson(process_at_rest)}}},
      {"idle",
       {{"latency_seconds", distributionJson(idle)},
        {"samples_seconds", idle_latencies},
        {"controller", countersJson(idle_writes)}}},
      {"ceiling",
       {{"writes", ceiling_writes},
        {"namespaces", ceiling_seconds ? kCeilingNamespaces : 0},
        {"seconds", nullable(ceiling_seconds)},
        {"writes_per_second",
         ceiling_seconds ? Json(static_cast<double>(ceiling_writes) / *ceiling_seconds) : Json(nullptr)},
        {"onboarding_over_ceiling", nullable(ratio)}}},
      {"ceiling_writer", writer_name},
      {"same_objects_ceiling",
       direct ? Json{{"writes", direct->writes},
                     {"seconds", direct->seconds},
                     {"writes_per_second", static_cast<double>(direct->writes) / direct->seconds},
                     {"onboarding_over_same_objects_ceiling", nullable(direct_ratio)}}
              : Json(nullptr)},
      {"controller_process_at_start", processJson(process_at_start)},
      {"targets",
       {{"onboarding_over_ceiling_max", kRatioTarget},
        {"steady_writes", 0},
        {"rss_at_rest_max_bytes", kRssTarget},
        {"idle_p50_max_seconds", kIdleP50Target},
        {"idle_p99_max_seconds", kIdleP99Target}}}};

  if (options.output == "json") {
    std::cout << report.dump(2) << "\n";
    return 0;
  }

  std::ostringstream out;
  const auto row = [&](const std::string& what, const std::string& value, const std::string& target = {},
                       std::optional<bool> met = std::nullopt) {
    out << "  " << pad(what, 56) << padLeft(value, 16) << "   " << pad(target, 22) << verdict(met) << "\n";
  };
  const auto heading = [&](const std::string& title) {
    out << "\n" << pad(title, 58) << padLeft("value", 16) << "   " << pad("target", 22) << "\n";
  };
  const auto writeRows = [&](const Counters& c, const std::string& what, std::size_t per) {
    if (!c.ok) {
      row(what, "-");
      return;
    }
    row(what, std::to_string(whole(c.writes)));
    if (per > 0) out << "      per object: " << fixed(c.writes / static_cast<double>(per), 1) << "\n";
    out << "      by method and code: " << describeCounts(c.writes_by) << "\n";
    out << "      reconciles: " << describeCounts(c.reconciles_by) << "; errors " << whole(c.reconcile_errors) << "\n";
  };

  out << "Onboarding benchmark (run " << run_id << ")\n";
  out << "  server " << client.transport().server() << ", platform namespace " << platform << "\n";
  out << "  " << orgs.size() << " Organizations x " << options.bindings_per_organization << " RepoBindings = "
      << bindings.size() << ", parallelism " << options.parallelism << "\n";
  out << "  " << std::thread::hardware_concurrency() << " CPUs, load average " << load_at_start << " at the start, "
      << report["load_average_at_end"].get<std::string>() << " at the end\n";

  heading("1. Organizations");
  row("creates answered", fixed(orgs_created_seconds, 2) + " s");
  row("all Ready, from the first create", fixed(orgs_ready_seconds, 2) + " s");
  writeRows(org_writes, "controller writes", orgs.size());
  if (has_memory) {
    row("controller VmRSS before the Organizations", megabytes(process_at_start.rss));
    row("controller VmRSS after them", megabytes(process_after_orgs.rss));
  }

  heading("2. Onboarding " + std::to_string(bindings.size()) + " RepoBindings");
  row("creates answered (" + fixed(static_cast<double>(bindings.size()) / creates_seconds, 0) + " creates/s)",
      fixed(creates_seconds, 2) + " s");
  row("first create -> last Ready", fixed(onboarding_seconds, 2) + " s",
      ceiling_seconds ? "<= " + fixed(kRatioTarget * *ceiling_seconds, 2) + " s (1.5x ceiling)" : "");
  row("create -> Ready p50", milliseconds(latency.p50));
  row("create -> Ready p90", milliseconds(latency.p90));
  row("create -> Ready p99", milliseconds(latency.p99));
  row("create -> Ready max", milliseconds(latency.max));
  row("every EventListener lists its namespaces, from first create",
      listeners_seconds ? fixed(*listeners_seconds, 2) + " s" : "not reached");
  writeRows(onboarding_writes, "controller writes, first create -> last Ready", bindings.size());
  if (onboarding_writes.ok) row("  of which not 2xx", std::to_string(whole(failedWrites(onboarding_writes))));
  writeRows(trailing_writes, "controller writes, last Ready -> steady window", 0);
  row("Events about the RepoBindings (at rest)", std::to_string(events.events));
  out << "      per binding: min " << fixed(events.per_binding.min, 0) << ", p50 " << fixed(events.per_binding.p50, 0)
      << ", max " << fixed(events.per_binding.max, 0) << "; occurrences with repeats " << events.occurrences << "\n";
  if (has_memory) {
    row("controller peak VmRSS (100 ms samples)", megabytes(onboarding_peak_rss));
    row("controller VmHWM (peak since it started)", megabytes(process_at_last_ready.hwm));
    row("controller CPU, first create -> last Ready",
        fixed(process_at_last_ready.cpu - process_before_bindings.cpu, 1) + " s");
  }

  heading("3. Steady state (after " + std::to_string(kSettle.count()) + " s of settling)");
  if (steady_writes.ok) {
    row("controller writes in " + std::to_string(options.steady_seconds) + " s", std::to_string(whole(steady_writes.writes)),
        "0", steady_writes.writes == 0);
    if (steady_writes.writes > 0) out << "      by method and code: " << describeCounts(steady_writes.writes_by) << "\n";
    out << "      reconciles: " << describeCounts(steady_writes.reconciles_by) << "; errors "
        << whole(steady_writes.reconcile_errors) << "\n";
  } else {
    row("controller writes in " + std::to_string(options.steady_seconds) + " s", "-", "0");
  }
  if (has_memory) {
    row("controller VmRSS at rest", megabytes(process_at_rest.rss), "<= 40 MB", process_at_rest.rss <= kRssTarget);
    row("controller VmHWM", megabytes(process_at_rest.hwm));
    row("controller CPU in the window", fixed(process_at_rest.cpu - process_steady_start.cpu, 2) + " s");
  }

  heading("4. Idle: " + std::to_string(idle.count) + " RepoBindings one at a time");
  if (idle.count > 0) {
    row("create -> Ready p50", milliseconds(idle.p50), "<= 100 ms", idle.p50 <= kIdleP50Target);
    row("create -> Ready p99", milliseconds(idle.p99), "<= 500 ms", idle.p99 <= kIdleP99Target);
    row("create -> Ready min / max", milliseconds(idle.min) + " / " + milliseconds(idle.max));
    writeRows(idle_writes, "controller writes", idle.count);
  } else {
    row("skipped", "-");
  }

  heading("5. Ceiling: the same number of writes, issued directly");
  if (ceiling_seconds || direct) row("written (5 and 5b) as", writer_name);
  if (ceiling_seconds) {
    row(std::to_string(ceiling_writes) + " applies of 1 KB ConfigMaps (" +
            fixed(static_cast<double>(ceiling_writes) / *ceiling_seconds, 0) + " writes/s)",
        fixed(*ceiling_seconds, 2) + " s");
    row("onboarding time / ceiling time", fixed(*ratio, 2), "<= 1.5", *ratio <= kRatioTarget);
  } else {
    row("skipped (no --metrics-url)", "-");
  }
  heading("5b. Same-objects ceiling: every binding's objects, written directly");
  if (direct) {
    row(std::to_string(direct->writes) + " writes of " + std::to_string(bindings.size()) + " bindings' objects (" +
            fixed(static_cast<double>(direct->writes) / direct->seconds, 0) + " writes/s)",
        fixed(direct->seconds, 2) + " s");
    row("onboarding time / this time", fixed(*direct_ratio, 2), "<= 1.5", *direct_ratio <= kRatioTarget);
  } else {
    row("skipped (--no-same-objects-ceiling)", "-");
  }
  std::cout << out.str();
  return 0;
}
