#include "kube/exec_credential.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "kube/base64.h"

extern char** environ;  // POSIX: the process environment, which the plugin inherits

namespace kube {

namespace {

using namespace std::chrono_literals;

// Enough of stderr to see what went wrong; plugins print usage text and progress there too.
constexpr std::size_t kStderrTail = 2048;

Error failure(ErrorKind kind, std::string message) {
  return Error{.kind = kind, .message = std::move(message), .status = {}};
}

Error decodeError(std::string message) { return failure(ErrorKind::kDecode, std::move(message)); }

// Names the plugin and where it was configured, at the start of every message.
std::string describe(const ClientConfig& config) {
  return "exec credential plugin \"" + config.exec->command + "\" (" + config.source + ")";
}

std::string withInstallHint(std::string message, const ExecConfig& exec) {
  if (!exec.install_hint.empty()) message += "\n" + exec.install_hint;
  return message;
}

std::string formatDuration(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + "s";
  return std::to_string(duration.count()) + "ms";
}

// The ExecCredential the plugin finds in KUBERNETES_EXEC_INFO: never interactive, since a
// controller has no terminal, and the cluster only when the kubeconfig asks for it (it may be
// shared by plugins serving many clusters).
std::string execInfo(const ClientConfig& config) {
  Json spec{{"interactive", false}};
  if (config.exec->provide_cluster_info) {
    Json cluster{{"server", config.server}, {"insecure-skip-tls-verify", config.insecure_skip_tls_verify}};
    if (!config.tls_server_name.empty()) cluster["tls-server-name"] = config.tls_server_name;
    if (!config.ca_pem.empty()) cluster["certificate-authority-data"] = base64Encode(config.ca_pem);
    spec["cluster"] = std::move(cluster);
  }
  return Json{{"apiVersion", config.exec->api_version}, {"kind", "ExecCredential"}, {"spec", std::move(spec)}}.dump();
}

// This process's environment with the configured variables and KUBERNETES_EXEC_INFO on top.
std::vector<std::string> pluginEnvironment(const ClientConfig& config) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) env.emplace_back(*entry);
  const auto set = [&env](const std::string& name, const std::string& value) {
    const std::string prefix = name + "=";
    std::erase_if(env, [&prefix](const std::string& entry) { return entry.rfind(prefix, 0) == 0; });
    env.push_back(prefix + value);
  };
  for (const auto& var : config.exec->env) set(var.name, var.value);
  set("KUBERNETES_EXEC_INFO", execInfo(config));
  return env;
}

// argv and envp as posix_spawn takes them: pointers into `strings`, which must outlive them.
std::vector<char*> pointersInto(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// Close-on-exec, so that no other child this process starts meanwhile inherits either end.
std::optional<Pipe> makePipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return std::nullopt;
  return Pipe{.read = Fd(fds[0]), .write = Fd(fds[1])};
}

// posix_spawn's file actions and attributes for one plugin run, released on every path out.
class SpawnSetup {
 public:
  SpawnSetup(int stdout_fd, int stderr_fd) {
    posix_spawn_file_actions_init(&actions_);
    posix_spawn_file_actions_adddup2(&actions_, stdout_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions_, stderr_fd, STDERR_FILENO);
    // No terminal and nothing to read: a plugin that would prompt fails instead of hanging.
    posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Descriptors opened elsewhere in this process without O_CLOEXEC stay out of the plugin.
    posix_spawn_file_actions_addclosefrom_np(&actions_, STDERR_FILENO + 1);
#endif
    posix_spawnattr_init(&attr_);
    // A process group of its own, so that a timeout kills everything the plugin started.
    posix_spawnattr_setpgroup(&attr_, 0);
    // A signal this process blocks (for a signal-handling thread) or ignores (SIGPIPE) must act
    // normally in the plugin.
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr_, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (const int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigdefault(&attr_, &defaults);
    posix_spawnattr_setflags(&attr_, static_cast<short>(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                        POSIX_SPAWN_SETSIGDEF));
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  ~SpawnSetup() {
    posix_spawnattr_destroy(&attr_);
    posix_spawn_file_actions_destroy(&actions_);
  }

  // 0 or an errno. No shell: a bare name is looked up in PATH, a path is run as it is.
  int spawn(const std::string& command, char* const argv[], char* const envp[], pid_t& pid) const {
    if (command.find('/') == std::string::npos) {
      return posix_spawnp(&pid, command.c_str(), &actions_, &attr_, argv, envp);
    }
    return posix_spawn(&pid, command.c_str(), &actions_, &attr_, argv, envp);
  }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

struct Outcome {
  int wait_status = 0;
  std::string stopped_because;  // set when the plugin was killed before it finished
  std::string out;
  std::string err;  // the last kStderrTail bytes
};

// Appends what is readable from `fd`; false at end of file (or a read error, which ends it too).
bool drain(int fd, std::string& into) {
  std::array<char, 16384> buffer{};
  const ssize_t count = ::read(fd, buffer.data(), buffer.size());
  if (count < 0) return errno == EINTR || errno == EAGAIN;
  if (count == 0) return false;
  into.append(buffer.data(), static_cast<std::size_t>(count));
  return true;
}

// True once the plugin has exited. ECHILD means this process set SIGCHLD to be ignored and the
// kernel reaped it already: its exit status is lost, and the output decides.
bool reaped(pid_t pid, int& status) {
  const pid_t result = ::waitpid(pid, &status, WNOHANG);
  if (result < 0 && errno == ECHILD) status = 0;
  return result == pid || (result < 0 && errno == ECHILD);
}

void killAndReap(pid_t pid, int& status) {
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Reads both pipes until they end and the plugin exits, within the timeout (on options.clock)
// and the size bound.
Outcome collect(pid_t pid, Fd& out, Fd& err, const ExecOptions& options) {
  Outcome outcome;
  Clock& clock = *options.clock;
  const MonoTime deadline = clock.now() + options.timeout;
  bool exited = false;
  while (!exited) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.now());
    if (left <= 0ms) {
      outcome.stopped_because = "did not finish within " + formatDuration(options.timeout) + " and was killed";
      break;
    }
    if (out.get() < 0 && err.get() < 0) {
      exited = reaped(pid, outcome.wait_status);
      // A wait on the operating system, like poll()'s below: real time between checks, not time
      // the caller reasons about (that is the deadline, on the injected clock).
      if (!exited) std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(left, 10ms));
      continue;
    }
    // poll() skips negative descriptors, so a pipe that has ended drops out by itself.
    std::array<pollfd, 2> fds{pollfd{.fd = out.get(), .events = POLLIN, .revents = 0},
                              pollfd{.fd = err.get(), .events = POLLIN, .revents = 0}};
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::min<std::int64_t>(left.count(), 1000))) < 0) {
      if (errno == EINTR) continue;
      outcome.stopped_because = "could not be read from: " + std::generic_category().message(errno);
      break;
    }
    if (fds[0].revents != 0 && !drain(out.get(), outcome.out)) out.reset();
    if (fds[1].revents != 0 && !drain(err.get(), outcome.err)) err.reset();
    if (outcome.err.size() > kStderrTail) outcome.err.erase(0, outcome.err.size() - kStderrTail);
    if (outcome.out.size() > options.max_output) {
      outcome.stopped_because = "printed more than " + std::to_string(options.max_output) + " bytes and was killed";
      break;
    }
  }
  if (!exited) killAndReap(pid, outcome.wait_status);
  return outcome;
}

// stderr as it can go into a message (and a JSON log line): printable ASCII, trimmed.
std::string stderrExcerpt(const std::string& err) {
  std::string text;
  for (const char c : err) {
    const bool printable = (c >= ' ' && c <= '~') || c == '\n' || c == '\t';
    text += printable ? c : '?';
  }
  const auto first = text.find_first_not_of(" \t\n");
  if (first == std::string::npos) return {};
  text = text.substr(first, text.find_last_not_of(" \t\n") - first + 1);
  return ": stderr: " + std::string(err.size() >= kStderrTail ? "..." : "") + text;
}

Error spawnError(const ClientConfig& config, int error_number) {
  const ExecConfig& exec = *config.exec;
  const bool bare = exec.command.find('/') == std::string::npos;
  switch (error_number) {
    case ENOENT:
      return configError(withInstallHint(describe(config) + ": not found" + (bare ? " in PATH" : ""), exec));
    case EACCES:
      return configError(withInstallHint(describe(config) + ": not executable (permission denied)", exec));
    case ENOEXEC:
      return configError(describe(config) + ": not an executable format (a script needs a #! line)");
    default:
      return failure(ErrorKind::kTransport,
                     describe(config) + " could not be started: " + std::generic_category().message(error_number));
  }
}

Result<ExecCredential> interpret(const Outcome& outcome, const ClientConfig& config) {
  if (!outcome.stopped_because.empty()) {
    return failure(ErrorKind::kTransport, describe(config) + " " + outcome.stopped_because + stderrExcerpt(outcome.err));
  }
  if (WIFSIGNALED(outcome.wait_status)) {
    return failure(ErrorKind::kTransport, describe(config) + " was killed by signal " +
                                              std::to_string(WTERMSIG(outcome.wait_status)) + stderrExcerpt(outcome.err));
  }
  if (WIFEXITED(outcome.wait_status) && WEXITSTATUS(outcome.wait_status) != 0) {
    // A plugin failing is often temporary (its identity provider is unreachable): kTransport lets
    // callers retry with backoff, as they would a connection failure.
    return failure(ErrorKind::kTransport,
                   withInstallHint(describe(config) + " exited with status " +
                                       std::to_string(WEXITSTATUS(outcome.wait_status)) + stderrExcerpt(outcome.err),
                                   *config.exec));
  }
  auto credential = parseExecCredential(outcome.out, config.exec->api_version);
  if (!credential) return decodeError(describe(config) + ": " + credential.error().message);
  return credential;
}

// A string member; empty when absent or null, an error when it has another type.
Result<std::string> stringMember(const Json& object, const char* key, const std::string& path) {
  const auto member = object.find(key);
  if (member == object.end() || member->is_null()) return std::string{};
  if (!member->is_string()) return decodeError(path + key + " must be a string");
  return member->get<std::string>();
}

// Only the expected group's versions are quoted back: anything else printed there could be a secret.
std::string quoteVersion(const std::string& version) {
  if (version.rfind("client.authentication.k8s.io/", 0) == 0 && version.size() < 64) return "'" + version + "'";
  return version.empty() ? "no apiVersion" : "an apiVersion of another group";
}

Result<void> checkTypeMeta(const Json& doc, std::string_view api_version) {
  auto version = stringMember(doc, "apiVersion", "");
  if (!version) return std::move(version).error();
  if (*version != api_version) {
    return decodeError("it printed " + quoteVersion(*version) + " but was asked for '" + std::string(api_version) +
                       "'; set users[].user.exec.apiVersion to the version the plugin speaks");
  }
  auto kind = stringMember(doc, "kind", "");
  if (!kind) return std::move(kind).error();
  if (*kind != "ExecCredential") return decodeError("it printed an object that is not kind ExecCredential");
  return {};
}

Result<ExecCredential> readStatus(const Json& status) {
  ExecCredential credential;
  std::string expiry;
  for (auto [key, into] : {std::pair{"token", &credential.token},
                           std::pair{"clientCertificateData", &credential.client_cert_pem},
                           std::pair{"clientKeyData", &credential.client_key_pem},
                           std::pair{"expirationTimestamp", &expiry}}) {
    auto value = stringMember(status, key, "status.");
    if (!value) return std::move(value).error();
    *into = std::move(*value);
  }
  if (credential.client_cert_pem.empty() != credential.client_key_pem.empty()) {
    return decodeError("status.clientCertificateData and status.clientKeyData must be given together");
  }
  if (credential.token.empty() && credential.client_cert_pem.empty()) {
    return decodeError("status has neither a token nor clientCertificateData and clientKeyData");
  }
  if (!expiry.empty()) {
    credential.expiry = parseRfc3339(expiry);
    if (!credential.expiry) return decodeError("status.expirationTimestamp '" + expiry + "' is not an RFC 3339 time");
  }
  return credential;
}

// Two digits or four at `pos`; nullopt when they are not all digits.
std::optional<int> digitsAt(std::string_view text, std::size_t pos, std::size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool charAt(std::string_view text, std::size_t pos, std::string_view allowed) {
  return pos < text.size() && allowed.find(text[pos]) != std::string_view::npos;
}

// The zone suffix from `pos` ("Z" or "+hh:mm"), as an offset from UTC; nullopt when malformed.
std::optional<std::chrono::minutes> zoneAt(std::string_view text, std::size_t pos) {
  if (charAt(text, pos, "Zz") && pos + 1 == text.size()) return std::chrono::minutes{0};
  if (!charAt(text, pos, "+-") || !charAt(text, pos + 3, ":") || pos + 6 != text.size()) return std::nullopt;
  const auto hours = digitsAt(text, pos + 1, 2);
  const auto minutes = digitsAt(text, pos + 4, 2);
  if (!hours || !minutes) return std::nullopt;
  const std::chrono::minutes offset = std::chrono::hours{*hours} + std::chrono::minutes{*minutes};
  return text[pos] == '-' ? -offset : offset;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parseRfc3339(std::string_view text) {
  const auto year = digitsAt(text, 0, 4);
  const auto month = digitsAt(text, 5, 2);
  const auto day = digitsAt(text, 8, 2);
  const auto hour = digitsAt(text, 11, 2);
  const auto minute = digitsAt(text, 14, 2);
  const auto second = digitsAt(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !charAt(text, 4, "-") || !charAt(text, 7, "-") ||
      !charAt(text, 10, "Tt") || !charAt(text, 13, ":") || !charAt(text, 16, ":")) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (charAt(text, pos, ".")) {
    // Fractions of a second are far below the expiry margin: skipped, not kept.
    const std::size_t start = ++pos;
    while (charAt(text, pos, "0123456789")) ++pos;
    if (pos == start) return std::nullopt;
  }
  const auto offset = zoneAt(text, pos);
  const std::chrono::year_month_day date{std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(*day)}};
  if (!offset || !date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  return std::chrono::sys_days{date} + std::chrono::hours{*hour} + std::chrono::minutes{*minute} +
         std::chrono::seconds{*second} - *offset;
}

Result<ExecCredential> parseExecCredential(std::string_view json, std::string_view api_version) {
  Json doc;
  try {
    doc = Json::parse(json);
  } catch (const Json::parse_error& e) {
    // e.what() quotes the text around the error, and that text may be a token.
    return decodeError("its output is not JSON (syntax error at byte " + std::to_string(e.byte) + ")");
  }
  if (!doc.is_object()) return decodeError("its output is not a JSON object");
  if (auto meta = checkTypeMeta(doc, api_version); !meta) return std::move(meta).error();
  const auto status = doc.find("status");
  if (status == doc.end() || !status->is_object()) {
    return decodeError("its ExecCredential has no status; a plugin must set status.token or "
                       "status.clientCertificateData and status.clientKeyData");
  }
  return readStatus(*status);
}

Result<ExecCredential> runExecPlugin(const ClientConfig& config, const ExecOptions& options) {
  if (!config.exec) return configError(config.source + ": no exec credential plugin is configured");
  std::vector<std::string> argv_strings{config.exec->command};
  argv_strings.insert(argv_strings.end(), config.exec->args.begin(), config.exec->args.end());
  std::vector<std::string> env_strings = pluginEnvironment(config);
  const std::vector<char*> argv = pointersInto(argv_strings);
  const std::vector<char*> envp = pointersInto(env_strings);
  auto out = makePipe();
  auto err = makePipe();
  if (!out || !err) {
    return failure(ErrorKind::kTransport, describe(config) + ": cannot create a pipe: " +
                                              std::generic_category().message(errno));
  }
  pid_t pid = 0;
  const int spawn_error = SpawnSetup(out->write.get(), err->write.get()).spawn(config.exec->command, argv.data(), envp.data(), pid);
  // Only the plugin may hold the write ends now, or the pipes would never report their end.
  out->write.reset();
  err->write.reset();
  if (spawn_error != 0) return spawnError(config, spawn_error);
  return interpret(collect(pid, out->read, err->read, options), config);
}

ExecCredentialSource::ExecCredentialSource(ClientConfig config, ExecOptions options)
    : config_(std::move(config)), options_(options) {}

bool ExecCredentialSource::fresh() const {
  if (!cached_) return false;
  return !cached_->expiry || options_.clock->wallNow() + options_.expiry_margin < *cached_->expiry;
}

Result<std::shared_ptr<const ExecCredential>> ExecCredentialSource::get() {
  // Held while the plugin runs: threads arriving meanwhile wait for its credential.
  std::lock_guard lock(mutex_);
  if (fresh()) return cached_;
  auto credential = runExecPlugin(config_, options_);
  if (!credential) return std::move(credential).error();
  cached_ = std::make_shared<const ExecCredential>(std::move(*credential));
  return cached_;
}

void ExecCredentialSource::invalidate(const std::shared_ptr<const ExecCredential>& rejected) {
  std::lock_guard lock(mutex_);
  if (cached_ == rejected) cached_.reset();
}

}  // namespace kube
