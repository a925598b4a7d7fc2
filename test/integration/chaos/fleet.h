// The Organizations and RepoBindings a chaos test onboards, and the one question it keeps asking:
// has the controller converged? Converged means, all at once:
//  - every Organization and RepoBinding the test keeps is Ready for its current generation, each
//    Organization counts its bindings and its EventListener serves exactly their namespaces;
//  - every one the test deleted is gone (its finalizer done);
//  - the objects labelled aphex.io/organization for the test's Organizations are exactly those the
//    docs (docs/controller.md) say each Organization and each RepoBinding gets: none missing,
//    none twice, none left for a deleted Organization or binding;
//  - a deleted binding's pipeline namespace is gone (deletionPolicy Delete) or released
//    (Retain: still there if it existed when the deletion began, without Aphex's labels, and
//    nothing in it still claimed by the binding).
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kube/client.h"

namespace aphex::chaos {

struct BindingRef {
  std::string ns, name, org, pipeline;
  bool retain = true;  // deletionPolicy
  std::string key() const { return ns + "/" + name; }
};

// What keeps the fleet from being converged, by kind of difference.
struct Convergence {
  std::vector<std::string> waiting;     // not Ready yet, or deleted and not gone yet
  std::vector<std::string> missing;     // a child that should exist and does not
  std::vector<std::string> duplicates;  // more objects of one kind for one owner than it makes
  std::vector<std::string> leftovers;   // objects still labelled or claimed for something deleted
  bool converged() const { return waiting.empty() && missing.empty() && duplicates.empty() && leftovers.empty(); }
  // Counts, and the first few of each.
  std::string describe() const;
};

class Fleet {
 public:
  // Objects go to `platform_namespace`, labelled for `run` (the controller's --object-selector).
  Fleet(kube::Client& admin, std::string platform_namespace, std::string run);

  // Creates `count` Organizations; returns their names.
  std::vector<std::string> addOrganizations(int count);
  // Creates `count` RepoBindings of `org` in the platform namespace, each with a pipeline
  // namespace of its own and deletionPolicy `policy` (Alternating: Retain, Delete, Retain, ...).
  enum class Policy { kRetain, kDelete, kAlternating };
  std::vector<BindingRef> addBindings(const std::string& org, int count, Policy policy = Policy::kRetain);

  void deleteBinding(const BindingRef& binding);
  // The Organization and, through its finalizer, all its bindings.
  void deleteOrganization(const std::string& org);

  const std::vector<std::string>& organizations() const { return organizations_; }
  std::vector<BindingRef> liveBindings() const;
  std::vector<BindingRef> bindingsOf(const std::string& org) const;

  int readyBindings();
  Convergence convergence();
  // Polls convergence() until it holds or `limit` passes; the last answer.
  Convergence waitConverged(std::chrono::seconds limit);

 private:
  struct Labelled;  // one object labelled for an Organization
  std::vector<Labelled> census();
  void checkOrganizations(const std::vector<Labelled>& census, Convergence& result);
  void checkBindings(Convergence& result);
  void checkCensus(const std::vector<Labelled>& census, Convergence& result);
  void checkReleasedNamespaces(Convergence& result);
  bool gone(const kube::ResourceType& type, const std::string& ns, const std::string& name);
  void noteNamespaceAtDeletion(const BindingRef& binding);

  kube::Client& admin_;
  std::string platform_namespace_;
  std::string run_;
  std::vector<std::string> organizations_;
  std::set<std::string> deleted_organizations_;
  std::vector<BindingRef> bindings_;
  std::set<std::string> deleted_bindings_;  // keys
  std::set<std::string> namespaces_at_deletion_;  // pipeline namespaces the binding had when deleted
};

}  // namespace aphex::chaos
