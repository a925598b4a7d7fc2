// kubectl-aphex's exit codes (docs/cli.md lists them): scripts branch on them, so each means one
// thing in every command.
#pragma once

namespace aphex::cli {

enum ExitCode : int {
  kExitOk = 0,
  // Something is wrong with the platform or the object: `status` found a problem, a `--wait` saw
  // a condition fail, `webhook test` saw no PipelineRun.
  kExitUnhealthy = 1,
  kExitUsage = 2,         // a flag or argument the command does not take (CLI11's own code)
  kExitInvalid = 3,       // the input failed the API's validation; nothing was sent
  kExitNotFound = 4,      // the Organization, RepoBinding or Secret does not exist
  kExitForbidden = 5,     // the identity may not do this (401/403)
  kExitTimeout = 6,       // a --wait or a rotation did not finish in time
  kExitUnreachable = 7,   // no usable kubeconfig, or the API server (or the webhook URL) did not answer
  kExitConflict = 8,      // the object already exists
};

}  // namespace aphex::cli
