#include "integration/chaos/controller_process.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kube/client.h"

namespace aphex::chaos {
namespace {

std::vector<std::string> argumentsFor(const ControllerFlags& flags) {
  return {APHEX_CONTROLLER_BINARY,
          "--kubeconfig=" + flags.kubeconfig.string(),
          "--platform-namespace=" + flags.platform_namespace,
          "--object-selector=" + flags.object_selector,
          "--identity=" + flags.identity,
          flags.leader_elect ? "--leader-elect" : "--no-leader-elect",
          "--leader-election-namespace=" + flags.lease_namespace,
          "--leader-election-id=" + flags.lease_name,
          "--metrics-bind-address=127.0.0.1:0",
          "--health-probe-bind-address=127.0.0.1:0",
          "--log-format=json"};
}

// The child's side of fork(): only async-signal-safe calls until exec.
[[noreturn]] void execController(char* const* argv, const char* log, pid_t parent) {
  setsid();  // its own session: signals sent to the test's process group do not reach it
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl
  const int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0) _exit(127);
  dup2(in, STDIN_FILENO);
  dup2(out, STDOUT_FILENO);
  dup2(out, STDERR_FILENO);
  execv(argv[0], argv);
  _exit(127);
}

// The port of the "listening" line for the health probe endpoint, 0 if none yet.
int probePortIn(const std::filesystem::path& log) {
  std::ifstream file(log);
  for (std::string line; std::getline(file, line);) {
    const kube::Json entry = kube::Json::parse(line, nullptr, false);
    if (!entry.is_object() || entry.value("msg", "") != "listening" || entry.value("endpoint", "") != "health probe") {
      continue;
    }
    const std::string address = entry.value("address", "");
    return std::stoi(address.substr(address.rfind(':') + 1));
  }
  return 0;
}

}  // namespace

ControllerProcess::ControllerProcess(const ControllerFlags& flags, std::filesystem::path log) : log_(std::move(log)) {
  // Everything the child needs is built before fork(): the test process has threads.
  std::vector<std::string> arguments = argumentsFor(flags);
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  const std::string log_path = log_.string();
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) execController(argv.data(), log_path.c_str(), parent);
}

ControllerProcess::~ControllerProcess() {
  if (!exit_status_) kill();
}

void ControllerProcess::reap(int options) {
  if (exit_status_) return;
  int status = 0;
  const pid_t reaped = waitpid(pid_, &status, options);
  if (reaped != pid_) return;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ControllerProcess::kill() {
  if (exit_status_) return;
  ::kill(pid_, SIGKILL);
  reap(0);
}

void ControllerProcess::freeze() { ::kill(pid_, SIGSTOP); }

void ControllerProcess::thaw() { ::kill(pid_, SIGCONT); }

std::optional<int> ControllerProcess::exitStatus() {
  reap(WNOHANG);
  return exit_status_;
}

int ControllerProcess::probePort() const {
  if (probe_port_ == 0) probe_port_ = probePortIn(log_);
  return probe_port_;
}

int ControllerProcess::readyz() const {
  const int port = probePort();
  if (port == 0) return 0;
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(std::chrono::seconds(1));
  http.set_read_timeout(std::chrono::seconds(5));
  const auto response = http.Get("/readyz");
  return response ? response->status : 0;
}

bool ControllerProcess::waitReady(std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return false;
    if (readyz() == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace aphex::chaos
