// YAML to JSON, for what users write as YAML: a RepoBinding's pipelineSpec, manifests and the
// examples in docs/api.md.
#pragma once

#include <string_view>

#include "kube/result.h"

namespace aphex::api {

// Converts one YAML document to JSON. Plain scalars are typed by YAML 1.2's core schema (null,
// true/false, integers, floats; "yes" and "on" stay strings; a plain scalar of more than 64
// characters is always a string); quoted and block scalars are always strings. The text may come
// from any user who can write a RepoBinding, so it fails, with the line and column, on a syntax
// error, on more than one document, on a key that is not a scalar or is repeated, on nesting
// deeper than 64 levels, on any alias (*name; anchors alone are fine), on text that is not UTF-8
// or holds a NUL, and on a document beyond a size bound. Time and memory are linear in the
// text's length and the stack depth is bounded whatever the text.
kube::Result<kube::Json> yamlToJson(std::string_view text);

}  // namespace aphex::api
