// Store and informer-style event handling without a cluster (Google Benchmark).
//
// The objects are shaped like the ConfigMaps aphex_bench_informer_memory seeds: metadata as the
// API server fills it (uid, resourceVersion, creationTimestamp, one label, managedFields) and
// 1 KiB of data in four keys. Store benchmarks run in both encodings (…/tree, …/text); the
// …Child ones use a child as a transform trims it (metadata, five labels, an owner, a digest).
// Run: aphex_bench_store [--benchmark_filter=REGEX].
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kube/watch.h"
#include "runtime/store.h"

namespace {

using kube::Json;
using kube::runtime::CacheEncoding;
using kube::runtime::ObjectPtr;
using kube::runtime::Store;

constexpr std::size_t kObjects = 10000;
constexpr std::size_t kDataKeys = 4;
constexpr std::size_t kKeyBytes = 256;
const std::string kNamespace = "bench-informer-abcd1234";

std::string objectName(std::size_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "cm-%06zu", index);
  return name;
}

std::string text(std::mt19937_64& random, std::size_t bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string out(bytes, ' ');
  for (auto& c : out) c = kAlphabet[pick(random)];
  return out;
}

// A ConfigMap as a watch event or list item carries it.
Json configMap(std::size_t index, std::uint64_t resource_version, std::mt19937_64& random) {
  Json data = Json::object();
  Json data_fields = {{".", Json::object()}};
  for (std::size_t k = 0; k < kDataKeys; ++k) {
    data["key-" + std::to_string(k)] = text(random, kKeyBytes);
    data_fields["f:key-" + std::to_string(k)] = Json::object();
  }
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", objectName(index)},
            {"namespace", kNamespace},
            {"uid", "0b6f3c2e-5d1a-4c47-9f5e-" + text(random, 12)},
            {"resourceVersion", std::to_string(resource_version)},
            {"creationTimestamp", "2025-11-28T13:30:00Z"},
            {"labels", {{"bench.aphex.dev/informer-memory", "seeded"}}},
            {"managedFields",
             Json::array({{{"manager", "aphex_bench_informer_memory"},
                           {"operation", "Update"},
                           {"apiVersion", "v1"},
                           {"time", "2025-11-28T13:30:00Z"},
                           {"fieldsType", "FieldsV1"},
                           {"fieldsV1",
                            {{"f:data", data_fields},
                             {"f:metadata",
                              {{"f:labels", {{".", Json::object()}, {"f:bench.aphex.dev/informer-memory", Json::object()}}}}}}}}})}}},
          {"data", std::move(data)}};
}

// A child object as a controller's transform leaves it: the metadata it reads and a digest of
// the rest.
Json trimmedChild(std::size_t index, std::uint64_t resource_version, std::mt19937_64& random) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", objectName(index)},
            {"namespace", kNamespace},
            {"uid", "0b6f3c2e-5d1a-4c47-9f5e-" + text(random, 12)},
            {"resourceVersion", std::to_string(resource_version)},
            {"labels",
             {{"app.kubernetes.io/managed-by", "aphex"},
              {"aphex.io/org", "org-17"},
              {"aphex.io/binding", "binding-0042"},
              {"aphex.io/component", "pipeline"},
              {"aphex.io/tenant", "tenant-3"}}},
            {"ownerReferences", Json::array({{{"kind", "RepoBinding"}, {"uid", "7d1c-" + text(random, 8)}}})}}},
          {"digest", text(random, 64)}};
}

ObjectPtr stored(Json object) {
  kube::runtime::dropManagedFields(object);
  return std::make_shared<const Json>(std::move(object));
}

// kObjects objects at resource version `base + index`, managedFields dropped as the informer does.
std::vector<ObjectPtr> objects(std::uint64_t base) {
  std::mt19937_64 random{42};
  std::vector<ObjectPtr> out;
  out.reserve(kObjects);
  for (std::size_t i = 0; i < kObjects; ++i) out.push_back(stored(configMap(i, base + i, random)));
  return out;
}

std::vector<ObjectPtr> children(std::uint64_t base) {
  std::mt19937_64 random{42};
  std::vector<ObjectPtr> out;
  out.reserve(kObjects);
  for (std::size_t i = 0; i < kObjects; ++i) out.push_back(stored(trimmedChild(i, base + i, random)));
  return out;
}

// Inserting 10k objects into an empty store (the first list).
void BM_StoreInsert(benchmark::State& state, CacheEncoding encoding) {
  const auto all = objects(1000);
  for (auto _ : state) {
    Store store(encoding);
    for (const auto& object : all) benchmark::DoNotOptimize(store.upsert(object));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kObjects));
}
BENCHMARK_CAPTURE(BM_StoreInsert, tree, CacheEncoding::kTree)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StoreInsert, text, CacheEncoding::kText)->Unit(benchmark::kMillisecond);

// Upserting a newer version of objects already there (a watch MODIFIED event).
void BM_StoreUpdate(benchmark::State& state, CacheEncoding encoding) {
  const auto first = objects(1000);
  const auto second = objects(100000);
  Store store(encoding);
  for (const auto& object : first) (void)store.upsert(object);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& next = (i / kObjects) % 2 == 0 ? second : first;
    benchmark::DoNotOptimize(store.upsert(next[i % kObjects]));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_StoreUpdate, tree, CacheEncoding::kTree);
BENCHMARK_CAPTURE(BM_StoreUpdate, text, CacheEncoding::kText);

// A relist: replace() with 10k objects, every one at a new version.
void BM_StoreReplace(benchmark::State& state, CacheEncoding encoding) {
  const auto first = objects(1000);
  const auto second = objects(100000);
  Store store(encoding);
  (void)store.replace(first);
  bool flip = false;
  for (auto _ : state) {
    auto diff = store.replace(flip ? first : second);
    benchmark::DoNotOptimize(diff);
    flip = !flip;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kObjects));
}
BENCHMARK_CAPTURE(BM_StoreReplace, tree, CacheEncoding::kTree)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StoreReplace, text, CacheEncoding::kText)->Unit(benchmark::kMillisecond);

// A reconciler's read: get() by key out of 10k.
void storeGet(benchmark::State& state, CacheEncoding encoding, const std::vector<ObjectPtr>& all) {
  Store store(encoding);
  (void)store.replace(all);
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < kObjects; ++i) keys.push_back(kube::runtime::objectKey(kNamespace, objectName((i * 7919) % kObjects)));
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(store.get(keys[i++ % kObjects]));
  state.SetItemsProcessed(state.iterations());
  state.counters["json_bytes"] = static_cast<double>(all.front()->dump().size());
}

void BM_StoreGet(benchmark::State& state, CacheEncoding encoding) { storeGet(state, encoding, objects(1000)); }
BENCHMARK_CAPTURE(BM_StoreGet, tree, CacheEncoding::kTree);
BENCHMARK_CAPTURE(BM_StoreGet, text, CacheEncoding::kText);

void BM_StoreGetChild(benchmark::State& state, CacheEncoding encoding) { storeGet(state, encoding, children(1000)); }
BENCHMARK_CAPTURE(BM_StoreGetChild, tree, CacheEncoding::kTree);
BENCHMARK_CAPTURE(BM_StoreGetChild, text, CacheEncoding::kText);

// A lookup by label, as a reconciler lists an owner's children: 1 object under its value.
void BM_StoreByLabelChild(benchmark::State& state, CacheEncoding encoding) {
  Store store(encoding);
  auto all = children(1000);
  std::vector<ObjectPtr> labelled;
  for (std::size_t i = 0; i < kObjects; ++i) {
    Json object = *all[i];
    object["metadata"]["labels"]["aphex.io/binding"] = "binding-" + std::to_string(i);
    labelled.push_back(std::make_shared<const Json>(std::move(object)));
  }
  (void)store.replace(std::move(labelled));
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(store.byLabel("aphex.io/binding", "binding-" + std::to_string(i++ % kObjects)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_StoreByLabelChild, tree, CacheEncoding::kTree);
BENCHMARK_CAPTURE(BM_StoreByLabelChild, text, CacheEncoding::kText);

// What a store of 10k objects keeps on the heap, per object (malloc's bytes in use, before and
// after; the objects are made inside and dropped but for the store's references). One iteration.
void storeHeap(benchmark::State& state, CacheEncoding encoding, std::vector<ObjectPtr> (*make)(std::uint64_t)) {
  for (auto _ : state) {
    const auto before = mallinfo2().uordblks;
    auto store = std::make_unique<Store>(encoding);
    std::size_t json_bytes = 0;
    {
      auto all = make(1000);
      json_bytes = all.front()->dump().size();
      (void)store->replace(std::move(all));
    }
    const auto after = mallinfo2().uordblks;
    state.counters["heap_bytes_per_object"] = static_cast<double>(after - before) / static_cast<double>(kObjects);
    state.counters["json_bytes"] = static_cast<double>(json_bytes);
    benchmark::DoNotOptimize(store);
  }
}

void BM_StoreHeap(benchmark::State& state, CacheEncoding encoding) { storeHeap(state, encoding, objects); }
BENCHMARK_CAPTURE(BM_StoreHeap, tree, CacheEncoding::kTree)->Iterations(1);
BENCHMARK_CAPTURE(BM_StoreHeap, text, CacheEncoding::kText)->Iterations(1);

void BM_StoreHeapChild(benchmark::State& state, CacheEncoding encoding) { storeHeap(state, encoding, children); }
BENCHMARK_CAPTURE(BM_StoreHeapChild, tree, CacheEncoding::kTree)->Iterations(1);
BENCHMARK_CAPTURE(BM_StoreHeapChild, text, CacheEncoding::kText)->Iterations(1);

// nlohmann::json parsing of one watch event document alone.
void BM_ParseWatchEvent(benchmark::State& state) {
  std::mt19937_64 random{7};
  const std::string document = Json{{"type", "MODIFIED"}, {"object", configMap(1, 12345, random)}}.dump();
  for (auto _ : state) benchmark::DoNotOptimize(kube::parseWatchEvent(document));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(document.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseWatchEvent);

// Parsing, then dropping managedFields as the informer's default transform does.
void BM_ParseWatchEventThenDropManagedFields(benchmark::State& state) {
  std::mt19937_64 random{7};
  const std::string document = Json{{"type", "MODIFIED"}, {"object", configMap(1, 12345, random)}}.dump();
  for (auto _ : state) {
    auto event = kube::parseWatchEvent(document);
    kube::runtime::dropManagedFields(event->object);
    benchmark::DoNotOptimize(event);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(document.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseWatchEventThenDropManagedFields);

// Dropping managedFields while parsing (a parser callback) instead of after: the nodes
// are never allocated, so there is nothing to free and no holes are left between cached objects.
void BM_ParseWatchEventSkippingManagedFields(benchmark::State& state) {
  std::mt19937_64 random{7};
  const std::string document = Json{{"type", "MODIFIED"}, {"object", configMap(1, 12345, random)}}.dump();
  const Json::parser_callback_t skip = [](int, Json::parse_event_t event, Json& parsed) {
    return !(event == Json::parse_event_t::key && parsed == "managedFields");
  };
  for (auto _ : state) benchmark::DoNotOptimize(Json::parse(document, skip, /*allow_exceptions=*/false));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(document.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseWatchEventSkippingManagedFields);

// objectKey() as the store computes it on every upsert (member lookups; JSON pointers built from
// literals before, 1.16 µs) ...
void BM_ObjectKey(benchmark::State& state) {
  std::mt19937_64 random{7};
  const ObjectPtr object = stored(configMap(1, 12345, random));
  for (auto _ : state) benchmark::DoNotOptimize(kube::runtime::objectKey(*object));
}
BENCHMARK(BM_ObjectKey);

// ... and the same key from two plain member lookups, unchecked: the floor.
void BM_ObjectKeyByFind(benchmark::State& state) {
  std::mt19937_64 random{7};
  const ObjectPtr object = stored(configMap(1, 12345, random));
  for (auto _ : state) {
    const auto& metadata = *object->find("metadata");
    benchmark::DoNotOptimize(kube::runtime::objectKey(metadata.find("namespace")->get_ref<const std::string&>(),
                                                      metadata.find("name")->get_ref<const std::string&>()));
  }
}
BENCHMARK(BM_ObjectKeyByFind);

// What Informer::handleEvent does per ADDED/MODIFIED event once the bytes are in: parse, count the
// event under the stats mutex, take the resourceVersion, drop managedFields, upsert, and record
// the version under the mutex again. Arg: 0 = no stats/version locks, 1 = the informer's two
// uncontended locks, 2 = the same while another thread takes that mutex in a loop (a worst case:
// something polling stats() continuously).
void eventHandling(benchmark::State& state, CacheEncoding encoding) {
  const int mode = static_cast<int>(state.range(0));
  std::mt19937_64 random{7};
  std::vector<std::string> documents;
  for (std::size_t i = 0; i < 1000; ++i) {
    documents.push_back(Json{{"type", "MODIFIED"}, {"object", configMap(i, 5000 + i, random)}}.dump());
  }
  Store store(encoding);
  std::mutex mutex;
  std::uint64_t events = 0;
  std::string last_version;
  std::atomic<bool> stop{false};
  std::jthread poller;
  if (mode == 2) {
    poller = std::jthread([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        std::lock_guard lock(mutex);
        benchmark::DoNotOptimize(events);
      }
    });
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto event = kube::parseWatchEvent(documents[i++ % documents.size()]);
    if (mode != 0) {
      std::lock_guard lock(mutex);
      ++events;
    }
    std::string version = kube::runtime::resourceVersionOf(event->object);
    kube::runtime::dropManagedFields(event->object);
    ObjectPtr previous = store.upsert(std::make_shared<const Json>(std::move(event->object)));
    benchmark::DoNotOptimize(previous);
    if (mode != 0) {
      std::lock_guard lock(mutex);
      last_version = std::move(version);
    }
  }
  stop = true;
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(mode == 0 ? "no locks" : mode == 1 ? "informer's locks" : "informer's locks, contended");
}
void BM_EventHandling(benchmark::State& state) { eventHandling(state, CacheEncoding::kTree); }
BENCHMARK(BM_EventHandling)->Arg(0)->Arg(1)->Arg(2);

// The same into a kText store: a dump per event, and a parse of the version it replaces.
void BM_EventHandlingText(benchmark::State& state) { eventHandling(state, CacheEncoding::kText); }
BENCHMARK(BM_EventHandlingText)->Arg(1);

// One uncontended lock/unlock pair, for scale.
void BM_MutexLockUnlock(benchmark::State& state) {
  std::mutex mutex;
  std::uint64_t counter = 0;
  for (auto _ : state) {
    std::lock_guard lock(mutex);
    benchmark::DoNotOptimize(++counter);
  }
}
BENCHMARK(BM_MutexLockUnlock);

}  // namespace

BENCHMARK_MAIN();
