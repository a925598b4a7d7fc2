#include "integration/chaos/fleet.h"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "aphex/api/group.h"
#include "aphex/common/resources.h"
#include "aphex/repobinding/resources.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/cluster.h"

namespace aphex::chaos {
namespace {

using kube::Json;
namespace res = aphex::resources;
namespace rb_res = aphex::repobinding::resources;

constexpr const char* kOrganizationLabel = "aphex.io/organization";
constexpr const char* kRepoBindingAnnotation = "aphex.io/repo-binding";
constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";

// Every kind the controller writes (and a few it must not write with exposure None: ConfigMaps,
// Deployments, Ingresses), so that a stray object of any of them is seen.
const std::vector<kube::ResourceType>& censusKinds() {
  static const std::vector<kube::ResourceType> kinds = {
      res::kNamespaces,          res::kSecrets,           res::kConfigMaps,        res::kServiceAccounts,
      res::kRoles,               res::kRoleBindings,      res::kClusterRoleBindings, res::kResourceQuotas,
      rb_res::kLimitRanges,      res::kNetworkPolicies,   res::kDeployments,       res::kIngresses,
      res::kEventListeners,      res::kClusterSecretStores, rb_res::kPipelines,    rb_res::kTriggers,
      rb_res::kTriggerBindings,  rb_res::kTriggerTemplates, rb_res::kAppProjects};
  return kinds;
}

// What docs/controller.md says an Organization with exposure None gets, by kind: its namespace,
// webhook Secret, the EventListener's and the secret store's ServiceAccount, Role and
// RoleBinding, one admin RoleBinding per admin user and group (aphex_objects.h: two users, one
// group), the listener's ClusterRoleBinding, the NetworkPolicy, the ResourceQuota and the
// ClusterSecretStore.
const std::map<std::string, int> kPerOrganization = {
    {"namespaces", 1},     {"secrets", 1},           {"serviceaccounts", 2},
    {"roles", 2},          {"rolebindings", 2 + 3},  {"clusterrolebindings", 1},
    {"eventlisteners", 1}, {"networkpolicies", 1},   {"resourcequotas", 1},
    {"clustersecretstores", 1}};

// What each RepoBinding gets, by kind (docs/controller.md, "What a RepoBinding gets").
const std::map<std::string, int> kPerBinding = {
    {"namespaces", 1},      {"pipelines", 1},        {"serviceaccounts", 1},  {"rolebindings", 2},
    {"resourcequotas", 1},  {"limitranges", 1},      {"networkpolicies", 1},  {"secrets", 1},
    {"triggers", 1},        {"appprojects", 1}};

std::string joined(const std::vector<std::string>& names, const char* separator) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : separator) + name;
  return text;
}

std::string annotationOf(const Json& object, const char* key) {
  return object.value("metadata", Json::object()).value("annotations", Json::object()).value(key, "");
}

std::string labelOf(const Json& object, const char* key) {
  return object.value("metadata", Json::object()).value("labels", Json::object()).value(key, "");
}

std::set<std::string> listenerNamespaces(const Json& listener) {
  std::set<std::string> namespaces;
  for (const auto& group : listener.value("spec", Json::object()).value("triggerGroups", Json::array())) {
    const Json selector = group.value("triggerSelector", Json::object()).value("namespaceSelector", Json::object());
    for (const auto& ns : selector.value("matchNames", Json::array())) namespaces.insert(ns.get<std::string>());
  }
  return namespaces;
}

bool retriable(const kube::Error& error) {
  return error.kind == kube::ErrorKind::kTransport || error.httpCode() == 429 || error.httpCode() >= 500;
}

// The test's own writes must not fail on a busy API server.
void createWithRetries(kube::Client& client, const kube::ResourceType& type, const std::string& ns,
                       const Json& object) {
  for (int attempt = 1;; ++attempt) {
    auto created = client.create(type, ns, object);
    if (created || created.error().isAlreadyExists()) return;
    if (attempt == 10 || !retriable(created.error())) throw std::runtime_error(created.error().message);
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
}

}  // namespace

struct Fleet::Labelled {
  std::string kind, ns, name, org, owner;  // owner: the binding key it is annotated with, or ""
  Json object;                             // EventListeners only: their namespaces are checked
  std::string where() const { return kind + " " + (ns.empty() ? "" : ns + "/") + name; }
};

std::string Convergence::describe() const {
  const auto part = [](const char* what, const std::vector<std::string>& items) {
    const auto shown = static_cast<std::ptrdiff_t>(std::min<std::size_t>(items.size(), 8));
    std::vector<std::string> first(items.begin(), items.begin() + shown);
    const std::string examples = items.empty() ? "" : " [" + joined(first, "; ") + "]";
    return std::string(what) + ": " + std::to_string(items.size()) + examples;
  };
  return part("waiting", waiting) + "\n" + part("missing", missing) + "\n" + part("duplicates", duplicates) + "\n" +
         part("leftovers", leftovers);
}

Fleet::Fleet(kube::Client& admin, std::string platform_namespace, std::string run)
    : admin_(admin), platform_namespace_(std::move(platform_namespace)), run_(std::move(run)) {}

std::vector<std::string> Fleet::addOrganizations(int count) {
  std::vector<std::string> added;
  for (int i = 0; i < count; ++i) {
    const std::string name = testing::uniqueName("chaos");
    createWithRetries(admin_, api::kOrganizations, platform_namespace_,
                      testing::labelledForRun(testing::organizationObject(platform_namespace_, name), run_));
    organizations_.push_back(name);
    added.push_back(name);
  }
  return added;
}

std::vector<BindingRef> Fleet::addBindings(const std::string& org, int count, Policy policy) {
  std::vector<BindingRef> added;
  for (int i = 0; i < count; ++i) {
    const bool retain = policy == Policy::kRetain || (policy == Policy::kAlternating && i % 2 == 0);
    BindingRef binding{.ns = platform_namespace_, .name = testing::uniqueName("rb"), .org = org,
                       .pipeline = testing::uniqueName("p"), .retain = retain};
    Json object = testing::repoBindingObject(binding.ns, binding.name, org, binding.pipeline);
    object["spec"]["deletionPolicy"] = binding.retain ? "Retain" : "Delete";
    createWithRetries(admin_, api::kRepoBindings, binding.ns, testing::labelledForRun(object, run_));
    bindings_.push_back(binding);
    added.push_back(binding);
  }
  return added;
}

void Fleet::deleteBinding(const BindingRef& binding) {
  noteNamespaceAtDeletion(binding);
  auto removed = admin_.remove(api::kRepoBindings, binding.ns, binding.name);
  if (!removed && !removed.error().isNotFound()) throw std::runtime_error(removed.error().message);
  deleted_bindings_.insert(binding.key());
}

void Fleet::deleteOrganization(const std::string& org) {
  auto removed = admin_.remove(api::kOrganizations, platform_namespace_, org);
  if (!removed && !removed.error().isNotFound()) throw std::runtime_error(removed.error().message);
  deleted_organizations_.insert(org);
  for (const auto& binding : bindingsOf(org)) {
    noteNamespaceAtDeletion(binding);
    deleted_bindings_.insert(binding.key());
  }
}

// A binding deleted before the controller made its namespace has none to keep: only a namespace
// that existed when the deletion began must survive deletionPolicy Retain.
void Fleet::noteNamespaceAtDeletion(const BindingRef& binding) {
  auto ns = admin_.get(res::kNamespaces, "", binding.pipeline);
  if (ns && annotationOf(*ns, kRepoBindingAnnotation) == binding.key()) {
    namespaces_at_deletion_.insert(binding.pipeline);
  }
}

std::vector<BindingRef> Fleet::liveBindings() const {
  std::vector<BindingRef> live;
  for (const auto& binding : bindings_) {
    if (!deleted_bindings_.contains(binding.key())) live.push_back(binding);
  }
  return live;
}

std::vector<BindingRef> Fleet::bindingsOf(const std::string& org) const {
  std::vector<BindingRef> of;
  for (const auto& binding : bindings_) {
    if (binding.org == org) of.push_back(binding);
  }
  return of;
}

int Fleet::readyBindings() {
  auto listed = admin_.list(api::kRepoBindings, platform_namespace_,
                            {.label_selector = testing::testRunSelector(run_)});
  if (!listed) return -1;
  return static_cast<int>(std::count_if((*listed)["items"].begin(), (*listed)["items"].end(),
                                        [](const Json& item) { return testing::isReady(item); }));
}

bool Fleet::gone(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
  auto object = admin_.get(type, ns, name);
  return !object && object.error().isNotFound();
}

std::vector<Fleet::Labelled> Fleet::census() {
  const std::string selector = std::string(kOrganizationLabel) + " in (" + joined(organizations_, ",") + ")";
  std::vector<Labelled> found;
  for (const auto& type : censusKinds()) {
    auto listed = admin_.list(type, "", {.label_selector = selector});
    if (!listed) throw std::runtime_error("listing " + type.plural + ": " + listed.error().message);
    for (auto& item : (*listed)["items"]) {
      const Json& metadata = item["metadata"];
      found.push_back({.kind = type.plural,
                       .ns = metadata.value("namespace", ""),
                       .name = metadata.value("name", ""),
                       .org = labelOf(item, kOrganizationLabel),
                       .owner = annotationOf(item, kRepoBindingAnnotation),
                       .object = type.plural == "eventlisteners" ? std::move(item) : Json()});
    }
  }
  return found;
}

Convergence Fleet::convergence() {
  Convergence result;
  const std::vector<Labelled> labelled = census();
  checkOrganizations(labelled, result);
  checkBindings(result);
  checkCensus(labelled, result);
  checkReleasedNamespaces(result);
  return result;
}

// Live ones Ready, counting their bindings and serving exactly their namespaces; deleted ones gone.
void Fleet::checkOrganizations(const std::vector<Labelled>& labelled, Convergence& result) {
  for (const auto& org : organizations_) {
    if (deleted_organizations_.contains(org)) {
      if (!gone(api::kOrganizations, platform_namespace_, org)) {
        result.waiting.push_back("organization " + org + " not gone");
      }
      continue;
    }
    auto live = admin_.get(api::kOrganizations, platform_namespace_, org);
    if (!live || !testing::isReady(*live)) {
      result.waiting.push_back("organization " + org + " not Ready");
      continue;
    }
    std::set<std::string> pipelines;
    for (const auto& binding : bindingsOf(org)) {
      if (!deleted_bindings_.contains(binding.key())) pipelines.insert(binding.pipeline);
    }
    const Json counted = (*live)["status"].value("repoBindings", Json());
    if (counted != Json(pipelines.size())) {
      result.waiting.push_back("organization " + org + " counts " + counted.dump() + " bindings, not " +
                               std::to_string(pipelines.size()));
    }
    const auto listener = std::find_if(labelled.begin(), labelled.end(), [&](const Labelled& object) {
      return object.kind == "eventlisteners" && object.org == org;
    });
    if (listener != labelled.end() && listenerNamespaces(listener->object) != pipelines) {
      result.waiting.push_back("the EventListener of " + org + " does not serve exactly its bindings' namespaces");
    }
  }
}

void Fleet::checkBindings(Convergence& result) {
  auto listed = admin_.list(api::kRepoBindings, platform_namespace_,
                            {.label_selector = testing::testRunSelector(run_)});
  if (!listed) throw std::runtime_error("listing RepoBindings: " + listed.error().message);
  std::map<std::string, Json> present;
  for (auto& item : (*listed)["items"]) {
    const std::string key = platform_namespace_ + "/" + item["metadata"].value("name", "");
    present[key] = std::move(item);
  }
  for (const auto& binding : bindings_) {
    const auto found = present.find(binding.key());
    if (deleted_bindings_.contains(binding.key())) {
      if (found != present.end()) result.waiting.push_back("repobinding " + binding.key() + " not gone");
    } else if (found == present.end()) {
      result.missing.push_back("repobinding " + binding.key() + " (the test's own object)");
    } else if (!testing::isReady(found->second)) {
      result.waiting.push_back("repobinding " + binding.key() + " not Ready");
    }
  }
}

// Exactly what each live owner makes, once; nothing for a deleted one.
void Fleet::checkCensus(const std::vector<Labelled>& labelled, Convergence& result) {
  std::map<std::string, std::map<std::string, std::vector<std::string>>> by_owner;  // owner → kind → objects
  std::set<std::string> live_bindings;
  for (const auto& binding : liveBindings()) live_bindings.insert(binding.key());
  for (const auto& object : labelled) {
    const bool owner_deleted = object.owner.empty() ? deleted_organizations_.contains(object.org)
                                                    : !live_bindings.contains(object.owner);
    if (owner_deleted) {
      result.leftovers.push_back(object.where() + " of deleted " +
                                 (object.owner.empty() ? "organization " + object.org : "binding " + object.owner));
      continue;
    }
    by_owner[object.owner.empty() ? "organization " + object.org : "binding " + object.owner][object.kind].push_back(
        object.where());
  }
  const auto compare = [&](const std::string& owner, const std::map<std::string, int>& expected) {
    auto& made = by_owner[owner];
    for (const auto& [kind, objects] : made) {
      const auto wanted = expected.find(kind);
      const int limit = wanted == expected.end() ? 0 : wanted->second;
      if (static_cast<int>(objects.size()) > limit) {
        result.duplicates.push_back(owner + ": " + std::to_string(objects.size()) + " " + kind + ", expected " +
                                    std::to_string(limit) + " (" + joined(objects, ", ") + ")");
      }
    }
    for (const auto& [kind, count] : expected) {
      const int have = static_cast<int>(made[kind].size());
      if (have < count) {
        result.missing.push_back(owner + ": " + std::to_string(have) + " of " + std::to_string(count) + " " + kind);
      }
    }
  };
  for (const auto& org : organizations_) {
    if (!deleted_organizations_.contains(org)) compare("organization " + org, kPerOrganization);
  }
  for (const auto& key : live_bindings) compare("binding " + key, kPerBinding);
}

// A deleted binding's namespace: gone with deletionPolicy Delete; with Retain still there,
// released (no Aphex label or claim), and nothing in it still claimed by the binding.
void Fleet::checkReleasedNamespaces(Convergence& result) {
  for (const auto& binding : bindings_) {
    if (!deleted_bindings_.contains(binding.key())) continue;
    if (!gone(rb_res::kAppProjects, "argocd", "pipeline-" + binding.pipeline)) {
      result.leftovers.push_back("appprojects argocd/pipeline-" + binding.pipeline + " of deleted binding " +
                                 binding.key());
    }
    auto ns = admin_.get(res::kNamespaces, "", binding.pipeline);
    if (!binding.retain) {
      if (ns) result.waiting.push_back("namespace " + binding.pipeline + " (deletionPolicy Delete) not gone");
      continue;
    }
    if (!ns) {
      if (namespaces_at_deletion_.contains(binding.pipeline)) {
        result.missing.push_back("namespace " + binding.pipeline + " (deletionPolicy Retain) was deleted");
      }
      continue;
    }
    if (!labelOf(*ns, kManagedByLabel).empty() || !annotationOf(*ns, kRepoBindingAnnotation).empty()) {
      result.leftovers.push_back("namespace " + binding.pipeline + " not released by deleted binding " + binding.key());
    }
    for (const auto& type : censusKinds()) {
      if (!type.namespaced) continue;
      auto listed = admin_.list(type, binding.pipeline);
      if (!listed) continue;  // a kind the namespace cannot hold is no leftover
      for (const auto& item : (*listed)["items"]) {
        if (annotationOf(item, kRepoBindingAnnotation) == binding.key()) {
          result.leftovers.push_back(type.plural + " " + binding.pipeline + "/" + item["metadata"].value("name", "") +
                                     " still claimed by deleted binding " + binding.key());
        }
      }
    }
  }
}

Convergence Fleet::waitConverged(std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    Convergence now;
    try {
      now = convergence();
    } catch (const std::exception& e) {  // a busy API server; asked again
      now.waiting.push_back(std::string("cannot tell: ") + e.what());
    }
    if (now.converged() || std::chrono::steady_clock::now() > deadline) return now;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace aphex::chaos
