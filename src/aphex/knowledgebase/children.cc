#include "aphex/knowledgebase/children.h"

#include "aphex/api/group.h"
#include "aphex/common/labels.h"

namespace aphex::knowledgebase {
namespace {

using kube::Json;

constexpr std::string_view kComponent = "knowledge-base";

}  // namespace

Json reposConfigMap(const api::KnowledgeBase& knowledge_base) {
  Json repositories = Json::array();
  for (const auto& repository : knowledge_base.spec.repositories) {
    repositories.push_back({{"url", repository.url}, {"branch", repository.branch}, {"paths", repository.paths}});
  }
  Json labels = standardLabels("");
  labels.erase(std::string(kOrganizationLabel));
  labels[std::string(kComponentLabel)] = std::string(kComponent);
  Json metadata = childMetadata(api::reposConfigMapName(knowledge_base.metadata.name), knowledge_base.metadata.ns, labels);
  metadata["ownerReferences"] = Json::array({{{"apiVersion", std::string(api::kApiVersion)},
                                              {"kind", std::string(api::kKnowledgeBaseKind)},
                                              {"name", knowledge_base.metadata.name},
                                              {"uid", knowledge_base.metadata.uid},
                                              {"controller", true}}});
  Json config_map = object("v1", "ConfigMap", std::move(metadata));
  config_map["data"] = {{std::string(kReposKey), repositories.dump(2)}};
  return config_map;
}

}  // namespace aphex::knowledgebase
