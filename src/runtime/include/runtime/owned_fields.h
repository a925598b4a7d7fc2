// Compact cached children: what a controller needs of an object it applies, without its body.
//
// A controller that compares desired with live before applying needs the live object's fields,
// so its informers cache whole objects — most of its memory when it makes thousands of children.
// The API server already records which fields each manager set (metadata.managedFields, one
// fieldsV1 set per manager and operation). Projecting the live object onto the fields this
// manager applied, and hashing that projection, gives a digest that equals the digest of the
// desired object exactly when nobody changed what the manager set: a field someone else changes
// moves to their manager, one they remove leaves the set, and fields others add are not in it.
//
// compactChild() keeps an object's identity and metadata (labels, annotations, owners, uid,
// resourceVersion, deletion) plus that digest under kOwnedFieldsDigest, and drops the rest; the
// Applier compares a compact object by digest. Where server defaults land inside a field the
// manager set as a whole (an atomic list such as a NetworkPolicy's ports gaining protocol: TCP,
// or a webhook defaulting a CRD's spec), the digests differ although nothing drifted; the Applier
// then reads the object once and compares it field by field (see apply.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kube/result.h"
#include "runtime/store.h"

namespace kube::runtime {

// Marks a compact object and holds its digest ("" when the manager has set none of its fields). '@' keeps it apart from any real field.
inline constexpr std::string_view kOwnedFieldsDigest = "@ownedFieldsDigest";

bool isCompact(const Json& object);

// The union of the fieldsV1 sets of `manager`'s entries on the main resource, Apply and Update
// (a create's Update entry also lists what the server added on create, such as a namespace's
// kubernetes.io/metadata.name label: a desired object that states it matches). Status
// subresource entries are left out. An empty object when there are none.
Json fieldsAppliedBy(const Json& object, std::string_view manager);

// The part of `value` that `fields` (a fieldsV1 set) names: object members by "f:<name>", list
// elements by "k:<key fields>", "v:<value>" or "i:<index>", in `value`'s order; a set with no such
// children names the whole value.
Json projectOntoFields(const Json& value, const Json& fields);

// SHA-256 digest (16 hex digits) of the fields `manager` applied, as they are on `live`; "" when
// it applied none.
std::string ownedFieldsDigest(const Json& live, std::string_view manager);
// The digest ownedFieldsDigest() gives for an object on which `desired` was applied and nobody
// changed anything: of `desired` without its identity (apiVersion, kind, name, namespace), which
// managedFields never list.
std::string desiredFieldsDigest(const Json& desired);

struct CompactOptions {
  std::string field_manager;
  // Top-level fields kept as they are (a Secret's "data" and "type" when the controller reads
  // them); everything else outside metadata goes.
  std::vector<std::string> kept_fields;
};

// `object` reduced as the header says; managedFields are read and dropped.
void compactChild(Json& object, const CompactOptions& options);
Transform compactTransform(CompactOptions options);

}  // namespace kube::runtime
