#include "kube/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "kube/base64.h"
#include "support/temp_dir.h"

namespace kube {
namespace {

using ::aphex::testing::TempDir;
using ::testing::HasSubstr;

const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
const std::string kCertPem = "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n";
const std::string kKeyPem = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";

std::string b64(const std::string& text) { return base64Encode(text); }

// A kubeconfig with two contexts: "admin" (inline certificates) and "robot" (a token).
std::string twoContexts() {
  return R"(apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: )" + b64(kCaPem) + R"(
- name: remote
  cluster:
    server: https://remote.example:443
    insecure-skip-tls-verify: true
    tls-server-name: api.internal
users:
- name: admin
  user:
    client-certificate-data: )" + b64(kCertPem) + R"(
    client-key-data: )" + b64(kKeyPem) + R"(
- name: robot
  user:
    token: s3cr3t
contexts:
- name: admin
  context: {cluster: local, user: admin, namespace: team-a}
- name: robot
  context: {cluster: remote, user: robot}
)";
}

Result<ClientConfig> parse(const std::string& yaml, std::string_view context = {}) {
  return parseKubeconfig(yaml, "/nonexistent", context, "kubeconfig test");
}

TEST(Kubeconfig, CurrentContextWithInlineCertificates) {
  auto config = parse(twoContexts());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");  // trailing slash dropped
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->client_key_pem, kKeyPem);
  EXPECT_EQ(config->default_namespace, "team-a");
  EXPECT_FALSE(config->insecure_skip_tls_verify);
  EXPECT_THAT(config->source, HasSubstr("context admin"));
}

TEST(Kubeconfig, ExplicitContextOverridesCurrentContext) {
  auto config = parse(twoContexts(), "robot");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://remote.example:443");
  EXPECT_EQ(config->bearer_token, "s3cr3t");
  EXPECT_TRUE(config->insecure_skip_tls_verify);
  EXPECT_EQ(config->tls_server_name, "api.internal");
  EXPECT_EQ(config->default_namespace, "default");
  EXPECT_TRUE(config->client_cert_pem.empty());
}

TEST(Kubeconfig, RelativeFilesResolveAgainstTheKubeconfigsFolder) {
  TempDir dir;
  dir.write("pki/ca.crt", kCaPem);
  dir.write("pki/user.crt", kCertPem);
  dir.write("pki/user.key", kKeyPem);
  dir.write("token", "file-token\n");
  const std::string path = dir.write("config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://10.0.0.1", certificate-authority: pki/ca.crt}}]
users: [{name: u, user: {client-certificate: pki/user.crt, client-key: pki/user.key, tokenFile: token}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  auto config = loadKubeconfig({.paths = {path}, .context = {}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->bearer_token_file, (dir.path() / "token").string());
}

TEST(Kubeconfig, MergesAPathListFirstFileWinning) {
  TempDir dir;
  const std::string first = dir.write("first", R"(
clusters: [{name: k, cluster: {server: "https://first"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  const std::string second = dir.write("second", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://second"}}, {name: other, cluster: {server: "https://other"}}]
contexts: [{name: c, context: {cluster: other}}, {name: d, context: {cluster: other}}]
)");
  auto config = loadKubeconfig({.paths = {first, (dir.path() / "missing").string(), second}, .context = {}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://first");  // context c and cluster k both come from `first`
  auto other = loadKubeconfig({.paths = {first, second}, .context = "d"});
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(other->server, "https://other");
}

struct BadKubeconfig {
  std::string name;
  std::string yaml;
  std::string expected_message;
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const BadKubeconfig& bad, std::ostream* out) { *out << bad.name; }

// A valid cluster and context whose user u has the given `exec`.
std::string execUser(const std::string& exec) {
  return "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {exec: " + exec + "}}]\n";
}

class KubeconfigErrors : public ::testing::TestWithParam<BadKubeconfig> {};

TEST_P(KubeconfigErrors, NameTheProblemAndNeverThrow) {
  auto config = parse(GetParam().yaml);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().kind, ErrorKind::kInvalidConfig);
  EXPECT_THAT(config.error().message, HasSubstr(GetParam().expected_message));
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, KubeconfigErrors,
    ::testing::Values(
        BadKubeconfig{"NotYaml", "clusters: [unclosed", "not valid YAML"},
        BadKubeconfig{"NotAMap", "- a\n- b\n", "expected a YAML map"},
        BadKubeconfig{"Empty", "", "expected a YAML map"},
        BadKubeconfig{"NoCurrentContext", "clusters: []\n", "no current-context"},
        BadKubeconfig{"MissingContext", "current-context: x\ncontexts: []\n", "no entry named 'x' in 'contexts'"},
        BadKubeconfig{"ListIsAMap", "current-context: x\ncontexts: {x: 1}\n", "'contexts' must be a list"},
        BadKubeconfig{"ContextWithoutCluster", "current-context: x\ncontexts: [{name: x, context: {user: u}}]\n",
                      "contexts[name=x].context.cluster is required"},
        BadKubeconfig{"MissingCluster", "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n",
                      "no entry named 'k' in 'clusters'"},
        BadKubeconfig{"NoServer", "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
                                  "clusters: [{name: k, cluster: {}}]\n",
                      "clusters[name=k].cluster.server is required"},
        BadKubeconfig{"ServerWithoutScheme", "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
                                             "clusters: [{name: k, cluster: {server: 'host:6443'}}]\n",
                      "must start with https://"},
        BadKubeconfig{"BadBase64", "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
                                   "clusters: [{name: k, cluster: {server: 'https://h', certificate-authority-data: '@@'}}]\n",
                      "clusters[name=k].cluster.certificate-authority-data: not valid base64"},
        BadKubeconfig{"MissingCaFile", "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
                                       "clusters: [{name: k, cluster: {server: 'https://h', certificate-authority: ca.crt}}]\n",
                      "certificate-authority: cannot read file /nonexistent/ca.crt"},
        BadKubeconfig{"CertWithoutKey", "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
                                        "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
                                        "users: [{name: u, user: {client-certificate-data: 'Zm9v'}}]\n",
                      "client-certificate and client-key must be given together"},
        BadKubeconfig{"ExecWithoutApiVersion", execUser("{command: aws}"),
                      "users[name=u].user.exec.apiVersion is required; use client.authentication.k8s.io/v1 or "
                      "client.authentication.k8s.io/v1beta1"},
        BadKubeconfig{"ExecRemovedApiVersion", execUser("{command: aws, apiVersion: client.authentication.k8s.io/v1alpha1}"),
                      "users[name=u].user.exec.apiVersion 'client.authentication.k8s.io/v1alpha1' is not supported; "
                      "use client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1"},
        BadKubeconfig{"ExecWithoutCommand", execUser("{apiVersion: client.authentication.k8s.io/v1}"),
                      "users[name=u].user.exec.command is required"},
        BadKubeconfig{"ExecInteractiveAlways", execUser("{command: aws, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Always}"),
                      "users[name=u].user.exec.interactiveMode: Always needs a terminal"},
        BadKubeconfig{"ExecUnknownInteractiveMode", execUser("{command: aws, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Sometimes}"),
                      "users[name=u].user.exec.interactiveMode 'Sometimes' is not one of Never, IfAvailable, Always"},
        BadKubeconfig{"ExecArgsNotAList", execUser("{command: aws, apiVersion: client.authentication.k8s.io/v1, args: eks}"),
                      "users[name=u].user.exec.args must be a list of strings"},
        BadKubeconfig{"ExecEnvWithoutName", execUser("{command: aws, apiVersion: client.authentication.k8s.io/v1, env: [{value: x}]}"),
                      "users[name=u].user.exec.env: every entry needs a name"},
        BadKubeconfig{"ExecNotAMap", execUser("aws"), "users[name=u].user.exec must be a map"},
        BadKubeconfig{"WrongType", "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
                                   "clusters: [{name: k, cluster: {server: 'https://h', insecure-skip-tls-verify: maybe}}]\n",
                      "bad conversion"},
        BadKubeconfig{"ServerIsAList", "current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
                                       "clusters: [{name: k, cluster: {server: [a]}}]\n",
                      "server must be a string"}),
    [](const ::testing::TestParamInfo<BadKubeconfig>& test) { return test.param.name; });

TEST(Kubeconfig, MissingExplicitFileIsAnError) {
  auto config = loadKubeconfig({.paths = {"/nonexistent/kubeconfig"}, .context = {}});
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message, HasSubstr("cannot read file /nonexistent/kubeconfig"));
}

class InClusterConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  }
  void TearDown() override {
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
  }
  TempDir dir_;
};

TEST_F(InClusterConfig, ReadsTheServiceAccountFolder) {
  dir_.write("ca.crt", kCaPem);
  dir_.write("token", "projected");
  dir_.write("namespace", "platform-system");
  auto config = loadInClusterConfig({.service_account_dir = dir_.path().string()});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server, "https://[fd00::1]:443");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->bearer_token_file, (dir_.path() / "token").string());
  EXPECT_EQ(config->default_namespace, "platform-system");
}

TEST_F(InClusterConfig, MissingTokenSaysWhy) {
  dir_.write("ca.crt", kCaPem);
  auto config = loadInClusterConfig({.service_account_dir = dir_.path().string()});
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message, HasSubstr("automountServiceAccountToken"));
}

TEST(InClusterConfigOutsideACluster, SaysSo) {
  unsetenv("KUBERNETES_SERVICE_HOST");
  auto config = loadInClusterConfig();
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message, HasSubstr("not running in a cluster"));
}

}  // namespace
}  // namespace kube
