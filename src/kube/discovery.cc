#include "kube/discovery.h"

namespace kube {
namespace {

Error notServed(std::string_view api_version, std::string_view kind) {
  const std::string message = "the API server does not serve kind " + std::string(kind) + " in " +
                              std::string(api_version) + ": check apiVersion and kind, and that its CRD is installed";
  return Error{.kind = ErrorKind::kApi,
               .message = message,
               .status = ApiStatus{.code = 404, .reason = "NotFound", .message = message, .details = nullptr}};
}

}  // namespace

GroupVersion GroupVersion::parse(std::string_view api_version) {
  const auto slash = api_version.find('/');
  if (slash == std::string_view::npos) return {.group = "", .version = std::string(api_version)};
  return {.group = std::string(api_version.substr(0, slash)), .version = std::string(api_version.substr(slash + 1))};
}

std::string GroupVersion::path() const { return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version; }

Result<std::map<std::string, ResourceType, std::less<>>> parseResourceList(const GroupVersion& group_version,
                                                                         const Json& list) {
  const auto resources = list.find("resources");
  if (resources == list.end() || !resources->is_array()) {
    return Error{.kind = ErrorKind::kDecode, .message = "APIResourceList for " + group_version.path() +
                                                        " has no resources array", .status = {}};
  }
  std::map<std::string, ResourceType, std::less<>> kinds;
  for (const Json& resource : *resources) {
    const std::string name = resource.value("name", "");
    const std::string kind = resource.value("kind", "");
    if (name.empty() || kind.empty() || name.find('/') != std::string::npos) continue;  // subresource
    kinds.emplace(kind, ResourceType{.group = group_version.group,
                                     .version = group_version.version,
                                     .plural = name,
                                     .namespaced = resource.value("namespaced", false)});
  }
  return kinds;
}

Result<ResourceType> Discovery::resourceFor(std::string_view api_version, std::string_view kind) {
  const GroupVersion group_version = GroupVersion::parse(api_version);
  if (group_version.version.empty() || kind.empty()) {
    return Error{.kind = ErrorKind::kInvalidConfig,
                 .message = "apiVersion and kind are both required, got apiVersion '" + std::string(api_version) +
                            "' and kind '" + std::string(kind) + "'",
                 .status = {}};
  }
  const std::string key = group_version.group + "/" + group_version.version;
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(mutex_);
      const auto entry = cache_.find(key);
      if (entry != cache_.end()) {
        if (const auto found = entry->second.kinds.find(kind); found != entry->second.kinds.end()) return found->second;
        if (clock_.now() - entry->second.fetched_at < refresh_interval_) break;
      }
    }
    if (attempt == 1) break;
    if (auto refreshed = refresh(group_version, key); !refreshed) {
      if (refreshed.error().isNotFound()) break;  // the whole group version is not served
      return std::move(refreshed).error();
    }
  }
  return notServed(api_version, kind);
}

Result<ResourceType> Discovery::resourceFor(const Json& object) {
  if (!object.is_object()) return resourceFor("", "");
  return resourceFor(object.value("apiVersion", ""), object.value("kind", ""));
}

void Discovery::invalidate() {
  std::lock_guard lock(mutex_);
  cache_.clear();
}

// Fetched without the lock held: a slow server must not block lookups of other group versions.
Result<void> Discovery::refresh(const GroupVersion& group_version, const std::string& key) {
  auto list = client_.getPath(group_version.path());
  if (!list) return std::move(list).error();
  auto kinds = parseResourceList(group_version, *list);
  if (!kinds) return std::move(kinds).error();
  std::lock_guard lock(mutex_);
  cache_[key] = Entry{.kinds = std::move(*kinds), .fetched_at = clock_.now()};
  return {};
}

}  // namespace kube
