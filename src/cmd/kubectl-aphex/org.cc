#include "kubectl-aphex/org.h"

#include <ostream>

#include "aphex/api/group.h"
#include "aphex/api/organization.h"
#include "kubectl-aphex/objects.h"

namespace aphex::cli {

using kube::Json;

kube::Result<Json> organizationObject(const OrgCreateFlags& flags, const std::string& ns) {
  auto labels = parseLabels(flags.labels);
  if (!labels) return std::move(labels).error();
  Json spec = {{"displayName", flags.display_name.empty() ? flags.name : flags.display_name},
               {"adminUsers", flags.admins}};
  if (!flags.admin_groups.empty()) spec["adminGroups"] = flags.admin_groups;
  if (!flags.exposure.empty()) spec["exposure"] = {{"mode", flags.exposure}};
  if (!flags.pod_security.empty()) spec["pipelinePodSecurity"] = flags.pod_security;
  Json metadata = {{"name", flags.name}, {"namespace", ns}};
  if (!labels->empty()) metadata["labels"] = *labels;
  return Json{{"apiVersion", api::kApiVersion}, {"kind", api::kOrganizationKind}, {"metadata", metadata},
              {"spec", spec}};
}

std::vector<api::FieldError> organizationProblems(const Json& organization) {
  auto parsed = api::Organization::fromJson(organization);
  if (!parsed) return {{.path = "spec", .message = parsed.error().message}};
  std::vector<api::FieldError> problems = api::validate(*parsed);
  if (parsed->spec.admin_users.empty() && parsed->spec.admin_groups.empty()) {
    // The API accepts it, but nobody could then manage the organization's namespace.
    problems.push_back({.path = "spec.adminUsers", .message = "name at least one admin (--admin EMAIL) or admin group "
                                                              "(--admin-group GROUP)"});
  }
  return problems;
}

std::string flagOfField(const std::string& path) {
  const std::pair<const char*, const char*> flags[] = {
      {"metadata.name", "NAME"},          {"spec.displayName", "--display-name"},
      {"spec.adminUsers", "--admin"},     {"spec.adminGroups", "--admin-group"},
      {"spec.exposure", "--exposure"},    {"spec.pipelinePodSecurity", "--pod-security"},
      {"spec.repoOrg", "OWNER"},          {"spec.repoName", "REPO"},
      {"spec.aphexOrg", "--org"},         {"spec.pipelineName", "--pipeline-name"},
      {"spec.pipelineSpec", "--pipeline"}, {"pipelineSpec", "--pipeline"},
      {"spec.branch", "--branch"},        {"spec.templateRef", "--template-ref"},
      {"metadata.namespace", "-n"},       {"spec.deletionPolicy", "--deletion-policy"}};
  for (const auto& [prefix, flag] : flags) {
    const std::string_view field(prefix);
    // "metadata.name" names metadata.name and nothing longer ("metadata.namespace").
    if (!path.starts_with(field)) continue;
    if (path.size() == field.size() || path[field.size()] == '.' || path[field.size()] == '[') return flag;
  }
  return "";
}

std::string renderProblems(const std::vector<api::FieldError>& problems) {
  std::string out;
  for (const auto& problem : problems) {
    const std::string flag = flagOfField(problem.path);
    out += "  " + problem.path + (flag.empty() ? "" : " (" + flag + ")") + ": " + problem.message + "\n";
  }
  return out;
}

namespace {

std::string exposureOf(const Json& organization) {
  const Json spec = organization.value("spec", Json::object());
  const std::string mode = spec.value("exposure", Json::object()).value("mode", "");
  return mode.empty() ? "(platform default)" : mode;
}

std::string joinOr(const Json& values, const char* none) {
  std::string out;
  for (const auto& value : values) out += (out.empty() ? "" : ", ") + value.get<std::string>();
  return out.empty() ? none : out;
}

std::string secretRefOf(const Json& status) {
  const Json ref = status.value("webhookSecretRef", Json::object());
  if (ref.empty()) return "(not yet made)";
  return "Secret " + ref.value("namespace", "") + "/" + ref.value("name", "") + ", key " + ref.value("key", "");
}

Cell readyCell(const Json& object) {
  const bool ready = isReady(object);
  const std::string status = conditionStatus(object, "Ready");
  return Cell(ready ? "True" : (status.empty() ? "Unknown" : status), ready ? Tone::kGood : Tone::kBad);
}

}  // namespace

std::string renderOrganizations(const std::vector<Json>& organizations, const Style& style) {
  Table table({"NAME", "PHASE", "READY", "NAMESPACE", "BINDINGS", "EXPOSURE", "WEBHOOK URL"});
  for (const auto& org : organizations) {
    const Json status = org.value("status", Json::object());
    table.add({metadataOf(org, "name"), status.value("phase", ""), readyCell(org),
               status.value("namespace", ""), std::to_string(status.value("repoBindings", 0)), exposureOf(org),
               status.value("webhookURL", "")});
  }
  return table.render(style);
}

std::string describeOrganization(const Json& organization, const std::vector<Json>& bindings,
                                 std::chrono::system_clock::time_point now, const Style& style) {
  const Json metadata = organization.value("metadata", Json::object());
  const Json spec = organization.value("spec", Json::object());
  const Json status = organization.value("status", Json::object());
  const auto field = [&](const char* label, const std::string& value) {
    return style.paint(label, Tone::kBold) + std::string(18 - std::string_view(label).size(), ' ') + value + "\n";
  };
  std::string out;
  out += field("Name:", metadata.value("namespace", "") + "/" + metadata.value("name", ""));
  out += field("Display name:", spec.value("displayName", ""));
  out += field("Phase:", status.value("phase", "(none yet)"));
  out += field("Admin users:", joinOr(spec.value("adminUsers", Json::array()), "(none)"));
  out += field("Admin groups:", joinOr(spec.value("adminGroups", Json::array()), "(none)"));
  out += field("Exposure:", exposureOf(organization));
  out += field("Pod security:", spec.value("pipelinePodSecurity", "restricted"));
  out += field("Namespace:", status.value("namespace", "(not yet made)"));
  out += field("Webhook URL:", status.value("webhookURL", "(not yet known)"));
  out += field("Webhook secret:", secretRefOf(status));
  out += "\n" + style.paint("RepoBindings", Tone::kBold) + "\n";
  if (bindings.empty()) {
    out += "  (none)\n";
  } else {
    Table table({"NAMESPACE", "NAME", "REPOSITORY", "BRANCH", "PIPELINE NAMESPACE", "READY"});
    for (const auto& binding : bindings) {
      const Json bspec = binding.value("spec", Json::object());
      table.add({metadataOf(binding, "namespace"), metadataOf(binding, "name"),
                 bspec.value("repoOrg", "") + "/" + bspec.value("repoName", ""), bspec.value("branch", "main"),
                 binding.value("status", Json::object()).value("pipelineNamespace", ""), readyCell(binding)});
    }
    out += table.render(style);
  }
  out += "\n" + style.paint("Conditions", Tone::kBold) + "\n";
  const Table conditions = conditionsTable(organization, now);
  out += conditions.empty() ? "  (none yet: is aphex-controller running?)\n" : conditions.render(style);
  return out;
}

namespace {

std::string orgWhat(const Connection& conn, const std::string& name) {
  return "organization " + conn.flags.platform_namespace + "/" + name;
}

std::string createFix(const std::string& name) {
  return "create it with: " + std::string(kCommandName) + " org create " + name + " --admin EMAIL";
}

}  // namespace

int runOrgCreate(Connection& conn, Io& io, const OrgCreateFlags& flags) {
  auto object = organizationObject(flags, conn.flags.platform_namespace);
  if (!object) return fail(io, kExitUsage, object.error().message);
  if (const auto problems = organizationProblems(*object); !problems.empty()) {
    io.err << "error: organization " << flags.name << " is not valid; nothing was sent:\n" << renderProblems(problems);
    return kExitInvalid;
  }
  if (flags.dry_run == "client") {
    io.out << formatDocument(*object, conn.format == OutputFormat::kJson ? OutputFormat::kJson : OutputFormat::kYaml);
    return kExitOk;
  }
  auto created = conn.client->create(api::kOrganizations, conn.flags.platform_namespace, *object);
  if (!created) return reportError(io, orgWhat(conn, flags.name), created.error());
  io.err << "organization " << conn.flags.platform_namespace << "/" << flags.name << " created\n";
  if (flags.wait) {
    const int waited = waitReady(*conn.client, api::kOrganizations, conn.flags.platform_namespace, flags.name, io,
                                 {.timeout = std::chrono::seconds(flags.timeout_seconds)});
    if (waited != kExitOk) return waited;
    io.err << "organization " << flags.name << " is Ready\n";
  }
  if (conn.format != OutputFormat::kHuman) {
    auto current = conn.client->get(api::kOrganizations, conn.flags.platform_namespace, flags.name);
    io.out << formatDocument(forDisplay(current ? *current : *created), conn.format);
  }
  return kExitOk;
}

int runOrgGet(Connection& conn, Io& io, const std::string& name) {
  auto org = conn.client->get(api::kOrganizations, conn.flags.platform_namespace, name);
  if (!org) return reportError(io, orgWhat(conn, name), org.error(), createFix(name));
  if (conn.format != OutputFormat::kHuman) {
    io.out << formatDocument(forDisplay(*org), conn.format);
  } else {
    io.out << renderOrganizations({*org}, io.style);
  }
  return kExitOk;
}

int runOrgDescribe(Connection& conn, Io& io, const std::string& name) {
  auto org = conn.client->get(api::kOrganizations, conn.flags.platform_namespace, name);
  if (!org) return reportError(io, orgWhat(conn, name), org.error(), createFix(name));
  std::vector<Json> mine;
  auto bindings = listBindings(*conn.client, {conn.flags.platform_namespace, api::organizationNamespace(name)});
  if (bindings) {
    for (auto& binding : *bindings) {
      if (binding.value("spec", Json::object()).value("aphexOrg", "") == name) mine.push_back(std::move(binding));
    }
  }
  if (conn.format != OutputFormat::kHuman) {
    io.out << formatDocument(forDisplay(*org), conn.format);
    return kExitOk;
  }
  io.out << describeOrganization(*org, mine, std::chrono::system_clock::now(), io.style);
  if (!bindings) io.err << "warning: cannot list its RepoBindings: " << bindings.error().message << "\n";
  return kExitOk;
}

}  // namespace aphex::cli
