// Discovery: where a kind lives in the REST API, asked of the API server and cached.
//
// Code that knows a kind only by apiVersion and kind (objects read from YAML, owner references,
// a user's pipeline) needs its plural resource name and scope to build a path. The server's
// APIResourceList for the group version answers both. Answers are cached per group version; a
// kind missing from a cached list triggers one refetch at most every `refresh_interval`, because
// a CRD installed after start-up must become usable without a restart, while a typo must not
// cost a request per lookup. The interval is measured on the injected clock.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "kube/client.h"
#include "kube/clock.h"
#include "kube/result.h"

namespace kube {

// "apps/v1" → {"apps", "v1"}; "v1" → {"", "v1"}.
struct GroupVersion {
  std::string group;
  std::string version;
  static GroupVersion parse(std::string_view api_version);
  std::string path() const;  // "/api/v1" or "/apis/apps/v1"
};

// The kinds of one APIResourceList, subresources ("pods/status") left out.
Result<std::map<std::string, ResourceType, std::less<>>> parseResourceList(const GroupVersion& group_version,
                                                                         const Json& list);

class Discovery {
 public:
  // `client` and `clock` must outlive the discovery.
  explicit Discovery(Client& client, std::chrono::milliseconds refresh_interval = std::chrono::seconds(5),
                     Clock& clock = realClock())
      : client_(client), refresh_interval_(refresh_interval), clock_(clock) {}

  // The resource of `kind` in `api_version`; a NotFound error (404) when the server does not
  // serve it, naming the kind and suggesting the likely cause.
  Result<ResourceType> resourceFor(std::string_view api_version, std::string_view kind);
  // The resource of an object's apiVersion and kind.
  Result<ResourceType> resourceFor(const Json& object);
  // Forgets everything, e.g. after CRDs were removed.
  void invalidate();

 private:
  struct Entry {
    std::map<std::string, ResourceType, std::less<>> kinds;
    MonoTime fetched_at;
  };
  Result<void> refresh(const GroupVersion& group_version, const std::string& key);

  Client& client_;
  const std::chrono::milliseconds refresh_interval_;
  Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> cache_;  // guarded by mutex_; key "group/version"
};

}  // namespace kube
