#include "runtime/own_writes.h"

#include <algorithm>

#include "runtime/informer.h"
#include "runtime/store.h"

namespace kube::runtime {
namespace {

std::string_view metadataString(const Json& object, const char* field) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return {};
  const auto value = metadata->find(field);
  return value != metadata->end() && value->is_string() ? std::string_view(value->get_ref<const std::string&>())
                                                        : std::string_view();
}

}  // namespace

void OwnWrites::expectEchoesOf(const ResourceType& type) {
  std::lock_guard lock(mutex_);
  expected_.insert(resourceLabel(type));
}

void OwnWrites::onEcho(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  on_echo_ = std::move(callback);
}

std::string OwnWrites::keyOf(const ResourceType& type, std::string_view ns, std::string_view name) const {
  std::string resource = resourceLabel(type);
  if (name.empty() || !expected_.contains(resource)) return "";
  return resource + "/" + objectKey(ns, name);
}

std::string OwnWrites::keyOf(const ResourceType& type, const Json& object) const {
  return keyOf(type, metadataString(object, "namespace"), metadataString(object, "name"));
}

OwnWrites::Write OwnWrites::begin(const ResourceType& type, std::string_view ns, std::string_view name) {
  std::lock_guard lock(mutex_);
  std::string key = keyOf(type, ns, name);
  if (key.empty()) return Write(nullptr, {});
  ++in_flight_[key].writes;
  return Write(this, std::move(key));
}

void OwnWrites::ended(const std::string& key, const Json* answer) {
  std::vector<std::function<void()>> wake;
  std::function<void()> on_echo;
  std::size_t echoed = 0;
  {
    std::lock_guard lock(mutex_);
    const MonoTime now = clock_.now();
    dropOlderThanWindowLocked(now);
    const std::string version = answer != nullptr ? resourceVersionOf(*answer) : "";
    if (!version.empty()) {
      std::vector<Written>& records = written_[key];
      // An apply that changed nothing answers with the version already recorded: one will do.
      if (records.empty() || records.back().resource_version != version) {
        records.push_back({.resource_version = version, .at = now});
      }
    }
    const auto flight = in_flight_.find(key);
    if (flight == in_flight_.end() || --flight->second.writes > 0) return;
    std::vector<Deferred> deferred = std::move(flight->second.deferred);
    in_flight_.erase(flight);
    for (auto& event : deferred) {
      if (consumeLocked(key, event.resource_version)) {
        ++echoed;
      } else {
        wake.push_back(std::move(event.wake));
      }
    }
    echoes_ += echoed;
    on_echo = on_echo_;
  }
  for (std::size_t i = 0; on_echo && i < echoed; ++i) on_echo();
  for (const auto& call : wake) call();
}

OwnWrites::Seen OwnWrites::deliver(const ResourceType& type, const Json& object, std::function<void()> wake) {
  const Seen seen = settle(type, object, wake);
  if (seen == Seen::kNew) wake();
  if (seen == Seen::kEcho) {
    std::function<void()> on_echo;
    {
      std::lock_guard lock(mutex_);
      on_echo = on_echo_;
    }
    if (on_echo) on_echo();
  }
  return seen;
}

OwnWrites::Seen OwnWrites::settle(const ResourceType& type, const Json& object, std::function<void()>& wake) {
  const std::string version = resourceVersionOf(object);
  std::lock_guard lock(mutex_);
  if (version.empty() || (written_.empty() && in_flight_.empty())) return Seen::kNew;
  const std::string key = keyOf(type, object);
  if (key.empty()) return Seen::kNew;
  if (const auto flight = in_flight_.find(key); flight != in_flight_.end()) {
    flight->second.deferred.push_back({.resource_version = version, .wake = std::move(wake)});
    return Seen::kDeferred;
  }
  if (!consumeLocked(key, version)) return Seen::kNew;
  ++echoes_;
  return Seen::kEcho;
}

bool OwnWrites::consumeLocked(const std::string& key, const std::string& version) {
  const auto found = written_.find(key);
  if (found == written_.end()) return false;
  std::vector<Written>& records = found->second;
  const auto match = std::find_if(records.begin(), records.end(),
                                  [&version](const Written& record) { return record.resource_version == version; });
  if (match == records.end()) return false;
  records.erase(records.begin(), match + 1);
  if (records.empty()) written_.erase(found);
  return true;
}

void OwnWrites::forget(const ResourceType& type, const Json& object) {
  std::lock_guard lock(mutex_);
  if (written_.empty()) return;
  written_.erase(keyOf(type, object));
}

void OwnWrites::dropOlderThanWindowLocked(MonoTime now) {
  if (now - last_sweep_ < window_) return;
  last_sweep_ = now;
  std::erase_if(written_, [&](const auto& entry) { return now - entry.second.back().at >= window_; });
}

std::size_t OwnWrites::pending() const {
  std::lock_guard lock(mutex_);
  return written_.size();
}

std::uint64_t OwnWrites::echoes() const {
  std::lock_guard lock(mutex_);
  return echoes_;
}

Result<Json> OwnWritesClient::written(const ResourceType& type, std::string_view ns, std::string_view name,
                                      const std::function<Result<Json>()>& call) {
  OwnWrites::Write write = writes_->begin(type, ns, name);
  Result<Json> answer = call();
  write.end(answer ? &*answer : nullptr);
  return answer;
}

Result<Json> OwnWritesClient::create(const ResourceType& type, std::string_view ns, const Json& object,
                                     const CreateOptions& options, std::stop_token stop) {
  return written(type, ns, metadataString(object, "name"),
                 [&] { return inner_.create(type, ns, object, options, stop); });
}

Result<Json> OwnWritesClient::update(const ResourceType& type, std::string_view ns, const Json& object,
                                     std::stop_token stop) {
  return written(type, ns, metadataString(object, "name"), [&] { return inner_.update(type, ns, object, stop); });
}

Result<Json> OwnWritesClient::mergePatch(const ResourceType& type, std::string_view ns, std::string_view name,
                                         const Json& patch, const PatchOptions& options, std::stop_token stop) {
  return written(type, ns, name, [&] { return inner_.mergePatch(type, ns, name, patch, options, stop); });
}

Result<Json> OwnWritesClient::apply(const ResourceType& type, const Json& object, const ApplyOptions& options,
                                    std::stop_token stop) {
  if (options.dry_run) return inner_.apply(type, object, options, stop);
  return written(type, metadataString(object, "namespace"), metadataString(object, "name"),
                 [&] { return inner_.apply(type, object, options, stop); });
}

}  // namespace kube::runtime
