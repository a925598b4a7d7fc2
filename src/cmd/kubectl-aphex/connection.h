// What every command shares: the kubectl-style connection flags, the client they make, where
// Aphex's objects live, and how an API error becomes a message (naming the object and the fix)
// and an exit code.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "aphex/api/group.h"
#include "kube/client.h"
#include "kubectl-aphex/exit_codes.h"
#include "kubectl-aphex/output.h"

namespace aphex::cli {

struct GlobalFlags {
  std::string kubeconfig;  // empty: $KUBECONFIG (a list of files), then in-cluster, then ~/.kube/config
  std::string context;     // empty: the kubeconfig's current-context
  std::string ns;          // -n: where RepoBindings are written and looked up; empty: the platform namespace
  std::string platform_namespace{api::kDefaultPlatformNamespace};  // where Organizations live
  std::string output;      // -o: "", json or yaml
};

// Where a command writes: standard output for results, standard error for progress and errors.
struct Io {
  std::ostream& out;
  std::ostream& err;
  Style style;
};

// The namespace of RepoBindings: -n, else the platform namespace.
std::string bindingNamespace(const GlobalFlags& flags);

struct Connection {
  GlobalFlags flags;
  std::unique_ptr<kube::Client> client;
  OutputFormat format = OutputFormat::kHuman;
};

// Loads the kubeconfig as kubectl would (the same loader as aphex-controller) and makes the
// client; on failure, says why on `io.err` and returns the exit code in `exit_code`.
std::unique_ptr<Connection> connect(const GlobalFlags& flags, Io& io, int& exit_code);

// The exit code of a failed request.
int exitCodeFor(const kube::Error& error);

// "what": "organization platform-system/acme". Prints "error: <what>: <why>. <fix>" and returns
// the exit code. `fix` replaces the generic advice for NotFound when given.
int reportError(Io& io, std::string_view what, const kube::Error& error, std::string_view not_found_fix = {});

// Prints "error: <message>" and returns `code`.
int fail(Io& io, int code, std::string_view message);

// "kubectl aphex": how the program is called, for the commands it suggests.
inline constexpr std::string_view kCommandName = "kubectl aphex";

}  // namespace aphex::cli
