// A controller's own writes, remembered until their watch events come back, so that those echoes
// wake no reconcile.
//
// Every write a controller makes comes back to it as a watch event on the object it wrote. For a
// child, that event maps to the owner and runs another pass, which finds the child exactly as the
// pass that wrote it left it and does nothing: during an onboarding, an Organization's
// EventListener write per binding and a RepoBinding's finalizer and children each cost a pass.
// The event is recognised by its object's resourceVersion: the one the server answered the write
// with names that exact state of the object, so a later change by anyone else carries another
// version and still wakes the owner. Deletes are never echoes.
//
// The answer to a write and its watch event race: the event often reaches the informer before
// the writer has parsed the answer. So a write is marked in flight before it is sent, and an
// event for that object meanwhile waits (its wake-up held here) until the answer is in: then it is
// dropped if it was the write's echo, else it wakes its owner as it would have. Events wait only
// for writes of their own object, and at most as long as the write takes.
//
// A record is consumed by its echo (with any older record of the same object, whose echo the
// watch may have merged into it). A write that changed nothing on the server gets no echo; its
// record goes after `window`. Its answer carries the version of the object's last change, which
// may be someone else's: the watch that delivers events decides which of them may be its own at
// all (Controller::watchPrimary never takes an add, a new generation or a deletion for one).
// Only kinds the controller watches are recorded (expectEchoesOf), so Events and other writes no
// watch sees hold no memory.
//
// OwnWritesClient marks and records every create, update, merge patch and apply made through it;
// give it to the reconciler as its client, and the same OwnWrites to its controller
// (ControllerOptions::own_writes).
//
// Thread safety: every method may be called from any thread (a mutex guards the records; wake-ups
// run after it is released, on the thread whose write ended).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kube/object_api.h"
#include "runtime/clock.h"

namespace kube::runtime {

class OwnWrites {
 public:
  // A write in flight: ends (with no answer) when destroyed unless answered() was called.
  class Write {
   public:
    Write(Write&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_)) {}
    Write(const Write&) = delete;
    Write& operator=(const Write&) = delete;
    Write& operator=(Write&&) = delete;
    ~Write() { end(nullptr); }
    // The server's answer, or nullptr when the write failed.
    void end(const Json* answer) {
      if (owner_ != nullptr) std::exchange(owner_, nullptr)->ended(key_, answer);
    }

   private:
    friend class OwnWrites;
    Write(OwnWrites* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    OwnWrites* owner_;
    std::string key_;
  };

  // What deliver() did with an event.
  enum class Seen {
    kEcho,      // one of the recorded writes coming back: `wake` dropped
    kDeferred,  // a write of the object is in flight: `wake` runs once it is answered, unless echoed
    kNew,       // anything else: `wake` ran
  };

  explicit OwnWrites(Clock& clock, Duration window = std::chrono::seconds(30)) : clock_(clock), window_(window) {}

  // Records writes of `type` from now on (a kind one of the controller's informers watches).
  void expectEchoesOf(const ResourceType& type);
  // Called for every echo recognised (say, to count it in a metric).
  void onEcho(std::function<void()> callback);

  // Before a write of `type` to ns/name; the returned Write must be ended with the answer.
  [[nodiscard]] Write begin(const ResourceType& type, std::string_view ns, std::string_view name);
  // A watch event's object of `type`, and what would wake its owner: run now, held while a write
  // of the object is in flight, or dropped for an echo, which consumes its record (and older ones
  // of the object).
  Seen deliver(const ResourceType& type, const Json& object, std::function<void()> wake);
  // The object is gone: its records with it.
  void forget(const ResourceType& type, const Json& object);

  // Objects with records waiting for their echo (for tests and the memory's accounting).
  std::size_t pending() const;
  // Echoes recognised so far.
  std::uint64_t echoes() const;

 private:
  struct Written {
    std::string resource_version;
    MonoTime at;
  };
  struct Deferred {
    std::string resource_version;
    std::function<void()> wake;
  };
  struct InFlight {
    int writes = 0;
    std::vector<Deferred> deferred;
  };

  // "<resource>/<namespace>/<name>"; "" for a kind not expected.
  std::string keyOf(const ResourceType& type, std::string_view ns, std::string_view name) const;
  std::string keyOf(const ResourceType& type, const Json& object) const;
  void ended(const std::string& key, const Json* answer);
  // deliver()'s decision, under the lock; takes `wake` when it defers it.
  Seen settle(const ResourceType& type, const Json& object, std::function<void()>& wake);
  // Consumes the record of `version` and older ones of `key`; false when there is none.
  bool consumeLocked(const std::string& key, const std::string& version);
  void dropOlderThanWindowLocked(MonoTime now);

  Clock& clock_;
  const Duration window_;
  mutable std::mutex mutex_;
  std::set<std::string> expected_;                                // resource labels
  std::unordered_map<std::string, std::vector<Written>> written_;  // oldest first
  std::unordered_map<std::string, InFlight> in_flight_;
  std::function<void()> on_echo_;
  MonoTime last_sweep_{};
  std::uint64_t echoes_ = 0;
};

// An ObjectApi that passes every call to `inner` and marks and records each write in `writes`.
// Reads, deletes and watches pass through untouched.
class OwnWritesClient final : public ObjectApi {
 public:
  OwnWritesClient(ObjectApi& inner, std::shared_ptr<OwnWrites> writes) : inner_(inner), writes_(std::move(writes)) {}

  Result<Json> get(const ResourceType& type, std::string_view ns, std::string_view name,
                   std::stop_token stop = {}) override {
    return inner_.get(type, ns, name, stop);
  }
  Result<Json> list(const ResourceType& type, std::string_view ns, const ListOptions& options = {},
                    std::stop_token stop = {}) override {
    return inner_.list(type, ns, options, stop);
  }
  Result<Json> create(const ResourceType& type, std::string_view ns, const Json& object,
                      const CreateOptions& options = {}, std::stop_token stop = {}) override;
  Result<Json> update(const ResourceType& type, std::string_view ns, const Json& object,
                      std::stop_token stop = {}) override;
  Result<Json> remove(const ResourceType& type, std::string_view ns, std::string_view name,
                      const DeleteOptions& options = {}, std::stop_token stop = {}) override {
    return inner_.remove(type, ns, name, options, stop);
  }
  Result<Json> mergePatch(const ResourceType& type, std::string_view ns, std::string_view name, const Json& patch,
                          const PatchOptions& options = {}, std::stop_token stop = {}) override;
  Result<Json> apply(const ResourceType& type, const Json& object, const ApplyOptions& options,
                     std::stop_token stop = {}) override;
  Result<void> watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                     const WatchHandler& handler, std::stop_token stop = {}) override {
    return inner_.watch(type, ns, options, handler, stop);
  }

 private:
  // Runs `call` (one write of ns/name) with the write marked in flight, and records its answer.
  Result<Json> written(const ResourceType& type, std::string_view ns, std::string_view name,
                       const std::function<Result<Json>()>& call);

  ObjectApi& inner_;
  std::shared_ptr<OwnWrites> writes_;
};

}  // namespace kube::runtime
