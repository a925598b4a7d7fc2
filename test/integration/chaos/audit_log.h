// The writes the API server audited (scripts/local-cluster up --audit-log): the exact count of a
// controller's writes even across SIGKILLs, which lose the process's own metrics, and the order of
// two replicas' writes by the API server's own clock.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace aphex::chaos {

struct AuditedWrite {
  std::string token_id;  // the credential's ID (ServiceAccount token jti)
  std::string verb;      // create, update, patch, delete, deletecollection
  std::string resource;  // plural, e.g. "rolebindings"
  std::string subresource;
  std::string ns;
  std::string name;
  int code = 0;  // the HTTP status answered
  std::chrono::system_clock::time_point received;   // when the API server got the request
  std::chrono::system_clock::time_point completed;  // when it answered

  bool isLease() const { return resource == "leases"; }
};

// Every write authenticated by one of `token_ids`, in the order the API server logged them. Throws
// when the cluster has no audit log (started without --audit-log).
std::vector<AuditedWrite> auditedWrites(const std::set<std::string>& token_ids);

// "412 (create 180, patch 232, answered with an error: 409 x3)": a total, by verb, and the
// error answers by HTTP status (409: a create that found the object, or a stale update).
std::string describeWrites(const std::vector<AuditedWrite>& writes);

// The API server's timestamps as "08:41:07.123456".
std::string clockTime(std::chrono::system_clock::time_point time);

}  // namespace aphex::chaos
