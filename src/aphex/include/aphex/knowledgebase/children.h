// What a KnowledgeBase makes: one ConfigMap, built from the spec alone (no I/O), tested without a
// cluster like the other kinds' builders.
#pragma once

#include <string_view>

#include "aphex/api/knowledge_base.h"
#include "kube/result.h"

namespace aphex::knowledgebase {

inline constexpr std::string_view kReposKey = "repositories.json";

// The ConfigMap <name>-repos: key repositories.json, a JSON list of {url, branch, paths}, owned by
// the KnowledgeBase (by its uid, with a controller owner reference: garbage collection removes it
// with the KnowledgeBase, and a change to it wakes the KnowledgeBase).
kube::Json reposConfigMap(const api::KnowledgeBase& knowledge_base);

}  // namespace aphex::knowledgebase
