// KnowledgeBase (aphex.io/v1alpha1): documentation sources for the Archon RAG system. See
// docs/api.md and platform/crds/aphex.io_knowledgebases.yaml; the three must agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/condition.h"
#include "aphex/api/meta.h"
#include "kube/result.h"

namespace aphex::api {

inline constexpr std::string_view kDefaultDocsPath = ".kiro/docs";

struct DocumentationRepository {
  std::string url;  // https://github.com/<owner>/<repo>[.git]
  std::string branch{"main"};
  std::vector<std::string> paths{std::string(kDefaultDocsPath)};  // each .kiro/docs or under it
};

struct KnowledgeBaseSpec {
  std::string display_name;
  std::string description;
  std::vector<DocumentationRepository> repositories;
};

struct KnowledgeBaseStatus {
  std::int64_t observed_generation = 0;
  std::optional<Phase> phase;
  std::optional<Time> last_reconcile_time;
  std::string message;
  std::vector<Condition> conditions;
};

struct KnowledgeBase {
  ObjectMeta metadata;
  KnowledgeBaseSpec spec;
  KnowledgeBaseStatus status;

  // Fails on the first field of the wrong type, naming its path. Absent branch and paths get the
  // CRD's defaults (main, [.kiro/docs]).
  static kube::Result<KnowledgeBase> fromJson(const kube::Json& object);
};

// The status as the status subresource takes it; empty fields are left out.
kube::Json toJson(const KnowledgeBaseStatus& status);

// Everything wrong with the object, in field order; empty when it is valid. Repositories are
// duplicates when URL (case-insensitive, with or without .git) and branch agree; paths when they
// agree after normalisation.
std::vector<FieldError> validate(const KnowledgeBase& knowledge_base);

// The name of the ConfigMap the ingester reads: <name>-repos.
std::string reposConfigMapName(std::string_view knowledge_base_name);

}  // namespace aphex::api
