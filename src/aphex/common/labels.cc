#include "aphex/common/labels.h"

namespace aphex {

kube::Json standardLabels(std::string_view organization, std::string_view pipeline) {
  kube::Json labels{{std::string(kManagedByLabel), std::string(kManagedByValue)},
                    {std::string(kOrganizationLabel), std::string(organization)}};
  if (!pipeline.empty()) labels[std::string(kPipelineLabel)] = std::string(pipeline);
  return labels;
}

kube::Json childMetadata(std::string_view name, std::string_view ns, const kube::Json& labels) {
  kube::Json metadata{{"name", std::string(name)}, {"labels", labels}};
  if (!ns.empty()) metadata["namespace"] = std::string(ns);
  return metadata;
}

kube::Json namespaceWithPodSecurity(std::string_view name, kube::Json labels, std::string_view enforce) {
  labels[std::string(kPodSecurityEnforceLabel)] = std::string(enforce);
  labels["pod-security.kubernetes.io/warn"] = "restricted";
  labels["pod-security.kubernetes.io/audit"] = "restricted";
  // The API server puts this label on every namespace; stating it makes what the controller
  // wrote equal to what the server holds, so the cached digest matches (runtime/owned_fields.h).
  labels["kubernetes.io/metadata.name"] = std::string(name);
  return object("v1", "Namespace", childMetadata(name, "", labels));
}

kube::Json object(std::string_view api_version, std::string_view kind, kube::Json metadata) {
  return {{"apiVersion", std::string(api_version)}, {"kind", std::string(kind)}, {"metadata", std::move(metadata)}};
}

}  // namespace aphex
