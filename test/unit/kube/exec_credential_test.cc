// Exec credential plugins: real plugins (small shell scripts in a temp dir), run for real.
#include "kube/exec_credential.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "kube/base64.h"
#include "kube/http.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace kube {
namespace {

using ::aphex::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kV1(kExecApiV1);
const std::string kV1beta1(kExecApiV1beta1);
const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";

// An ExecCredential as a plugin prints it, quoted for a shell script's here-document.
std::string credentialJson(const std::string& version, const std::string& token, const std::string& expiry = "") {
  std::string status = R"("token": ")" + token + "\"";
  if (!expiry.empty()) status += R"(, "expirationTimestamp": ")" + expiry + "\"";
  return R"({"apiVersion": ")" + version + R"(", "kind": "ExecCredential", "status": {)" + status + "}}";
}

std::string rfc3339(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::ostringstream text;
  text << std::put_time(&utc, "%Y-%m-%dT%H:%M:%SZ");
  return text.str();
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Counts the lines a plugin appended to its invocation log.
int runs(const TempDir& dir) {
  std::ifstream in(dir.path() / "runs");
  int count = 0;
  for (std::string line; std::getline(in, line);) ++count;
  return count;
}

class ExecPlugin : public ::testing::Test {
 protected:
  // Writes an executable shell script; `body` runs with RUNS naming the invocation log.
  std::string plugin(const std::string& body, const std::string& name = "plugin") {
    const std::string path = dir_.write(name, "#!/bin/sh\nRUNS='" + (dir_.path() / "runs").string() +
                                                  "'\necho run >> \"$RUNS\"\n" + body + "\n");
    ::chmod(path.c_str(), 0755);
    return path;
  }

  // A plugin that prints `json` on stdout and exits 0.
  std::string printing(const std::string& json) { return plugin("cat <<'EOF'\n" + json + "\nEOF"); }

  ClientConfig configFor(const std::string& command, const std::string& version = kV1) {
    ClientConfig config;
    config.server = "https://127.0.0.1:6443";
    config.ca_pem = kCaPem;
    config.source = "kubeconfig test (context c)";
    config.exec = ExecConfig{.command = command, .api_version = version, .install_hint = "Install it with: apt install plugin"};
    return config;
  }

  TempDir dir_;
};

TEST_F(ExecPlugin, ReadsTheTokenOfAV1Credential) {
  auto credential = runExecPlugin(configFor(printing(credentialJson(kV1, "v1-token"))));
  ASSERT_TRUE(credential) << credential.error().message;
  EXPECT_EQ(credential->token, "v1-token");
  EXPECT_FALSE(credential->expiry.has_value());
  EXPECT_TRUE(credential->client_cert_pem.empty());
}

TEST_F(ExecPlugin, ReadsTheTokenOfAV1beta1Credential) {
  auto credential = runExecPlugin(configFor(printing(credentialJson(kV1beta1, "beta-token")), kV1beta1));
  ASSERT_TRUE(credential) << credential.error().message;
  EXPECT_EQ(credential->token, "beta-token");
}

TEST_F(ExecPlugin, ReadsAClientCertificateAndKey) {
  const std::string json = R"({"apiVersion": ")" + kV1 + R"(", "kind": "ExecCredential", "status": {
    "clientCertificateData": "-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n",
    "clientKeyData": "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n",
    "expirationTimestamp": "2030-01-02T03:04:05Z"}})";
  auto credential = runExecPlugin(configFor(printing(json)));
  ASSERT_TRUE(credential) << credential.error().message;
  EXPECT_TRUE(credential->token.empty());
  EXPECT_EQ(credential->client_cert_pem, "-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(credential->client_key_pem, "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n");
  EXPECT_EQ(credential->expiry, parseRfc3339("2030-01-02T03:04:05Z"));
}

TEST_F(ExecPlugin, PassesArgumentsAndEnvironmentOnTopOfItsOwn) {
  ::setenv("APHEX_TEST_INHERITED", "from-parent", 1);
  ::setenv("APHEX_TEST_OVERRIDDEN", "from-parent", 1);
  ClientConfig config = configFor(plugin(
      "printf '%s|%s|%s|%s|%s' \"$1\" \"$2\" \"$APHEX_TEST_INHERITED\" \"$APHEX_TEST_OVERRIDDEN\" \"$GREETING\" > \"$RUNS.seen\"\n"
      "echo '" + credentialJson(kV1, "t") + "'"));
  config.exec->args = {"get-token", "--cluster=a b"};
  config.exec->env = {{.name = "GREETING", .value = "hello world"}, {.name = "APHEX_TEST_OVERRIDDEN", .value = "configured"}};
  auto credential = runExecPlugin(config);
  ::unsetenv("APHEX_TEST_INHERITED");
  ::unsetenv("APHEX_TEST_OVERRIDDEN");
  ASSERT_TRUE(credential) << credential.error().message;
  EXPECT_EQ(readFile(dir_.path() / "runs.seen"), "get-token|--cluster=a b|from-parent|configured|hello world");
}

TEST_F(ExecPlugin, StdinIsDevNull) {
  auto credential = runExecPlugin(configFor(
      plugin("readlink /proc/self/fd/0 > \"$RUNS.stdin\"\necho '" + credentialJson(kV1, "t") + "'")));
  ASSERT_TRUE(credential) << credential.error().message;
  EXPECT_EQ(readFile(dir_.path() / "runs.stdin"), "/dev/null\n");
}

TEST_F(ExecPlugin, ExecInfoSaysNotInteractiveAndLeavesTheClusterOutUnlessAsked) {
  const std::string script = "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$RUNS.info\"\necho '" + credentialJson(kV1, "t") + "'";
  ASSERT_TRUE(runExecPlugin(configFor(plugin(script))));
  const Json info = Json::parse(readFile(dir_.path() / "runs.info"));
  EXPECT_EQ(info["apiVersion"], kV1);
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_FALSE(info["spec"].contains("cluster"));
}

TEST_F(ExecPlugin, ExecInfoCarriesTheClusterWhenProvideClusterInfoIsSet) {
  const std::string script = "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$RUNS.info\"\necho '" + credentialJson(kV1beta1, "t") + "'";
  ClientConfig config = configFor(plugin(script), kV1beta1);
  config.exec->provide_cluster_info = true;
  config.tls_server_name = "api.internal";
  ASSERT_TRUE(runExecPlugin(config));
  const Json info = Json::parse(readFile(dir_.path() / "runs.info"));
  EXPECT_EQ(info["apiVersion"], kV1beta1);
  EXPECT_EQ(info["spec"]["interactive"], false);
  const Json& cluster = info["spec"]["cluster"];
  EXPECT_EQ(cluster["server"], "https://127.0.0.1:6443");
  EXPECT_EQ(cluster["certificate-authority-data"], base64Encode(kCaPem));
  EXPECT_EQ(cluster["insecure-skip-tls-verify"], false);
  EXPECT_EQ(cluster["tls-server-name"], "api.internal");
}

TEST_F(ExecPlugin, ARelativeCommandPathResolvesAgainstTheKubeconfigsFolder) {
  dir_.write("bin/get-token", "#!/bin/sh\necho '" + credentialJson(kV1, "relative") + "'\n");
  ::chmod((dir_.path() / "bin/get-token").c_str(), 0755);
  const std::string path = dir_.write("config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://10.0.0.1"}}]
users: [{name: u, user: {exec: {command: ./bin/get-token, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  auto config = loadKubeconfig({.paths = {path}, .context = {}});
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_TRUE(config->exec.has_value());
  EXPECT_TRUE(std::filesystem::path(config->exec->command).is_absolute()) << config->exec->command;
  auto credential = runExecPlugin(*config);
  ASSERT_TRUE(credential) << credential.error().message;
  EXPECT_EQ(credential->token, "relative");
}

TEST_F(ExecPlugin, ABareCommandNameIsLookedUpInPath) {
  plugin("echo '" + credentialJson(kV1, "from-path") + "'", "bin/aphex-test-plugin");
  const std::string saved_path = std::getenv("PATH");
  ::setenv("PATH", ((dir_.path() / "bin").string() + ":" + saved_path).c_str(), 1);
  auto parsed = parseKubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://10.0.0.1"}}]
users: [{name: u, user: {exec: {command: aphex-test-plugin, apiVersion: client.authentication.k8s.io/v1}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)", dir_.path().string(), "", "kubeconfig test");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->exec->command, "aphex-test-plugin");  // not made relative to the kubeconfig
  auto credential = runExecPlugin(*parsed);
  ::setenv("PATH", saved_path.c_str(), 1);
  ASSERT_TRUE(credential) << credential.error().message;
  EXPECT_EQ(credential->token, "from-path");
}

TEST_F(ExecPlugin, AMissingCommandSaysSoWithTheInstallHint) {
  auto by_path = runExecPlugin(configFor((dir_.path() / "no-such-plugin").string()));
  ASSERT_FALSE(by_path);
  EXPECT_EQ(by_path.error().kind, ErrorKind::kInvalidConfig);
  EXPECT_THAT(by_path.error().message, HasSubstr("not found"));
  EXPECT_THAT(by_path.error().message, HasSubstr("Install it with: apt install plugin"));
  EXPECT_THAT(by_path.error().message, HasSubstr("kubeconfig test (context c)"));

  auto by_name = runExecPlugin(configFor("aphex-no-such-plugin"));
  ASSERT_FALSE(by_name);
  EXPECT_THAT(by_name.error().message, HasSubstr("\"aphex-no-such-plugin\""));
  EXPECT_THAT(by_name.error().message, HasSubstr("not found in PATH"));
  EXPECT_THAT(by_name.error().message, HasSubstr("Install it with"));
}

TEST_F(ExecPlugin, AFailingPluginReportsItsStderrAndTheHintButNeverItsStdout) {
  auto credential = runExecPlugin(configFor(plugin(
      "echo '" + credentialJson(kV1, "SECRET-TOKEN") + "'\n"
      "echo 'lots of noise first' >&2\necho 'identity provider unreachable' >&2\nexit 3")));
  ASSERT_FALSE(credential);
  EXPECT_EQ(credential.error().kind, ErrorKind::kTransport);
  EXPECT_THAT(credential.error().message, HasSubstr("exited with status 3"));
  EXPECT_THAT(credential.error().message, HasSubstr("identity provider unreachable"));
  EXPECT_THAT(credential.error().message, HasSubstr("Install it with"));
  EXPECT_THAT(credential.error().message, Not(HasSubstr("SECRET-TOKEN")));
}

TEST_F(ExecPlugin, QuotesOnlyTheTailOfALongStderr) {
  auto credential = runExecPlugin(configFor(plugin(
      "i=0; while [ $i -lt 500 ]; do echo \"line $i of chatter\" >&2; i=$((i+1)); done\n"
      "echo 'the actual reason' >&2\nexit 1")));
  ASSERT_FALSE(credential);
  EXPECT_THAT(credential.error().message, HasSubstr("the actual reason"));
  EXPECT_THAT(credential.error().message, Not(HasSubstr("line 0 of chatter")));
  EXPECT_LT(credential.error().message.size(), 2500U);
}

TEST_F(ExecPlugin, MalformedJsonIsADecodeErrorThatQuotesNothing) {
  auto credential = runExecPlugin(configFor(printing(R"({"apiVersion": "x", "status": {"token": "SECRET-TOKEN)")));
  ASSERT_FALSE(credential);
  EXPECT_EQ(credential.error().kind, ErrorKind::kDecode);
  EXPECT_THAT(credential.error().message, HasSubstr("not JSON"));
  EXPECT_THAT(credential.error().message, Not(HasSubstr("SECRET-TOKEN")));
}

TEST_F(ExecPlugin, AnotherApiVersionThanTheOneAskedForIsRefused) {
  auto credential = runExecPlugin(configFor(printing(credentialJson(kV1beta1, "SECRET-TOKEN")), kV1));
  ASSERT_FALSE(credential);
  EXPECT_EQ(credential.error().kind, ErrorKind::kDecode);
  EXPECT_THAT(credential.error().message, HasSubstr("printed '" + kV1beta1 + "' but was asked for '" + kV1 + "'"));
  EXPECT_THAT(credential.error().message, Not(HasSubstr("SECRET-TOKEN")));
}

struct BadOutput {
  std::string name;
  std::string json;
  std::string expected_message;
};

void PrintTo(const BadOutput& bad, std::ostream* out) { *out << bad.name; }

class ExecCredentialErrors : public ::testing::TestWithParam<BadOutput> {};

TEST_P(ExecCredentialErrors, NameTheProblem) {
  auto credential = parseExecCredential(GetParam().json, kExecApiV1);
  ASSERT_FALSE(credential);
  EXPECT_EQ(credential.error().kind, ErrorKind::kDecode);
  EXPECT_THAT(credential.error().message, HasSubstr(GetParam().expected_message));
  EXPECT_THAT(credential.error().message, Not(HasSubstr("SECRET")));
}

const std::string kMeta = R"("apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential")";

INSTANTIATE_TEST_SUITE_P(
    Malformed, ExecCredentialErrors,
    ::testing::Values(
        BadOutput{"Empty", "", "not JSON"},
        BadOutput{"NotAnObject", R"(["SECRET"])", "not a JSON object"},
        BadOutput{"NoApiVersion", R"({"kind": "ExecCredential", "status": {"token": "SECRET"}})", "printed no apiVersion"},
        BadOutput{"ForeignApiVersion", R"({"apiVersion": "SECRET", "status": {"token": "SECRET"}})", "an apiVersion of another group"},
        BadOutput{"WrongKind", R"({"apiVersion": "client.authentication.k8s.io/v1", "kind": "Secret"})", "not kind ExecCredential"},
        BadOutput{"NoStatus", "{" + kMeta + "}", "has no status"},
        BadOutput{"EmptyStatus", "{" + kMeta + R"(, "status": {}})", "neither a token nor clientCertificateData"},
        BadOutput{"TokenNotAString", "{" + kMeta + R"(, "status": {"token": 42}})", "status.token must be a string"},
        BadOutput{"CertificateWithoutKey", "{" + kMeta + R"(, "status": {"clientCertificateData": "SECRET"}})",
                  "must be given together"},
        BadOutput{"BadExpiry", "{" + kMeta + R"(, "status": {"token": "SECRET", "expirationTimestamp": "tomorrow"}})",
                  "'tomorrow' is not an RFC 3339 time"}),
    [](const ::testing::TestParamInfo<BadOutput>& test) { return test.param.name; });

TEST_F(ExecPlugin, APluginThatHangsIsKilledWithEverythingItStarted) {
  const std::string script = "sleep 30 &\necho $! > \"$RUNS.child\"\nwait";
  const auto started = std::chrono::steady_clock::now();
  auto credential = runExecPlugin(configFor(plugin(script)), {.timeout = 300ms});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ASSERT_FALSE(credential);
  EXPECT_EQ(credential.error().kind, ErrorKind::kTransport);
  EXPECT_THAT(credential.error().message, HasSubstr("did not finish within 300ms"));
  // The plugin's own child went with it: gone, or a zombie waiting for init to reap it.
  const std::string child = readFile(dir_.path() / "runs.child");
  ASSERT_FALSE(child.empty());
  const pid_t pid = std::stoi(child);
  bool dead = false;
  for (int i = 0; i < 200 && !dead; ++i) {
    const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    dead = stat.empty() || stat.find(") Z ") != std::string::npos;
    if (!dead) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(dead);
}

TEST_F(ExecPlugin, OutputBeyondTheBoundIsAnError) {
  auto credential = runExecPlugin(configFor(plugin("head -c 5000 /dev/zero")), {.max_output = 1000});
  ASSERT_FALSE(credential);
  EXPECT_THAT(credential.error().message, HasSubstr("printed more than 1000 bytes"));
}

TEST_F(ExecPlugin, ASourceRunsThePluginOnceWhileTheCredentialHasNoExpiry) {
  ExecCredentialSource source(configFor(printing(credentialJson(kV1, "cached"))));
  auto first = source.get();
  auto second = source.get();
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ((*second)->token, "cached");
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(runs(dir_), 1);
}

TEST_F(ExecPlugin, ASourceKeepsACredentialUntilShortlyBeforeItExpires) {
  const auto now = std::chrono::system_clock::now();
  ExecCredentialSource lasting(configFor(printing(credentialJson(kV1, "t", rfc3339(now + 1h)))));
  ASSERT_TRUE(lasting.get());
  ASSERT_TRUE(lasting.get());
  EXPECT_EQ(runs(dir_), 1);

  std::filesystem::remove(dir_.path() / "runs");
  // Within the margin: treated as expired already, so every get() runs the plugin.
  ExecCredentialSource expiring(configFor(printing(credentialJson(kV1, "t", rfc3339(now + 5s)))),
                                {.expiry_margin = 10s});
  ASSERT_TRUE(expiring.get());
  ASSERT_TRUE(expiring.get());
  EXPECT_EQ(runs(dir_), 2);
}

TEST_F(ExecPlugin, ASourceJudgesExpiryOnItsInjectedClock) {
  testing::FakeClock clock;
  ExecCredentialSource source(configFor(printing(credentialJson(kV1, "t", rfc3339(clock.wallNow() + 1h)))),
                              {.expiry_margin = 10s, .clock = &clock});
  ASSERT_TRUE(source.get());
  clock.advance(1h - 11s);
  ASSERT_TRUE(source.get());
  EXPECT_EQ(runs(dir_), 1) << "still outside the margin";
  clock.advance(1s);
  ASSERT_TRUE(source.get());
  EXPECT_EQ(runs(dir_), 2) << "within the margin: renewed";
}

TEST_F(ExecPlugin, ASourceRerunsThePluginForAnExpiredCredential) {
  ExecCredentialSource source(configFor(printing(credentialJson(kV1, "t", "2001-01-01T00:00:00Z"))));
  auto first = source.get();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ((*first)->token, "t");  // still handed out: the server decides whether it is too old
  ASSERT_TRUE(source.get());
  EXPECT_EQ(runs(dir_), 2);
}

TEST_F(ExecPlugin, InvalidatingTheCurrentCredentialRerunsThePluginOnce) {
  ExecCredentialSource source(configFor(printing(credentialJson(kV1, "t"))));
  auto rejected = source.get();
  ASSERT_TRUE(rejected);
  source.invalidate(*rejected);
  auto renewed = source.get();
  ASSERT_TRUE(renewed);
  EXPECT_EQ(runs(dir_), 2);
  // A second 401 for the old credential (from a request that was already under way) changes nothing.
  source.invalidate(*rejected);
  ASSERT_TRUE(source.get());
  EXPECT_EQ(runs(dir_), 2);
}

TEST_F(ExecPlugin, ASourceDoesNotKeepFailures) {
  ExecCredentialSource source(configFor(plugin("exit 1")));
  EXPECT_FALSE(source.get());
  EXPECT_FALSE(source.get());
  EXPECT_EQ(runs(dir_), 2);
}

TEST(Rfc3339, ReadsKubernetesTimes) {
  using std::chrono::sys_days;
  const auto midnight = sys_days{std::chrono::year{2024} / 5 / 1};
  EXPECT_EQ(parseRfc3339("2024-05-01T00:00:00Z"), midnight);
  EXPECT_EQ(parseRfc3339("2024-05-01T10:20:30.123456789Z"), midnight + 10h + 20min + 30s);
  EXPECT_EQ(parseRfc3339("2024-05-01T02:00:00+02:00"), midnight);
  EXPECT_EQ(parseRfc3339("2024-04-30T23:30:00-00:30"), midnight);
  for (const char* bad : {"", "2024-05-01", "2024-05-01T00:00:00", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z",
                          "2024-05-01T24:00:00Z", "2024-05-01T00:00:00.Z", "2024-05-01T00:00:00Zjunk",
                          "2024-05-01T00:00:00+0200", "2024/05/01T00:00:00Z"}) {
    EXPECT_FALSE(parseRfc3339(bad).has_value()) << bad;
  }
}

// Kubeconfig's side: what loading accepts and refuses.
std::string kubeconfigWithExec(const std::string& exec, const std::string& extra_user_fields = "") {
  return "current-context: c\n"
         "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
         "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "users: [{name: u, user: {" + extra_user_fields + "exec: " + exec + "}}]\n";
}

TEST(ExecKubeconfig, ReadsEveryField) {
  auto config = parseKubeconfig(kubeconfigWithExec(R"({command: aws, args: [eks, get-token], apiVersion: client.authentication.k8s.io/v1beta1,
      env: [{name: AWS_PROFILE, value: prod}], interactiveMode: IfAvailable, installHint: "brew install awscli",
      provideClusterInfo: true})"), "/base", "", "kubeconfig test");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_TRUE(config->exec.has_value());
  const ExecConfig& exec = *config->exec;
  EXPECT_EQ(exec.command, "aws");
  EXPECT_EQ(exec.args, (std::vector<std::string>{"eks", "get-token"}));
  ASSERT_EQ(exec.env.size(), 1U);
  EXPECT_EQ(exec.env[0].name, "AWS_PROFILE");
  EXPECT_EQ(exec.env[0].value, "prod");
  EXPECT_EQ(exec.api_version, kV1beta1);
  EXPECT_EQ(exec.interactive_mode, "IfAvailable");
  EXPECT_EQ(exec.install_hint, "brew install awscli");
  EXPECT_TRUE(exec.provide_cluster_info);
}

TEST(ExecKubeconfig, InteractiveModeAlwaysIsRefusedAtLoadTime) {
  auto config = parseKubeconfig(
      kubeconfigWithExec("{command: login, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Always}"), "/base",
      "", "kubeconfig test");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().kind, ErrorKind::kInvalidConfig);
  EXPECT_THAT(config.error().message, HasSubstr("users[name=u].user.exec.interactiveMode: Always needs a terminal"));
  EXPECT_THAT(config.error().message, HasSubstr("set IfAvailable or Never"));
}

TEST(ExecKubeconfig, AStaticTokenWinsOverThePluginAsInClientGo) {
  auto config = parseKubeconfig(
      kubeconfigWithExec("{command: aws, apiVersion: client.authentication.k8s.io/v1}", "token: static, "), "/base", "",
      "kubeconfig test");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->bearer_token, "static");
  EXPECT_FALSE(config->exec.has_value());
}

// The transport: a 401 for a plugin's token runs the plugin again and repeats the request once.
class ExecTransport : public ExecPlugin {
 protected:
  void SetUp() override {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    server_.Get("/api", [this](const httplib::Request& request, httplib::Response& response) {
      ++requests_;
      const bool accepted = request.get_header_value("Authorization") == "Bearer " + accepted_token_;
      response.status = accepted ? 200 : 401;
      response.set_content(accepted ? "{}" : R"({"kind":"Status","code":401})", "application/json");
    });
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op for a server that is not running yet, which would leave TearDown waiting.
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(2ms);
    ASSERT_TRUE(server_.is_running());
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // The first run prints token "first", later runs "second".
  std::unique_ptr<HttpTransport> transport() {
    const std::string script = "if [ \"$(wc -l < \"$RUNS\")\" -eq 1 ]; then token=first; else token=second; fi\n"
                               "echo '{\"apiVersion\": \"" + kV1 + "\", \"kind\": \"ExecCredential\", "
                               "\"status\": {\"token\": \"'$token'\"}}'";
    ClientConfig config = configFor(plugin(script));
    config.server = "http://127.0.0.1:" + std::to_string(port_);
    auto created = HttpTransport::create(config);
    EXPECT_TRUE(created);
    return std::move(created).value();
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::string accepted_token_ = "second";
};

TEST_F(ExecTransport, A401RunsThePluginAgainAndRepeatsTheRequestOnce) {
  auto response = transport()->send({.path = "/api"});
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(requests_.load(), 2);
  EXPECT_EQ(runs(dir_), 2);
}

TEST_F(ExecTransport, ARenewedCredentialThatIsRefusedToo401sWithoutLooping) {
  accepted_token_ = "never";
  auto response = transport()->send({.path = "/api"});
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(requests_.load(), 2);
  EXPECT_EQ(runs(dir_), 2);
}

TEST_F(ExecTransport, AnAcceptedCredentialIsReusedAcrossRequests) {
  accepted_token_ = "first";
  auto client = transport();
  ASSERT_TRUE(client->send({.path = "/api"}));
  auto response = client->send({.path = "/api"});
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(runs(dir_), 1);
}

TEST_F(ExecTransport, APluginFailureIsTheRequestsError) {
  ClientConfig config = configFor(plugin("echo 'no session, run login first' >&2\nexit 2"));
  config.server = "http://127.0.0.1:" + std::to_string(port_);
  auto created = HttpTransport::create(config);
  ASSERT_TRUE(created);
  auto response = (*created)->send({.path = "/api"});
  ASSERT_FALSE(response);
  EXPECT_THAT(response.error().message, HasSubstr("no session, run login first"));
  EXPECT_EQ(requests_.load(), 0);
}

}  // namespace
}  // namespace kube
