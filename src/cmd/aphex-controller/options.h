// aphex-controller's command line: every flag has an environment variable, shown in --help.
#pragma once

#include <string>
#include <vector>

#include "aphex/config.h"
#include "kube/result.h"

namespace aphex::cmd {

struct ControllerFlags {
  std::string kubeconfig;  // empty: $KUBECONFIG, ~/.kube/config, then in-cluster
  std::string context;
  ControllerConfig config;
  std::string default_exposure = "None";
  std::vector<std::string> tenant_limits;  // <name>=<quantity>, applied to config.tenant_limits
  bool leader_elect = true;
  std::string leader_election_id = "aphex-controller";
  std::string leader_election_namespace;  // empty: the platform namespace
  std::string identity;                   // empty: $POD_NAME or hostname_pid
  std::string metrics_address = ":8080";
  std::string probe_address = ":8081";
  int organization_concurrency = 2;
  int repo_binding_concurrency = 4;
  int knowledge_base_concurrency = 1;
  int pipelinerun_prune_interval_seconds = 300;  // config.pipeline_runs.interval
  std::string log_level = "info";
  std::string log_format = "json";
};

// Parses argv; returns the exit code to leave with (0 after --help) in `exit_code` when the
// program should stop.
kube::Result<ControllerFlags> parseFlags(int argc, char** argv, int& exit_code);

}  // namespace aphex::cmd
