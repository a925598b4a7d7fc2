// YAML to JSON, for what users write as YAML: a RepoBinding's pipelineSpec, manifests and the
// examples in docs/api.md.
#pragma once

#include <string_view>

#include "kube/result.h"

namespace aphex::api {

// Converts one YAML document to JSON. Plain scalars are typed by YAML 1.2's core schema (null,
// true/false, integers, floats; "yes" and "on" stay strings); quoted and block scalars are always
// strings. Fails, with the line and column, on a syntax error, on more than one document, on a
// key that is not a scalar, and on a document that expands (through aliases) beyond a size
// limit, since the text may come from any user who can write a RepoBinding.
kube::Result<kube::Json> yamlToJson(std::string_view text);

}  // namespace aphex::api
