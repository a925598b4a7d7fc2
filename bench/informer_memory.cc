// Informer memory and CPU against a real API server.
//
// Seeds N labelled ConfigMaps in one namespace, measures the raw JSON of their list, then, in the
// same process, the resident memory, heap and CPU time an Informer scoped to that namespace and
// label costs to sync them, and how quickly its store follows a burst of updates. It prints
// figures and asserts nothing: timings depend on the machine. docs/benchmarks.md says what every
// figure means and records a run.
//
// bench/run-informer-memory builds this program, starts a dedicated local control plane and runs
// it; run it by hand with any kubeconfig whose user may create namespaces.
#include <malloc.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench_support.h"

#include "kube/client.h"
#include "kube/config.h"
#include "runtime/clock.h"
#include "runtime/informer.h"
#include "runtime/store.h"

namespace {

using namespace aphex::bench;

using kube::Json;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kLabelKey = "bench.aphex.dev/informer-memory";
constexpr std::string_view kLabelValue = "seeded";
constexpr std::string_view kRoundAnnotation = "bench.aphex.dev/round";
constexpr std::int64_t kPageSize = 500;  // the informer's own page size

std::string labelSelector() { return std::string(kLabelKey) + "=" + std::string(kLabelValue); }

struct Options {
  std::string kubeconfig;
  std::string ns;
  std::size_t objects = 10000;
  std::size_t object_bytes = 1024;
  std::size_t data_keys = 4;
  std::size_t updates = 1000;
  std::size_t threads = 8;
  bool keep = false;
  bool reuse = false;
  std::string output = "text";
  std::string sync_mode = "informer";
};

// Thrown to end the run; main() reports it after the namespace is cleaned up.
struct Failure {
  std::string message;
};

[[noreturn]] void fail(const std::string& message) { throw Failure{message}; }

double secondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string randomSuffix(std::size_t length) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out += kAlphabet[pick(random)];
  return out;
}

// --- process measurements ----------------------------------------------------------------------

struct Memory {
  std::int64_t rss = 0;           // VmRSS: resident now
  std::int64_t hwm = 0;           // VmHWM: peak resident since start (or the last reset)
  std::int64_t heap_in_use = 0;   // mallinfo2: bytes handed out by malloc and not yet freed
  std::int64_t heap_from_os = 0;  // mallinfo2: bytes malloc holds from the kernel (arenas + mmaps)
};

Memory sampleMemory() {
  std::ifstream file("/proc/self/status");
  std::stringstream text;
  text << file.rdbuf();
  const std::string status = text.str();
  const struct mallinfo2 heap = mallinfo2();
  return {.rss = statusKilobytes(status, "VmRSS") * 1024,
          .hwm = statusKilobytes(status, "VmHWM") * 1024,
          .heap_in_use = static_cast<std::int64_t>(heap.uordblks + heap.hblkhd),
          .heap_from_os = static_cast<std::int64_t>(heap.arena + heap.hblkhd)};
}

// Linux resets VmHWM to the current VmRSS when "5" is written to clear_refs (since 4.0).
bool resetPeakRss() {
  std::ofstream file("/proc/self/clear_refs");
  file << "5";
  file.flush();
  return file.good();
}

double toSeconds(const timespec& time) {
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_nsec) / 1e9;
}

double toSeconds(const timeval& time) {
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
}

struct Cpu {
  double process = 0;  // CLOCK_PROCESS_CPUTIME_ID: all threads
  double user = 0;     // getrusage(RUSAGE_SELF)
  double system = 0;
};

Cpu sampleCpu() {
  timespec process{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &process);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return {.process = toSeconds(process), .user = toSeconds(usage.ru_utime), .system = toSeconds(usage.ru_stime)};
}

// CPU time one thread has used (the informer's).
double threadCpuSeconds(pthread_t thread) {
  clockid_t id{};
  if (pthread_getcpuclockid(thread, &id) != 0) return 0;
  timespec time{};
  clock_gettime(id, &time);
  return toSeconds(time);
}

// --- the objects --------------------------------------------------------------------------------

std::string objectName(std::size_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "cm-%06zu", index);
  return name;
}

// Random letters and digits: incompressible enough that gzip on the wire does not flatter a run.
std::string payload(std::mt19937_64& random, std::size_t bytes) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out(bytes, ' ');
  for (auto& c : out) c = kAlphabet[pick(random)];
  return out;
}

std::string dataKey(std::size_t index) { return "key-" + std::to_string(index); }

// A ConfigMap whose data values add up to `object_bytes`, spread over `data_keys` keys.
Json configMap(const Options& options, std::size_t index, std::mt19937_64& random) {
  Json data = Json::object();
  const std::size_t keys = std::max<std::size_t>(options.data_keys, 1);
  for (std::size_t k = 0; k < keys; ++k) {
    std::size_t bytes = options.object_bytes / keys;
    if (k == 0) bytes += options.object_bytes % keys;
    data[dataKey(k)] = payload(random, bytes);
  }
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", objectName(index)},
            {"namespace", options.ns},
            {"labels", {{std::string(kLabelKey), std::string(kLabelValue)}}}}},
          {"data", std::move(data)}};
}

// Runs work(i) for i in [0, count) on `threads` threads; stops early if one returns an error.
// Prints progress every `progress_every` items.
std::optional<std::string> parallelFor(std::size_t count, std::size_t threads, const std::string& what,
                                       const std::function<std::optional<std::string>(std::size_t, std::mt19937_64&)>& work) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::atomic<bool> failed{false};
  std::mutex failure_mutex;
  std::optional<std::string> failure;
  const auto started = SteadyClock::now();
  constexpr std::size_t kProgressEvery = 1000;
  {
    std::vector<std::jthread> workers;
    for (std::size_t t = 0; t < std::max<std::size_t>(threads, 1); ++t) {
      workers.emplace_back([&] {
        std::mt19937_64 random{std::random_device{}()};
        while (!failed.load()) {
          const std::size_t i = next.fetch_add(1);
          if (i >= count) return;
          if (auto error = work(i, random)) {
            std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::move(error);
            failed = true;
            return;
          }
          const std::size_t finished = done.fetch_add(1) + 1;
          if (finished % kProgressEvery == 0 || finished == count) {
            const double elapsed = secondsSince(started);
            std::ostringstream line;
            line << what << " " << finished << "/" << count << " ("
                 << static_cast<std::int64_t>(static_cast<double>(finished) / std::max(elapsed, 1e-9)) << "/s)";
            note(line.str());
          }
        }
      });
    }
  }
  return failure;
}

// Creates or patches with a few retries on transport errors and overload.
// --- the raw list -----------------------------------------------------------------------------

struct RawList {
  std::size_t pages = 0;
  std::size_t items = 0;
  std::uint64_t body_bytes = 0;           // the list responses, as the API server sent them (decoded)
  std::uint64_t stripped_body_bytes = 0;  // the same lists re-serialised without managedFields
  std::uint64_t item_bytes = 0;           // the items alone, compact JSON
  std::uint64_t stripped_item_bytes = 0;  // the items alone, without managedFields
  double fetch_seconds = 0;               // wall time of the requests (server and transport)
  double parse_seconds = 0;               // nlohmann::json::parse of the bodies, this thread
  Json sample_item;                       // the last item as listed, managedFields included
};

RawList measureRawList(kube::Client& client, const std::string& ns) {
  RawList raw;
  std::string token;
  do {
    const kube::HttpRequest request{
        .method = "GET",
        .path = kube::resourcePath(kube::resources::kConfigMaps, ns) +
                kube::listQuery({.label_selector = labelSelector(), .limit = kPageSize, .continue_token = token})};
    const auto fetch_started = SteadyClock::now();
    auto response = client.transport().send(request);
    raw.fetch_seconds += secondsSince(fetch_started);
    if (!response) fail(response.error().message);
    if (response->status != 200) fail(kube::apiError("LIST " + request.path, *response).message);
    raw.body_bytes += response->body.size();

    timespec before{};
    timespec after{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &before);
    Json page = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after);
    raw.parse_seconds += toSeconds(after) - toSeconds(before);
    if (page.is_discarded()) fail("the API server sent a list that is not JSON");

    ++raw.pages;
    // The last item is one the watch phase's updates (which start at the first) leave alone.
    if (!page["items"].empty()) raw.sample_item = page["items"].back();
    for (auto& item : page["items"]) {
      ++raw.items;
      raw.item_bytes += item.dump().size();
      kube::runtime::dropManagedFields(item);
      raw.stripped_item_bytes += item.dump().size();
    }
    raw.stripped_body_bytes += page.dump().size() + 1;  // the server ends each body with a newline
    token = page["metadata"].value("continue", "");
  } while (!token.empty());
  return raw;
}

// --- the page-by-page experiment ----------------------------------------------------------------

// Lists like the informer (pages of kPageSize, stamped with apiVersion and kind, managedFields
// dropped) and turns each page into cached objects as soon as it arrives. It imitated what the
// informer did not do when it was written (it collected the whole list as one JSON document
// first); the informer now lists this way too, so both modes should measure alike.
std::unique_ptr<kube::runtime::Store> syncPageByPage(kube::Client& client, const std::string& ns) {
  auto store = std::make_unique<kube::runtime::Store>();
  std::vector<kube::runtime::ObjectPtr> objects;
  kube::ListOptions page{.label_selector = labelSelector(), .limit = kPageSize};
  while (true) {
    auto listed = client.list(kube::resources::kConfigMaps, ns, page);
    if (!listed) fail(listed.error().message);
    for (auto& item : (*listed)["items"]) {
      if (!item.contains("apiVersion")) item["apiVersion"] = "v1";
      if (!item.contains("kind")) item["kind"] = "ConfigMap";
      kube::runtime::dropManagedFields(item);
      objects.push_back(std::make_shared<const Json>(std::move(item)));
    }
    page.continue_token = (*listed)["metadata"].value("continue", "");
    if (page.continue_token.empty()) break;
  }
  (void)store->replace(std::move(objects));
  return store;
}

// --- a model of one cached object's heap -------------------------------------------------------

// glibc malloc hands out chunks of max(32, n + 8 rounded up to 16) bytes on x86-64.
std::size_t chunk(std::size_t bytes) { return std::max<std::size_t>(32, (bytes + 8 + 15) & ~std::size_t{15}); }

// libstdc++ keeps strings of up to 15 characters inside the std::string object.
std::size_t stringBuffer(const std::string& text) { return text.capacity() > 15 ? chunk(text.capacity() + 1) : 0; }

struct JsonModel {
  std::size_t values = 0;     // every JSON value, containers included
  std::size_t members = 0;    // object members (one std::map node each)
  std::size_t strings = 0;    // string values (one heap std::string each)
  std::size_t text_bytes = 0; // characters in keys and string values
  std::size_t heap_bytes = 0; // modelled malloc chunks
};

// nlohmann::json keeps objects as a heap std::map (a red-black node per member: 32 bytes of links
// plus the key std::string and the 16-byte json value), strings as a heap std::string, arrays as
// a heap std::vector of 16-byte values; numbers, booleans and null live in the 16-byte value.
void modelJson(const Json& value, JsonModel& model) {
  ++model.values;
  switch (value.type()) {
    case Json::value_t::object: {
      model.heap_bytes += chunk(sizeof(Json::object_t));
      for (const auto& [key, member] : value.get_ref<const Json::object_t&>()) {
        ++model.members;
        model.text_bytes += key.size();
        model.heap_bytes += chunk(32 + sizeof(Json::object_t::value_type)) + stringBuffer(key);
        modelJson(member, model);
      }
      break;
    }
    case Json::value_t::array: {
      const auto& array = value.get_ref<const Json::array_t&>();
      model.heap_bytes += chunk(sizeof(Json::array_t));
      if (array.capacity() > 0) model.heap_bytes += chunk(array.capacity() * sizeof(Json));
      for (const auto& element : array) modelJson(element, model);
      break;
    }
    case Json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      ++model.strings;
      model.text_bytes += text.size();
      model.heap_bytes += chunk(sizeof(std::string)) + stringBuffer(text);
      break;
    }
    default:
      break;
  }
}

// The store's own bookkeeping for one object (the default kTree encoding): the shared_ptr control
// block made with the value, the objects_ map node (next, key, entry, cached hash) and its key,
// and one index-set node for the namespace and for each label. Index entries point at the
// objects_ node: a next pointer and a pointer, no key copy, no cached hash.
std::size_t modelStoreOverhead(const Json& object, const std::string& key) {
  const std::size_t key_heap = key.size() > 15 ? chunk(key.size() + 1) : 0;
  constexpr std::size_t kEntry = 16 + 16 + 8;                        // tree, text, size and count
  std::size_t bytes = chunk(16 + sizeof(Json));                     // make_shared control block + value
  bytes += chunk(8 + sizeof(std::string) + kEntry + 8) + key_heap;  // objects_ node
  std::size_t index_entries = 1;                                    // the namespace index
  if (const auto labels = object["metadata"].find("labels"); labels != object["metadata"].end()) {
    index_entries += labels->size();
  }
  bytes += index_entries * chunk(8 + 8);
  return bytes;
}

// --- the report -------------------------------------------------------------------------------

std::string mib(std::int64_t bytes) { return fixed(static_cast<double>(bytes) / (1024.0 * 1024.0), 1) + " MiB"; }

std::string perObject(std::int64_t bytes, std::size_t objects) {
  return objects == 0 ? "-" : std::to_string(bytes / static_cast<std::int64_t>(objects)) + " B";
}

Json memoryJson(const Memory& memory) {
  return {{"vm_rss_bytes", memory.rss},
          {"vm_hwm_bytes", memory.hwm},
          {"heap_in_use_bytes", memory.heap_in_use},
          {"heap_from_os_bytes", memory.heap_from_os}};
}

}  // namespace

int run(Options& options);

int main(int argc, char** argv) {
  Options options;
  CLI::App app{
      "Informer memory and CPU: seeds N labelled ConfigMaps in a namespace, measures the raw JSON of\n"
      "their list, then the resident memory, heap, sync time and CPU time of an Informer that caches\n"
      "them, and how fast its store follows a burst of updates. Prints figures; asserts nothing.\n"
      "See docs/benchmarks.md for what each figure means.",
      "aphex_bench_informer_memory"};
  app.add_option("--kubeconfig", options.kubeconfig,
                 "kubeconfig of a user that may create namespaces (default: $KUBECONFIG)");
  app.add_option("--namespace", options.ns, "namespace to use (default: a new bench-informer-<random>)");
  app.add_option("--objects", options.objects, "ConfigMaps to seed and cache")->capture_default_str();
  app.add_option("--object-bytes", options.object_bytes, "bytes of data in each ConfigMap")->capture_default_str();
  app.add_option("--data-keys", options.data_keys, "data keys the bytes are spread over")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--updates", options.updates, "objects to update in the watch phase (0: skip it)")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "concurrent writers when seeding and updating")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_flag("--keep", options.keep, "keep the namespace and its objects afterwards");
  app.add_flag("--reuse", options.reuse,
               "use the namespace's existing labelled objects; seed only if fewer than --objects");
  app.add_option("--sync", options.sync_mode,
                 "informer: an Informer lists and caches the objects; pages: the same listing "
                 "(managedFields dropped, each page stored as it arrives) without an informer and "
                 "without a watch phase")
      ->capture_default_str()
      ->check(CLI::IsMember({"informer", "pages"}));
  app.add_option("-o,--output", options.output, "report format: text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  CLI11_PARSE(app, argc, argv);
  try {
    return run(options);
  } catch (const Failure& failure) {
    std::cerr << "aphex_bench_informer_memory: error: " << failure.message << "\n";
    return 1;
  }
}

int run(Options& options) {
  // --- connect ---------------------------------------------------------------------------------
  std::vector<std::string> paths;
  if (!options.kubeconfig.empty()) {
    paths.push_back(options.kubeconfig);
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
  kube::Client& client = **created_client;
  if (options.ns.empty()) options.ns = "bench-informer-" + randomSuffix(8);
  const std::string selector = labelSelector();
  const auto& configmaps = kube::resources::kConfigMaps;

  const std::string load_at_start = loadAverage();

  // --- seed ------------------------------------------------------------------------------------
  Json ns_object{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", options.ns}}}};
  bool namespace_created = false;
  if (auto made = client.create(kube::resources::kNamespaces, "", ns_object); made) {
    namespace_created = true;
  } else if (!made.error().isAlreadyExists() || !options.reuse) {
    fail(made.error().isAlreadyExists()
             ? "namespace " + options.ns + " exists: pass --reuse to use its objects, or choose another"
             : made.error().message);
  }
  note(std::string(namespace_created ? "created" : "reusing") + " namespace " + options.ns + " on " +
       client.transport().server());

  std::size_t existing = 0;
  if (!namespace_created) {
    existing = measureRawList(client, options.ns).items;
    if (existing > options.objects) {
      fail("namespace " + options.ns + " holds " + std::to_string(existing) + " labelled ConfigMaps, more than --objects " +
           std::to_string(options.objects));
    }
  }

  // Deletes the namespace on every way out below, unless --keep.
  struct Cleanup {
    kube::Client& client;
    const Options& options;
    ~Cleanup() {
      if (options.keep) {
        note("kept namespace " + options.ns + " (run again with --namespace " + options.ns + " --reuse)");
        return;
      }
      if (auto removed = client.remove(kube::resources::kNamespaces, "", options.ns); removed) {
        note("deleting namespace " + options.ns + " (the namespace controller removes its objects)");
      } else {
        note("could not delete namespace " + options.ns + ": " + removed.error().message);
      }
    }
  } cleanup{client, options};

  double seed_seconds = 0;
  std::size_t seeded = 0;
  if (existing < options.objects) {
    note("seeding " + std::to_string(options.objects) + " ConfigMaps of " + std::to_string(options.object_bytes) +
         " data bytes with " + std::to_string(options.threads) + " threads");
    std::atomic<std::size_t> created{0};
    const auto started = SteadyClock::now();
    auto failure = parallelFor(options.objects, options.threads, "seeded",
                               [&](std::size_t i, std::mt19937_64& random) -> std::optional<std::string> {
                                 const Json object = configMap(options, i, random);
                                 auto made = withRetries([&] { return client.create(configmaps, options.ns, object); });
                                 if (made) {
                                   ++created;
                                   return std::nullopt;
                                 }
                                 if (options.reuse && made.error().isAlreadyExists()) return std::nullopt;
                                 return made.error().message;
                               });
    seed_seconds = secondsSince(started);
    if (failure) fail("seeding: " + *failure);
    seeded = created.load();
  } else {
    note("namespace already holds " + std::to_string(existing) + " labelled ConfigMaps: not seeding");
  }

  // --- the raw JSON of the same list -----------------------------------------------------------
  note("measuring the raw list (limit " + std::to_string(kPageSize) + ")");
  const RawList raw = measureRawList(client, options.ns);
  const std::size_t n = raw.items;
  if (n == 0) fail("the list is empty");

  // --- informer sync ---------------------------------------------------------------------------
  // Hand everything freed so far back to the kernel, so the baseline is not flattered (or
  // burdened) by what seeding and the raw list left in malloc's free lists.
  malloc_trim(0);
  const bool peak_reset = resetPeakRss();
  const Memory before = sampleMemory();
  const Cpu cpu_before = sampleCpu();

  kube::runtime::Informer informer(
      client, kube::runtime::realClock(),
      kube::runtime::InformerOptions{.type = configmaps, .ns = options.ns, .label_selector = selector});

  // Counts update events carrying the current round's annotation; the informer calls handlers
  // after the store holds the new object, so when the count reaches the target the store
  // reflects every update.
  std::atomic<std::size_t> adds{0};
  std::atomic<std::size_t> round_updates{0};
  std::atomic<std::int64_t> first_update_ns{0};
  std::atomic<std::int64_t> last_update_ns{0};
  const std::string round = "round-" + randomSuffix(6);
  const std::size_t updates = options.sync_mode == "informer" ? std::min(options.updates, n) : 0;
  std::mutex done_mutex;
  std::condition_variable done_cv;
  informer.addHandler(
      {.on_add = [&](const kube::runtime::ObjectPtr&) { adds.fetch_add(1, std::memory_order_relaxed); },
       .on_update =
           [&](const kube::runtime::ObjectPtr&, const kube::runtime::ObjectPtr& object) {
             const auto& metadata = (*object)["metadata"];
             const auto annotations = metadata.find("annotations");
             if (annotations == metadata.end() || annotations->value(std::string(kRoundAnnotation), "") != round) return;
             const std::int64_t now = SteadyClock::now().time_since_epoch().count();
             std::int64_t unset = 0;
             first_update_ns.compare_exchange_strong(unset, now);
             last_update_ns = now;
             if (round_updates.fetch_add(1) + 1 == updates) {
               // Under the waiter's mutex, so the wakeup cannot fall between its check and its wait.
               std::lock_guard lock(done_mutex);
               done_cv.notify_all();
             }
           },
       .on_delete = nullptr});

  const bool use_informer = options.sync_mode == "informer";
  std::unique_ptr<kube::runtime::Store> paged_store;
  std::jthread runner;
  const auto sync_started = SteadyClock::now();
  double sync_seconds = 0;
  double informer_sync_cpu = 0;
  if (use_informer) {
    note("starting the informer");
    runner = std::jthread([&](std::stop_token stop) { informer.run(stop); });
    if (!informer.waitForSync(runner.get_stop_token(), std::chrono::minutes(10))) fail("the informer did not sync in 10 min");
    sync_seconds = secondsSince(sync_started);
    // The informer frees the parsed list after telling its handlers; it starts watching after that.
    while (informer.stats().watches == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    informer_sync_cpu = threadCpuSeconds(runner.native_handle());
  } else {
    note("listing page by page into a store (experiment: no informer, no watch phase)");
    // On a thread of its own, as the informer's list is, so malloc serves it from a fresh arena.
    std::jthread([&] {
      paged_store = syncPageByPage(client, options.ns);
      informer_sync_cpu = threadCpuSeconds(pthread_self());
    }).join();
    sync_seconds = secondsSince(sync_started);
  }
  const kube::runtime::Store& cache = use_informer ? informer.store() : *paged_store;
  const double settled_seconds = secondsSince(sync_started);
  const Cpu cpu_after = sampleCpu();
  const Memory after = sampleMemory();
  const std::size_t cached = cache.size();
  if (cached != n) note("warning: the store holds " + std::to_string(cached) + " objects, the list " + std::to_string(n));

  // One cached object, for the model of where the bytes go.
  const std::string sample_key = kube::runtime::objectKey(raw.sample_item);
  kube::runtime::ObjectPtr sample = cache.get(sample_key);
  if (!sample) sample = cache.list().front();
  JsonModel model;
  modelJson(*sample, model);
  const std::size_t sample_key_size = kube::runtime::objectKey(*sample).size();
  const std::size_t store_overhead = modelStoreOverhead(*sample, kube::runtime::objectKey(*sample));
  const std::size_t sample_json_bytes = sample->dump().size();
  sample.reset();
  // The same object as parsed from the list, before the informer drops its managedFields.
  JsonModel listed_model;
  modelJson(raw.sample_item, listed_model);
  JsonModel managed_fields_model;
  if (const auto& metadata = raw.sample_item["metadata"]; metadata.contains("managedFields")) {
    modelJson(metadata["managedFields"], managed_fields_model);
  }

  // What malloc keeps but does not use after the sync, given back.
  malloc_trim(0);
  const Memory after_trim = sampleMemory();

  // --- watch phase: a burst of updates ---------------------------------------------------------
  Json watch_report;
  if (updates > 0) {
    auto current = client.list(configmaps, options.ns, {.label_selector = selector, .limit = 1});
    if (!current) fail(current.error().message);
    const std::string rv_before = (*current)["metadata"].value("resourceVersion", "");
    const std::uint64_t events_before = informer.stats().events;
    const double informer_cpu_before = threadCpuSeconds(runner.native_handle());
    const Cpu cpu_updates_before = sampleCpu();
    note("updating " + std::to_string(updates) + " ConfigMaps with " + std::to_string(options.threads) + " threads");
    const std::size_t key_bytes = options.object_bytes / std::max<std::size_t>(options.data_keys, 1) +
                                  options.object_bytes % std::max<std::size_t>(options.data_keys, 1);
    const auto writes_started = SteadyClock::now();
    auto failure = parallelFor(updates, options.threads, "updated",
                               [&](std::size_t i, std::mt19937_64& random) -> std::optional<std::string> {
                                 // A same-sized new value, so the cache's size stays comparable.
                                 const Json patch{
                                     {"metadata", {{"annotations", {{std::string(kRoundAnnotation), round}}}}},
                                     {"data", {{dataKey(0), payload(random, key_bytes)}}}};
                                 auto patched = withRetries(
                                     [&] { return client.mergePatch(configmaps, options.ns, objectName(i), patch); });
                                 if (!patched) return patched.error().message;
                                 return std::nullopt;
                               });
    if (failure) fail("updating: " + *failure);
    const double writes_seconds = secondsSince(writes_started);
    const auto writes_done = SteadyClock::now();
    {
      std::unique_lock lock(done_mutex);
      if (!done_cv.wait_for(lock, std::chrono::minutes(5), [&] { return round_updates.load() >= updates; })) {
        fail("the informer saw " + std::to_string(round_updates.load()) + " of " + std::to_string(updates) +
             " updates in 5 min");
      }
    }
    const double informer_cpu = threadCpuSeconds(runner.native_handle()) - informer_cpu_before;
    const Cpu cpu_updates_after = sampleCpu();
    const auto since_start = [&](std::int64_t at) {
      return std::chrono::duration<double>(SteadyClock::time_point(SteadyClock::duration(at)) - writes_started).count();
    };
    const double first_seen = since_start(first_update_ns.load());
    const double last_seen = since_start(last_update_ns.load());
    const double lag_after_writes =
        std::chrono::duration<double>(SteadyClock::time_point(SteadyClock::duration(last_update_ns.load())) - writes_done)
            .count();
    const std::uint64_t informer_events = informer.stats().events - events_before;

    // Every updated object is in the store with this round's annotation.
    std::size_t verified = 0;
    for (std::size_t i = 0; i < updates; ++i) {
      const auto object = informer.store().get(kube::runtime::objectKey(options.ns, objectName(i)));
      if (object && (*object)["metadata"].value("annotations", Json::object()).value(std::string(kRoundAnnotation), "") == round) {
        ++verified;
      }
    }
    const Memory after_updates = sampleMemory();

    // The same events again, replayed from the API server's watch cache as fast as this thread
    // parses them into a scratch store: the client's ceiling, not limited by how fast writes come.
    note("replaying the " + std::to_string(updates) + " update events from resourceVersion " + rv_before);
    kube::runtime::Store scratch;
    std::size_t replayed = 0;
    timespec replay_cpu_before{};
    timespec replay_cpu_after{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &replay_cpu_before);
    const auto replay_started = SteadyClock::now();
    auto watched = client.watch(
        configmaps, options.ns,
        {.resource_version = rv_before, .label_selector = selector, .timeout = std::chrono::seconds(120),
         .allow_bookmarks = false},
        [&](kube::WatchEvent&& event) {
          if (event.type == kube::WatchEventType::kError) return false;
          kube::runtime::dropManagedFields(event.object);
          (void)scratch.upsert(std::make_shared<const Json>(std::move(event.object)));
          return ++replayed < updates;
        });
    const double replay_seconds = secondsSince(replay_started);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &replay_cpu_after);
    const double replay_cpu = toSeconds(replay_cpu_after) - toSeconds(replay_cpu_before);
    if (!watched) note("replay watch ended with: " + watched.error().message);

    watch_report = {
        {"updates", updates},
        {"writers", options.threads},
        {"write_seconds", writes_seconds},
        {"writes_per_second", static_cast<double>(updates) / writes_seconds},
        {"first_event_after_seconds", first_seen},
        {"all_in_store_after_seconds", last_seen},
        {"last_event_minus_last_write_seconds", lag_after_writes},
        {"informer_events", informer_events},
        {"informer_events_per_second", static_cast<double>(updates) / std::max(last_seen - first_seen, 1e-9)},
        {"informer_thread_cpu_seconds", informer_cpu},
        {"informer_thread_cpu_us_per_event", informer_cpu * 1e6 / static_cast<double>(updates)},
        {"process_cpu_seconds", cpu_updates_after.process - cpu_updates_before.process},
        {"verified_in_store", verified},
        {"memory_after_updates", memoryJson(after_updates)},
        {"replay_events", replayed},
        {"replay_seconds", replay_seconds},
        {"replay_events_per_second", static_cast<double>(replayed) / std::max(replay_seconds, 1e-9)},
        {"replay_thread_cpu_us_per_event", replayed == 0 ? 0.0 : replay_cpu * 1e6 / static_cast<double>(replayed)}};
  }

  if (runner.joinable()) {
    runner.request_stop();
    runner.join();
  }
  const kube::runtime::InformerStats stats = informer.stats();

  // --- report ----------------------------------------------------------------------------------
  const auto delta = [](std::int64_t a, std::int64_t b) { return b - a; };
  const auto ratio = [](double a, double b) { return b == 0 ? 0.0 : a / b; };
  const std::int64_t heap_per_object = delta(before.heap_in_use, after.heap_in_use) / static_cast<std::int64_t>(n);
  const std::int64_t rss_per_object = delta(before.rss, after.rss) / static_cast<std::int64_t>(n);
  const double raw_per_object = static_cast<double>(raw.body_bytes) / static_cast<double>(n);
  const double stripped_item_per_object = static_cast<double>(raw.stripped_item_bytes) / static_cast<double>(n);

  Json report{
      {"server", client.transport().server()},
      {"namespace", options.ns},
      {"cpus", std::thread::hardware_concurrency()},
      {"load_average_at_start", load_at_start},
      {"load_average_at_end", loadAverage()},
      {"objects", n},
      {"object_data_bytes", options.object_bytes},
      {"data_keys", options.data_keys},
      {"seeding",
       {{"created", seeded},
        {"threads", options.threads},
        {"seconds", seed_seconds},
        {"objects_per_second", seed_seconds > 0 ? static_cast<double>(seeded) / seed_seconds : 0.0}}},
      {"raw_list",
       {{"page_limit", kPageSize},
        {"pages", raw.pages},
        {"body_bytes", raw.body_bytes},
        {"body_bytes_per_object", raw_per_object},
        {"body_bytes_without_managed_fields", raw.stripped_body_bytes},
        {"item_bytes_per_object", static_cast<double>(raw.item_bytes) / static_cast<double>(n)},
        {"item_bytes_per_object_without_managed_fields", stripped_item_per_object},
        {"fetch_seconds", raw.fetch_seconds},
        {"parse_cpu_seconds", raw.parse_seconds}}},
      {"sync",
       {{"mode", options.sync_mode},
        {"wall_seconds", sync_seconds},
        {"settled_seconds", settled_seconds},
        {"process_cpu_seconds", cpu_after.process - cpu_before.process},
        {"user_cpu_seconds", cpu_after.user - cpu_before.user},
        {"system_cpu_seconds", cpu_after.system - cpu_before.system},
        {"sync_thread_cpu_seconds", informer_sync_cpu},
        {"cached_objects", cached},
        {"peak_rss_reset", peak_reset}}},
      {"memory",
       {{"before", memoryJson(before)},
        {"after_sync", memoryJson(after)},
        {"after_sync_and_malloc_trim", memoryJson(after_trim)},
        {"rss_delta_bytes_per_object", rss_per_object},
        {"heap_delta_bytes_per_object", heap_per_object},
        {"peak_rss_delta_bytes_per_object", delta(before.rss, after.hwm) / static_cast<std::int64_t>(n)},
        {"heap_per_object_over_raw_json", ratio(static_cast<double>(heap_per_object), raw_per_object)},
        {"heap_per_object_over_stored_json", ratio(static_cast<double>(heap_per_object), stripped_item_per_object)}}},
      {"model",
       {{"sample_json_bytes", sample_json_bytes},
        {"json_values", model.values},
        {"object_members", model.members},
        {"string_values", model.strings},
        {"text_bytes", model.text_bytes},
        {"json_heap_bytes", model.heap_bytes},
        {"listed_json_heap_bytes", listed_model.heap_bytes},
        {"managed_fields_heap_bytes", managed_fields_model.heap_bytes},
        {"managed_fields_values", managed_fields_model.values},
        {"store_overhead_bytes", store_overhead},
        {"key_bytes", sample_key_size}}},
      {"watch", watch_report},
      {"informer_stats",
       {{"lists", stats.lists},
        {"watches", stats.watches},
        {"events", stats.events},
        {"failures", stats.failures},
        {"handler_adds", adds.load()}}}};

  if (options.output == "json") {
    std::cout << report.dump(2) << "\n";
    return 0;
  }

  std::ostringstream out;
  const auto row = [&](const std::string& name, const std::string& value, const std::string& extra = {}) {
    out << "  " << pad(name, 44) << padLeft(value, 14) << (extra.empty() ? "" : "   " + extra) << "\n";
  };
  out << "Informer memory benchmark\n";
  out << "  server " << client.transport().server() << ", namespace " << options.ns << "\n";
  out << "  " << n << " ConfigMaps, " << options.object_bytes << " data bytes each in " << options.data_keys
      << " keys, label " << selector << "\n";
  out << "  " << std::thread::hardware_concurrency() << " CPUs, load average " << load_at_start << " at the start, "
      << report["load_average_at_end"].get<std::string>() << " at the end\n\n";

  out << "Seeding\n";
  if (seeded > 0) {
    row("created", std::to_string(seeded), "in " + fixed(seed_seconds, 1) + " s with " + std::to_string(options.threads) + " threads");
    row("rate", fixed(static_cast<double>(seeded) / seed_seconds, 0) + " /s");
  } else {
    row("created", "0", "(reused)");
  }

  out << "\nRaw JSON: paged LIST, limit " << kPageSize << ", " << raw.pages << " pages\n";
  row("list bodies", mib(static_cast<std::int64_t>(raw.body_bytes)), fixed(raw_per_object, 0) + " B/object");
  row("  re-serialised without managedFields", mib(static_cast<std::int64_t>(raw.stripped_body_bytes)),
      fixed(static_cast<double>(raw.stripped_body_bytes) / static_cast<double>(n), 0) + " B/object");
  row("items only", mib(static_cast<std::int64_t>(raw.item_bytes)),
      fixed(static_cast<double>(raw.item_bytes) / static_cast<double>(n), 0) + " B/object");
  row("  without managedFields (what is cached)", mib(static_cast<std::int64_t>(raw.stripped_item_bytes)),
      fixed(stripped_item_per_object, 0) + " B/object");
  row("fetch wall time (server + transport)", fixed(raw.fetch_seconds, 2) + " s");
  row("nlohmann::json::parse of the bodies (CPU)", fixed(raw.parse_seconds, 2) + " s",
      fixed(static_cast<double>(raw.body_bytes) / raw.parse_seconds / 1e6, 0) + " MB/s");

  out << (use_informer ? "\nInformer sync\n" : "\nPage-by-page sync (experiment, no informer)\n");
  row(use_informer ? "time to sync (start to waitForSync)" : "time to list and store", fixed(sync_seconds, 2) + " s");
  row("process CPU during sync", fixed(cpu_after.process - cpu_before.process, 2) + " s",
      "user " + fixed(cpu_after.user - cpu_before.user, 2) + " s, system " + fixed(cpu_after.system - cpu_before.system, 2) + " s");
  row(use_informer ? "informer thread CPU" : "listing thread CPU", fixed(informer_sync_cpu, 2) + " s",
      fixed(informer_sync_cpu * 1e6 / static_cast<double>(n), 0) + " us/object");
  row("objects in the store", std::to_string(cached));

  out << "\nMemory                                  " << padLeft("before", 12) << padLeft("after sync", 12)
      << padLeft("delta", 12) << padLeft("per object", 12) << "\n";
  const auto memory_row = [&](const std::string& name, std::int64_t a, std::int64_t b) {
    out << "  " << pad(name, 38) << padLeft(mib(a), 12) << padLeft(mib(b), 12) << padLeft(mib(b - a), 12)
        << padLeft(perObject(b - a, n), 12) << "\n";
  };
  memory_row("VmRSS (resident)", before.rss, after.rss);
  memory_row(peak_reset ? "VmHWM (peak since baseline)" : "VmHWM (peak, not reset)", before.hwm, after.hwm);
  memory_row("heap in use (mallinfo2)", before.heap_in_use, after.heap_in_use);
  memory_row("heap held from the kernel (mallinfo2)", before.heap_from_os, after.heap_from_os);
  memory_row("free inside malloc's heap", before.heap_from_os - before.heap_in_use,
             after.heap_from_os - after.heap_in_use);
  memory_row("VmRSS after malloc_trim(0)", before.rss, after_trim.rss);
  out << "  heap per cached object / raw list JSON per object:        "
      << fixed(ratio(static_cast<double>(heap_per_object), raw_per_object), 2) << "x\n";
  out << "  heap per cached object / its JSON without managedFields:  "
      << fixed(ratio(static_cast<double>(heap_per_object), stripped_item_per_object), 2) << "x\n";

  out << "\nModel of one cached object (" << sample_json_bytes << " B of JSON)\n";
  row("JSON values / object members / strings",
      std::to_string(model.values) + " / " + std::to_string(model.members) + " / " + std::to_string(model.strings));
  row("characters in keys and strings", std::to_string(model.text_bytes) + " B");
  row("nlohmann::json heap (modelled malloc chunks)", std::to_string(model.heap_bytes) + " B");
  row("store: pointer, map node, index entries", std::to_string(store_overhead) + " B");
  row("modelled total", std::to_string(model.heap_bytes + store_overhead) + " B",
      "measured heap delta " + std::to_string(heap_per_object) + " B");
  row("json as listed, with managedFields", std::to_string(listed_model.heap_bytes) + " B",
      "managedFields alone: " + std::to_string(managed_fields_model.values) + " values, " +
          std::to_string(managed_fields_model.heap_bytes) + " B");

  if (!watch_report.is_null()) {
    const auto& w = watch_report;
    out << "\nWatch: " << updates << " updates (merge patches) by " << options.threads << " writers\n";
    row("writes", fixed(w["write_seconds"].get<double>(), 2) + " s",
        fixed(w["writes_per_second"].get<double>(), 0) + " writes/s");
    row("all updates in the store after", fixed(w["all_in_store_after_seconds"].get<double>(), 2) + " s",
        "last event vs last write's answer " +
            fixed(w["last_event_minus_last_write_seconds"].get<double>() * 1e3, 1) + " ms");
    row("informer events/s (first to last)", fixed(w["informer_events_per_second"].get<double>(), 0) + " /s",
        "bounded by the writers");
    row("informer thread CPU per event", fixed(w["informer_thread_cpu_us_per_event"].get<double>(), 1) + " us");
    row("updates verified in the store", std::to_string(w["verified_in_store"].get<std::size_t>()) + " / " +
                                             std::to_string(updates));
    row("VmRSS / heap after the updates", mib(w["memory_after_updates"]["vm_rss_bytes"].get<std::int64_t>()) + " / " +
                                              mib(w["memory_after_updates"]["heap_in_use_bytes"].get<std::int64_t>()));
    row("replay from the watch cache", fixed(w["replay_events_per_second"].get<double>(), 0) + " events/s",
        std::to_string(w["replay_events"].get<std::size_t>()) + " events in " +
            fixed(w["replay_seconds"].get<double>(), 2) + " s, " +
            fixed(w["replay_thread_cpu_us_per_event"].get<double>(), 1) + " us CPU/event");
  }
  out << "\nInformer stats: " << stats.lists << " list, " << stats.watches << " watch, " << stats.events
      << " events, " << stats.failures << " failures; handlers saw " << adds.load() << " adds\n";
  std::cout << out.str();
  return 0;
}
