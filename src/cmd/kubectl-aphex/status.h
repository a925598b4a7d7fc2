// `kubectl aphex status`: the platform at a glance, and a non-zero exit when something is wrong.
// Gathering reads the cluster; judging and rendering are pure functions of the report.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "kube/client.h"
#include "kubectl-aphex/output.h"
#include "kubectl-aphex/connection.h"

namespace aphex::cli {

// An API group the platform needs (Aphex's own, or a component it writes objects of), as
// discovery shows it: every authenticated identity may read discovery, so `status` works for
// org admins too.
struct ApiCheck {
  std::string component;               // "Tekton Pipelines"
  std::string group;                   // "tekton.dev"
  std::vector<std::string> resources;  // what Aphex uses of it
  bool required = true;                // false: only some configurations need it
  std::vector<std::string> versions;   // served versions, preferred first; empty: absent
  std::vector<std::string> missing;    // resources of `resources` no version serves
  bool ok() const { return !versions.empty() && missing.empty(); }
};

struct ControllerCheck {
  std::string deployment;           // "platform-system/aphex-controller"
  bool found = false;               // the Deployment exists
  std::string unreadable;           // why it could not be read (e.g. forbidden); empty when read
  long long replicas = 0, ready = 0, updated = 0;
  std::string version;              // the image tag
  std::string leader;               // the Lease's holder; empty: no Lease or none held
  std::optional<std::chrono::seconds> since_renewal;
  bool lease_expired = false;
  bool ok() const { return !found || (ready >= replicas && replicas > 0 && !lease_expired); }
};

// An Organization, RepoBinding or KnowledgeBase that is not Ready, with the condition that says why.
struct NotReady {
  std::string kind, ns, name, phase;
  std::string condition, reason, message;  // the first failing condition (Ready when none other is)
};

struct ObjectCount {
  std::string kind;
  long long total = 0;
  long long ready = 0;
  std::string unreadable;  // why the list failed; empty when listed
};

struct StatusReport {
  std::vector<ApiCheck> apis;
  ControllerCheck controller;
  std::vector<ObjectCount> counts;
  std::vector<NotReady> not_ready;
};

// Whether `status` should exit 0: every required API present, the controller (when deployed)
// ready, every object Ready and every list readable.
bool healthy(const StatusReport& report);

// nullopt when `object` is Ready for its current generation; else what is wrong. Pure.
std::optional<NotReady> notReady(const std::string& kind, const kube::Json& object);

std::string renderStatus(const StatusReport& report, const Style& style);
kube::Json toJson(const StatusReport& report);

StatusReport gatherStatus(kube::Client& client, const GlobalFlags& flags);

struct StatusFlags {
  bool watch = false;
  int interval_seconds = 2;
};
int runStatus(Connection& conn, Io& io, const StatusFlags& flags);

}  // namespace aphex::cli
