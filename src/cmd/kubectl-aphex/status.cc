#include "kubectl-aphex/status.h"

#include <algorithm>
#include <ostream>
#include <thread>

#include "aphex/api/condition.h"
#include "aphex/api/time.h"
#include "aphex/common/resources.h"
#include "runtime/leader_election.h"

namespace aphex::cli {
namespace {

using kube::Json;

// The Deployment and Lease platform/base/controller ships (and aphex-controller's default
// --leader-election-id).
constexpr std::string_view kControllerName = "aphex-controller";

struct ApiRequirement {
  const char* component;
  const char* group;
  std::vector<std::string> resources;
  bool required;
};

// What the controller writes objects of (docs/platform.md): without these its objects never
// become Ready. cert-manager only issues the webhook Ingress's certificate, when one is asked for.
const std::vector<ApiRequirement>& requirements() {
  static const std::vector<ApiRequirement> kRequirements = {
      {"Aphex", "aphex.io", {"organizations", "repobindings", "knowledgebases"}, true},
      {"Tekton Pipelines", "tekton.dev", {"pipelines", "pipelineruns", "taskruns"}, true},
      {"Tekton Triggers", "triggers.tekton.dev", {"eventlisteners", "triggers", "triggerbindings", "triggertemplates"}, true},
      {"Argo CD", "argoproj.io", {"appprojects", "applications"}, true},
      {"External Secrets", "external-secrets.io", {"clustersecretstores"}, true},
      {"cert-manager", "cert-manager.io", {"certificates", "clusterissuers"}, false},
  };
  return kRequirements;
}

ApiCheck checkApi(kube::Client& client, const ApiRequirement& requirement) {
  ApiCheck check{.component = requirement.component, .group = requirement.group,
                 .resources = requirement.resources, .required = requirement.required};
  auto group = client.getPath("/apis/" + check.group);
  if (!group) return check;
  const std::string preferred = group->value("preferredVersion", Json::object()).value("version", "");
  if (!preferred.empty()) check.versions.push_back(preferred);
  std::vector<std::string> served;
  for (const auto& version : group->value("versions", Json::array())) {
    const std::string name = version.value("version", "");
    if (name != preferred) check.versions.push_back(name);
    auto list = client.getPath("/apis/" + version.value("groupVersion", ""));
    if (!list) continue;
    for (const auto& resource : list->value("resources", Json::array())) served.push_back(resource.value("name", ""));
  }
  for (const auto& wanted : check.resources) {
    if (std::find(served.begin(), served.end(), wanted) == served.end()) check.missing.push_back(wanted);
  }
  return check;
}

ControllerCheck checkController(kube::Client& client, const std::string& ns) {
  ControllerCheck check{.deployment = ns + "/" + std::string(kControllerName)};
  auto deployment = client.get(aphex::resources::kDeployments, ns, kControllerName);
  if (!deployment) {
    if (!deployment.error().isNotFound()) check.unreadable = deployment.error().message;
    return check;
  }
  check.found = true;
  const Json spec = deployment->value("spec", Json::object());
  const Json status = deployment->value("status", Json::object());
  check.replicas = spec.value("replicas", 1LL);
  check.ready = status.value("readyReplicas", 0LL);
  check.updated = status.value("updatedReplicas", 0LL);
  for (const auto& container : spec.value("template", Json::object()).value("spec", Json::object())
                                   .value("containers", Json::array())) {
    const std::string image = container.value("image", "");
    const auto colon = image.rfind(':');
    if (colon != std::string::npos && image.find('/', colon) == std::string::npos) check.version = image.substr(colon + 1);
    break;
  }
  auto lease = client.get(kube::runtime::kLeases, ns, kControllerName);
  if (!lease) return check;
  const Json lease_spec = lease->value("spec", Json::object());
  check.leader = lease_spec.value("holderIdentity", "");
  if (auto renewed = api::parseTime(lease_spec.value("renewTime", ""))) {
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    check.since_renewal = std::chrono::duration_cast<std::chrono::seconds>(now - *renewed);
    const auto duration = std::chrono::seconds(lease_spec.value("leaseDurationSeconds", 15LL));
    check.lease_expired = !check.leader.empty() && *check.since_renewal > duration;
  }
  return check;
}

// Every object of `type`: cluster-wide when allowed, else in the namespaces this identity is
// likely to read (the platform namespace and -n).
kube::Result<std::vector<Json>> listEverywhere(kube::Client& client, const kube::ResourceType& type,
                                                const GlobalFlags& flags) {
  auto all = client.list(type, "");
  if (all) return all->value("items", std::vector<Json>{});
  if (!all.error().isForbidden()) return std::move(all).error();
  std::vector<Json> items;
  std::vector<std::string> namespaces = {flags.platform_namespace};
  if (!flags.ns.empty() && flags.ns != flags.platform_namespace) namespaces.push_back(flags.ns);
  for (const auto& ns : namespaces) {
    auto some = client.list(type, ns);
    if (!some) return std::move(some).error();
    for (auto& item : (*some)["items"]) items.push_back(std::move(item));
  }
  return items;
}

Tone toneOf(bool ok, bool required = true) {
  if (ok) return Tone::kGood;
  return required ? Tone::kBad : Tone::kWarn;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : std::string(separator)) + part;
  return out;
}

std::string apiState(const ApiCheck& api) {
  if (api.versions.empty()) return api.required ? "missing" : "not installed";
  if (!api.missing.empty()) return "incomplete";
  return "installed";
}

std::string controllerState(const ControllerCheck& c) {
  if (!c.unreadable.empty()) return "unknown";
  if (!c.found) return "not deployed";
  if (c.lease_expired) return "leader lost";
  return c.ok() ? "ready" : "not ready";
}

}  // namespace

std::optional<NotReady> notReady(const std::string& kind, const Json& object) {
  const Json metadata = object.value("metadata", Json::object());
  const Json status = object.value("status", Json::object());
  NotReady entry{.kind = kind, .ns = metadata.value("namespace", ""), .name = metadata.value("name", ""),
                 .phase = status.value("phase", "")};
  const Json* ready = nullptr;
  const Json* failing = nullptr;
  // Kept alive here: `ready` and `failing` point into it.
  const Json conditions = status.value("conditions", Json::array());
  for (const auto& condition : conditions) {
    if (condition.value("type", "") == "Ready") {
      ready = &condition;
    } else if (failing == nullptr && condition.value("status", "") != "True") {
      failing = &condition;
    }
  }
  const bool current = status.value("observedGeneration", 0LL) == metadata.value("generation", -1LL);
  if (ready != nullptr && ready->value("status", "") == "True" && current) return std::nullopt;
  if (ready == nullptr && failing == nullptr) {
    entry.condition = "Ready";
    entry.reason = "NotReconciled";
    entry.message = "the controller has not reported on it yet: is aphex-controller running?";
    return entry;
  }
  const Json& chosen = failing != nullptr ? *failing : *ready;
  entry.condition = chosen.value("type", "");
  entry.reason = chosen.value("reason", "");
  entry.message = chosen.value("message", "");
  if (!current && failing == nullptr && ready->value("status", "") == "True") {
    entry.reason = "NotReconciled";
    entry.message = "generation " + std::to_string(metadata.value("generation", 0LL)) +
                    " is not reconciled yet (observed " + std::to_string(status.value("observedGeneration", 0LL)) +
                    "): is aphex-controller running?";
  }
  return entry;
}

bool healthy(const StatusReport& report) {
  for (const auto& check : report.apis) {
    if (check.required && !check.ok()) return false;
  }
  for (const auto& count : report.counts) {
    if (!count.unreadable.empty()) return false;
  }
  return report.controller.ok() && report.controller.unreadable.empty() && report.not_ready.empty();
}

std::string renderStatus(const StatusReport& report, const Style& style) {
  std::string out = style.paint("APIs", Tone::kBold) + "\n";
  Table apis({"COMPONENT", "GROUP", "STATE", "VERSIONS", "NOTE"});
  for (const auto& api : report.apis) {
    std::string note = api.missing.empty() ? "" : "missing: " + join(api.missing, ", ");
    if (api.versions.empty() && !api.required) note = "needed only for Ingress TLS";
    apis.add({api.component, api.group, Cell(apiState(api), toneOf(api.ok(), api.required)), join(api.versions, ","), note});
  }
  out += apis.render(style);

  const ControllerCheck& c = report.controller;
  out += "\n" + style.paint("Controller", Tone::kBold) + "\n";
  Table controller({"DEPLOYMENT", "STATE", "READY", "VERSION", "LEADER", "RENEWED"});
  const std::string renewed = c.since_renewal ? shortDuration(*c.since_renewal) + " ago" : "";
  controller.add({c.deployment, Cell(controllerState(c), toneOf(c.ok() && c.unreadable.empty(), c.found)),
                  c.found ? std::to_string(c.ready) + "/" + std::to_string(c.replicas) : "", c.version, c.leader,
                  renewed});
  out += controller.render(style);
  if (!c.unreadable.empty()) out += "  cannot read it: " + oneLine(c.unreadable, 200) + "\n";
  if (!c.found && c.unreadable.empty()) {
    out += "  (no Deployment: a controller run as a local process, as bootstrap.sh --deployment local runs it, "
           "shows only through its objects below)\n";
  }

  out += "\n" + style.paint("Objects", Tone::kBold) + "\n";
  Table counts({"KIND", "READY", "TOTAL", "NOTE"});
  for (const auto& count : report.counts) {
    const bool ok = count.unreadable.empty() && count.ready == count.total;
    counts.add({count.kind, Cell(std::to_string(count.ready), toneOf(ok)), std::to_string(count.total),
                count.unreadable.empty() ? "" : oneLine(count.unreadable, 120)});
  }
  out += counts.render(style);

  if (!report.not_ready.empty()) {
    out += "\n" + style.paint("Not Ready", Tone::kBold) + "\n";
    Table problems({"KIND", "NAMESPACE", "NAME", "PHASE", "CONDITION", "REASON", "MESSAGE"});
    for (const auto& p : report.not_ready) {
      problems.add({p.kind, p.ns, p.name, p.phase, Cell(p.condition, Tone::kBad), p.reason, oneLine(p.message, 160)});
    }
    out += problems.render(style);
  }
  out += "\n" + (healthy(report) ? style.paint("OK: the platform is healthy", Tone::kGood)
                                 : style.paint("PROBLEMS: see above", Tone::kBad)) + "\n";
  return out;
}

Json toJson(const StatusReport& report) {
  Json apis = Json::array();
  for (const auto& api : report.apis) {
    apis.push_back({{"component", api.component}, {"group", api.group}, {"required", api.required},
                    {"state", apiState(api)}, {"versions", api.versions}, {"missingResources", api.missing}});
  }
  const ControllerCheck& c = report.controller;
  Json controller = {{"deployment", c.deployment}, {"state", controllerState(c)}, {"found", c.found},
                     {"replicas", c.replicas}, {"readyReplicas", c.ready}, {"version", c.version},
                     {"leader", c.leader}, {"leaseExpired", c.lease_expired}};
  if (c.since_renewal) controller["secondsSinceRenewal"] = c.since_renewal->count();
  if (!c.unreadable.empty()) controller["error"] = c.unreadable;
  Json counts = Json::array();
  for (const auto& count : report.counts) {
    counts.push_back({{"kind", count.kind}, {"total", count.total}, {"ready", count.ready}});
    if (!count.unreadable.empty()) counts.back()["error"] = count.unreadable;
  }
  Json not_ready = Json::array();
  for (const auto& p : report.not_ready) {
    not_ready.push_back({{"kind", p.kind}, {"namespace", p.ns}, {"name", p.name}, {"phase", p.phase},
                         {"condition", p.condition}, {"reason", p.reason}, {"message", p.message}});
  }
  return {{"healthy", healthy(report)}, {"apis", apis}, {"controller", controller},
          {"objects", counts}, {"notReady", not_ready}};
}

StatusReport gatherStatus(kube::Client& client, const GlobalFlags& flags) {
  StatusReport report;
  for (const auto& requirement : requirements()) report.apis.push_back(checkApi(client, requirement));
  report.controller = checkController(client, flags.platform_namespace);
  const std::pair<const char*, const kube::ResourceType*> kinds[] = {
      {"Organization", &api::kOrganizations}, {"RepoBinding", &api::kRepoBindings},
      {"KnowledgeBase", &api::kKnowledgeBases}};
  for (const auto& [kind, type] : kinds) {
    ObjectCount count{.kind = kind};
    auto items = report.apis.front().ok() ? listEverywhere(client, *type, flags)
                                          : kube::Result<std::vector<Json>>(std::vector<Json>{});
    if (!items) {
      count.unreadable = items.error().message;
    } else {
      for (const auto& item : *items) {
        ++count.total;
        if (auto problem = notReady(kind, item)) {
          report.not_ready.push_back(std::move(*problem));
        } else {
          ++count.ready;
        }
      }
    }
    report.counts.push_back(std::move(count));
  }
  return report;
}

int runStatus(Connection& conn, Io& io, const StatusFlags& flags) {
  for (;;) {
    const StatusReport report = gatherStatus(*conn.client, conn.flags);
    if (conn.format == OutputFormat::kHuman) {
      io.out << renderStatus(report, io.style);
    } else {
      io.out << formatDocument(toJson(report), conn.format);
    }
    io.out.flush();
    if (!flags.watch) return healthy(report) ? kExitOk : kExitUnhealthy;
    std::this_thread::sleep_for(std::chrono::seconds(flags.interval_seconds));
    if (conn.format == OutputFormat::kHuman) io.out << "\n";
  }
}

}  // namespace aphex::cli
