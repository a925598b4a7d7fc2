#include "integration/chaos/audit_log.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "integration/support/cluster.h"
#include "kube/client.h"
#include "runtime/leader_election.h"

namespace aphex::chaos {
namespace {

using kube::Json;

constexpr const char* kCredentialId = "authentication.kubernetes.io/credential-id";

// "JTI=<id>" in the user's extra attributes, or "".
std::string tokenIdOf(const Json& event) {
  const Json extra = event.value("user", Json::object()).value("extra", Json::object());
  for (const auto& credential : extra.value(kCredentialId, Json::array())) {
    const std::string text = credential.get<std::string>();
    if (text.rfind("JTI=", 0) == 0) return text.substr(4);
  }
  return "";
}

std::chrono::system_clock::time_point timeOf(const Json& event, const char* field) {
  const auto parsed = kube::runtime::parseMicroTime(event.value(field, ""));
  if (!parsed) throw std::runtime_error(std::string("audit event without a valid ") + field);
  return *parsed;
}

AuditedWrite writeOf(const Json& event, std::string token_id) {
  const Json object = event.value("objectRef", Json::object());
  return {.token_id = std::move(token_id),
          .verb = event.value("verb", ""),
          .resource = object.value("resource", ""),
          .subresource = object.value("subresource", ""),
          .ns = object.value("namespace", ""),
          .name = object.value("name", ""),
          .code = event.value("responseStatus", Json::object()).value("code", 0),
          .received = timeOf(event, "requestReceivedTimestamp"),
          .completed = timeOf(event, "stageTimestamp")};
}

// The log and, should it ever be rotated (100 MB), its older parts; oldest first.
std::vector<std::filesystem::path> auditFiles() {
  const std::filesystem::path dir = testing::clusterDir();
  if (!std::filesystem::exists(dir / "audit.log")) {
    throw std::runtime_error(dir.string() + "/audit.log does not exist: start the cluster with "
                             "'scripts/local-cluster up --audit-log'");
  }
  std::vector<std::filesystem::path> rotated;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("audit-", 0) == 0 && entry.path().extension() == ".log") rotated.push_back(entry.path());
  }
  std::sort(rotated.begin(), rotated.end());
  rotated.push_back(dir / "audit.log");
  return rotated;
}

}  // namespace

std::vector<AuditedWrite> auditedWrites(const std::set<std::string>& token_ids) {
  std::vector<AuditedWrite> writes;
  for (const auto& path : auditFiles()) {
    std::ifstream file(path);
    for (std::string line; std::getline(file, line);) {
      // Cheap filter first: the log holds every client's writes.
      if (line.find("JTI=") == std::string::npos) continue;
      const Json event = Json::parse(line, nullptr, false);
      if (!event.is_object() || event.value("stage", "") != "ResponseComplete") continue;  // or a line being written
      std::string id = tokenIdOf(event);
      if (token_ids.contains(id)) writes.push_back(writeOf(event, std::move(id)));
    }
  }
  return writes;
}

std::string describeWrites(const std::vector<AuditedWrite>& writes) {
  std::map<std::string, int> by_verb;
  std::map<int, int> errors_by_code;
  for (const auto& write : writes) {
    ++by_verb[write.verb];
    if (write.code >= 400) ++errors_by_code[write.code];
  }
  std::string text = std::to_string(writes.size()) + " (";
  for (const auto& [verb, count] : by_verb) text += verb + " " + std::to_string(count) + ", ";
  text += "answered with an error:";
  for (const auto& [code, count] : errors_by_code) text += " " + std::to_string(code) + " x" + std::to_string(count);
  return text + (errors_by_code.empty() ? " none)" : ")");
}

std::string clockTime(std::chrono::system_clock::time_point time) {
  const std::string text = kube::runtime::formatMicroTime(time);  // 2026-01-02T03:04:05.000000Z
  return text.substr(11, 15);
}

}  // namespace aphex::chaos
