// The real aphex-controller binary as a child process: started, killed (SIGKILL), frozen
// (SIGSTOP) and thawed, and asked /readyz, as a kubelet and a node failure would treat a pod.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace aphex::chaos {

// What one controller process is told; everything else is the binary's default.
struct ControllerFlags {
  std::filesystem::path kubeconfig;  // the ServiceAccount's token, never an admin's
  std::string platform_namespace;
  std::string object_selector;       // this test's objects only
  std::string identity;              // its name in the Lease and in Events
  bool leader_elect = false;
  // The shipped RBAC lets the controller write Leases in platform-system only; each test names
  // its own Lease there.
  std::string lease_namespace = "platform-system";
  std::string lease_name;
};

class ControllerProcess {
 public:
  // Starts the binary in a session of its own, its output appended to `log`. Probes and metrics
  // listen on free loopback ports (port 0); probePort() reads which from the log. The process
  // is killed if the test process dies first (PR_SET_PDEATHSIG): start it from the test's own
  // thread, since the signal follows the thread that forked.
  ControllerProcess(const ControllerFlags& flags, std::filesystem::path log);
  ~ControllerProcess();  // SIGKILL if it still runs
  ControllerProcess(const ControllerProcess&) = delete;
  ControllerProcess& operator=(const ControllerProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::filesystem::path& log() const { return log_; }

  // SIGKILL, then reaps it: no shutdown, no Lease release, reconciles cut off mid-write.
  void kill();
  // SIGSTOP / SIGCONT: a process that stops being scheduled and later resumes, as after a long
  // pause of its node or a partition that heals; its clocks move on meanwhile.
  void freeze();
  void thaw();
  // Its exit status (or 128 + signal) once it has ended, nullopt while it runs.
  std::optional<int> exitStatus();
  bool running() { return !exitStatus().has_value(); }

  // The health-probe port it bound, from its log; 0 until it has logged it.
  int probePort() const;
  // The HTTP status GET /readyz answered, or 0 when nothing answered. May be called from another
  // thread than the one that controls the process.
  int readyz() const;
  // Waits until /readyz answers 200; false if it did not within `limit` or the process ended.
  bool waitReady(std::chrono::seconds limit);

 private:
  void reap(int options);

  std::filesystem::path log_;
  mutable std::atomic<int> probe_port_ = 0;  // once read from the log
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace aphex::chaos
