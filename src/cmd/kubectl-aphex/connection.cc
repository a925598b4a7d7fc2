#include "kubectl-aphex/connection.h"

#include <ostream>

#include "kube/config.h"

namespace aphex::cli {

std::string bindingNamespace(const GlobalFlags& flags) {
  return flags.ns.empty() ? flags.platform_namespace : flags.ns;
}

std::unique_ptr<Connection> connect(const GlobalFlags& flags, Io& io, int& exit_code) {
  auto format = parseOutputFormat(flags.output);
  if (!format) {
    exit_code = fail(io, kExitUsage, "-o/--output must be json or yaml, not \"" + flags.output + "\"");
    return nullptr;
  }
  auto config = kube::loadDefaultConfig(flags.kubeconfig, flags.context);
  if (!config) {
    exit_code = fail(io, kExitUnreachable,
                     "no usable cluster configuration: " + config.error().message +
                         " (pass --kubeconfig FILE or set KUBECONFIG; --context picks a context)");
    return nullptr;
  }
  // A command-line tool should give up rather than sit through Retry-After waits for minutes.
  auto client = kube::Client::create(*config, kube::RetryPolicy{.max_attempts = 3, .max_wait = std::chrono::seconds(5)});
  if (!client) {
    exit_code = fail(io, kExitUnreachable, "cannot create the API client: " + client.error().message);
    return nullptr;
  }
  auto conn = std::make_unique<Connection>();
  conn->flags = flags;
  conn->client = std::move(client).value();
  conn->format = *format;
  return conn;
}

int exitCodeFor(const kube::Error& error) {
  if (error.kind == kube::ErrorKind::kTransport || error.kind == kube::ErrorKind::kInvalidConfig) {
    return kExitUnreachable;
  }
  if (error.isNotFound()) return kExitNotFound;
  if (error.httpCode() == 400 && error.status->reason == "BadRequest") return kExitUsage;
  if (error.isForbidden() || error.isUnauthorized()) return kExitForbidden;
  if (error.isAlreadyExists() || error.isConflict()) return kExitConflict;
  if (error.isInvalid()) return kExitInvalid;
  return kExitUnhealthy;
}

int reportError(Io& io, std::string_view what, const kube::Error& error, std::string_view not_found_fix) {
  std::string fix;
  if (error.isNotFound()) {
    fix = not_found_fix.empty() ? "check the name and the namespace (-n, --platform-namespace)" : std::string(not_found_fix);
  } else if (error.isForbidden()) {
    fix = "your identity lacks this permission; ask a platform admin, or use --context/--kubeconfig of an identity "
          "that has it";
  } else if (error.isUnauthorized()) {
    fix = "the credentials of your kubeconfig were refused; log in again or pick another --context";
  } else if (error.kind == kube::ErrorKind::kTransport) {
    fix = "is the API server running and the kubeconfig's server address right?";
  } else if (error.isAlreadyExists()) {
    fix = "choose another name, or inspect the existing one";
  }
  const std::string why = error.status && !error.status->message.empty() ? error.status->message : error.message;
  io.err << "error: " << what << ": " << why;
  if (!fix.empty()) io.err << "\n  fix: " << fix;
  io.err << "\n";
  return exitCodeFor(error);
}

int fail(Io& io, int code, std::string_view message) {
  io.err << "error: " << message << "\n";
  return code;
}

}  // namespace aphex::cli
