// Informer stores filled from a FakeObjectApi, as the informers would hold them after the last
// change, so that a reconciler runs pass by pass in a unit test without an informer thread.
//
// Thread safety: none needed; tests call these between passes, from one thread.
#pragma once

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <string>
#include <vector>

#include "kube/object_api.h"
#include "runtime/events.h"
#include "runtime/store.h"

namespace kube::testing {

// Makes `store` exactly what `type` in `ns` ("" for all) matching `selector` holds in `api`,
// each item with apiVersion and kind, as the informer stores list items. Throws std::runtime_error
// when the list fails.
inline void fillStore(ObjectApi& api, runtime::Store& store, const ResourceType& type, const std::string& ns = "",
                      const std::string& selector = "") {
  auto listed = api.list(type, ns, {.label_selector = selector});
  if (!listed) throw std::runtime_error("listing " + type.plural + ": " + listed.error().message);
  const std::string list_kind = listed->value("kind", "");
  const std::string kind = list_kind.substr(0, list_kind.size() - std::string_view("List").size());
  std::vector<runtime::ObjectPtr> objects;
  for (Json item : (*listed)["items"]) {
    item["apiVersion"] = type.apiVersion();
    item["kind"] = kind;
    objects.push_back(std::make_shared<const Json>(std::move(item)));
  }
  store.replace(std::move(objects));
}

// An EventWriter that accepts everything and keeps nothing: for tests that look at objects.
class DiscardedEvents final : public runtime::EventWriter {
 public:
  Result<Json> create(const std::string&, const Json& event) override { return event; }
  Result<Json> patch(const std::string&, const std::string&, const Json& patch) override { return patch; }
};

// An EventWriter that keeps every Event created, for tests that count them; read after the
// recorder's flush(). The log is shared, so it outlives the writer the recorder owns.
class RecordedEvents final : public runtime::EventWriter {
 public:
  struct Log {
    std::mutex mutex;
    std::vector<Json> created;
    std::vector<std::string> reasons() {
      std::lock_guard lock(mutex);
      std::vector<std::string> out;
      for (const auto& event : created) out.push_back(event.value("reason", ""));
      return out;
    }
  };
  explicit RecordedEvents(std::shared_ptr<Log> log) : log_(std::move(log)) {}
  Result<Json> create(const std::string&, const Json& event) override {
    std::lock_guard lock(log_->mutex);
    log_->created.push_back(event);
    return event;
  }
  Result<Json> patch(const std::string&, const std::string&, const Json& patch) override { return patch; }

 private:
  std::shared_ptr<Log> log_;
};

}  // namespace kube::testing
