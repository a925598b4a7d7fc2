// Informer stores filled from a FakeObjectApi, as the informers would hold them after the last
// change, so that a reconciler runs pass by pass in a unit test without an informer thread.
//
// Thread safety: none needed; tests call these between passes, from one thread.
#pragma once

#include <memory>
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

}  // namespace kube::testing
