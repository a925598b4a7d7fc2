#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "kube/base64.h"

namespace kube {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kKubernetesServiceHost = "KUBERNETES_SERVICE_HOST";
constexpr std::string_view kKubernetesServicePort = "KUBERNETES_SERVICE_PORT";

Result<std::string> readFile(const fs::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return configError(std::string(what) + ": cannot read file " + path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string stringAt(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  if (!value || value.IsNull()) return {};
  if (!value.IsScalar()) throw YAML::Exception(value.Mark(), std::string(key) + " must be a string");
  return value.as<std::string>();
}

// Finds the entry called `name` in a kubeconfig list such as `clusters`, returning its body
// (the `cluster`/`user`/`context` map).
Result<YAML::Node> namedEntry(const YAML::Node& doc, const char* list, const char* body,
                              const std::string& name, std::string_view source) {
  const YAML::Node entries = doc[list];
  if (entries && !entries.IsSequence()) {
    return configError(std::string(source) + ": '" + list + "' must be a list");
  }
  if (entries) {
    for (const auto& entry : entries) {
      if (stringAt(entry, "name") != name) continue;
      const YAML::Node content = entry[body];
      if (!content || !content.IsMap()) {
        return configError(std::string(source) + ": " + list + "[name=" + name + "]." + body +
                           " is missing or not a map");
      }
      return content;
    }
  }
  return configError(std::string(source) + ": no entry named '" + name + "' in '" + list +
                     "'; fix the reference or add the entry");
}

// Either the inline `<key>-data` (base64) or the file named by `<key>`; empty if neither.
Result<std::string> dataOrFile(const YAML::Node& node, const std::string& key,
                               const std::string& field_path) {
  const std::string inline_data = stringAt(node, (key + "-data").c_str());
  if (!inline_data.empty()) {
    auto decoded = base64Decode(inline_data);
    if (!decoded) {
      return configError(field_path + "." + key + "-data: not valid base64; encode the PEM with `base64 -w0`");
    }
    return std::move(*decoded);
  }
  const std::string file = stringAt(node, key.c_str());
  if (file.empty()) return std::string{};
  return readFile(file, field_path + "." + key);
}

// kubectl resolves an exec command against the kubeconfig's folder only when it names a path
// (`./bin/token`); a bare name (`aws`) is looked up in PATH when the plugin runs.
void absolutizeExecCommand(YAML::Node user, const fs::path& base_dir) {
  if (!user || !user.IsMap()) return;
  YAML::Node exec = user["exec"];
  if (!exec || !exec.IsMap()) return;
  YAML::Node command = exec["command"];
  if (!command || !command.IsScalar()) return;
  const std::string text = command.as<std::string>();
  if (text.find('/') == std::string::npos) return;
  if (const fs::path path = text; path.is_relative()) command = (base_dir / path).string();
}

// Makes file references absolute against the kubeconfig's folder, so merged documents keep
// pointing at the right files.
void absolutizePaths(YAML::Node& doc, const fs::path& base_dir) {
  const auto fix = [&](YAML::Node body, const char* key) {
    if (!body || !body.IsMap()) return;
    YAML::Node value = body[key];
    if (!value || !value.IsScalar()) return;
    const fs::path path = value.as<std::string>();
    if (!path.empty() && path.is_relative()) value = (base_dir / path).string();
  };
  if (doc["clusters"].IsSequence()) {
    for (auto entry : doc["clusters"]) fix(entry["cluster"], "certificate-authority");
  }
  if (doc["users"].IsSequence()) {
    for (auto entry : doc["users"]) {
      fix(entry["user"], "client-certificate");
      fix(entry["user"], "client-key");
      fix(entry["user"], "tokenFile");
      absolutizeExecCommand(entry["user"], base_dir);
    }
  }
}

Result<void> applyCluster(const YAML::Node& cluster, const std::string& path, ClientConfig& config) {
  config.server = stringAt(cluster, "server");
  if (config.server.empty()) return configError(path + ".server is required (e.g. https://127.0.0.1:6443)");
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return configError(path + ".server '" + config.server + "' must start with https:// or http://");
  }
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  auto ca = dataOrFile(cluster, "certificate-authority", path);
  if (!ca) return std::move(ca).error();
  config.ca_pem = std::move(*ca);
  const YAML::Node insecure = cluster["insecure-skip-tls-verify"];
  config.insecure_skip_tls_verify = insecure && insecure.as<bool>();
  config.tls_server_name = stringAt(cluster, "tls-server-name");
  return {};
}

Result<std::vector<std::string>> stringList(const YAML::Node& node, const char* key, const std::string& path) {
  const YAML::Node list = node[key];
  std::vector<std::string> items;
  if (!list || list.IsNull()) return items;
  if (!list.IsSequence()) return configError(path + "." + key + " must be a list of strings");
  for (const auto& item : list) {
    if (!item.IsScalar()) return configError(path + "." + key + " must be a list of strings");
    items.push_back(item.as<std::string>());
  }
  return items;
}

Result<std::vector<ExecConfig::EnvVar>> execEnv(const YAML::Node& node, const std::string& path) {
  const YAML::Node list = node["env"];
  std::vector<ExecConfig::EnvVar> env;
  if (!list || list.IsNull()) return env;
  if (!list.IsSequence()) return configError(path + ".env must be a list of {name, value}");
  for (const auto& item : list) {
    if (!item.IsMap()) return configError(path + ".env must be a list of {name, value}");
    ExecConfig::EnvVar var{.name = stringAt(item, "name"), .value = stringAt(item, "value")};
    // A name with '=' would smuggle a different variable into the plugin's environment.
    if (var.name.empty() || var.name.find('=') != std::string::npos) {
      return configError(path + ".env: every entry needs a name without '='");
    }
    env.push_back(std::move(var));
  }
  return env;
}

Result<void> checkExecModes(const ExecConfig& exec, const std::string& path) {
  if (exec.api_version != kExecApiV1 && exec.api_version != kExecApiV1beta1) {
    const std::string given = exec.api_version.empty() ? "is required" : "'" + exec.api_version + "' is not supported";
    return configError(path + ".apiVersion " + given + "; use " + std::string(kExecApiV1) + " or " +
                       std::string(kExecApiV1beta1));
  }
  if (exec.interactive_mode == "Always") {
    return configError(path + ".interactiveMode: Always needs a terminal, and this client never has one; "
                       "set IfAvailable or Never if the plugin can obtain credentials without asking");
  }
  if (!exec.interactive_mode.empty() && exec.interactive_mode != "Never" && exec.interactive_mode != "IfAvailable") {
    return configError(path + ".interactiveMode '" + exec.interactive_mode + "' is not one of Never, IfAvailable, Always");
  }
  return {};
}

// Validated at load time, so that a plugin this client could never run fails here rather than on
// the first request. The plugin itself runs later, in the transport.
Result<ExecConfig> parseExec(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) return configError(path + " must be a map");
  ExecConfig exec{.command = stringAt(node, "command"),
                  .api_version = stringAt(node, "apiVersion"),
                  .interactive_mode = stringAt(node, "interactiveMode"),
                  .install_hint = stringAt(node, "installHint")};
  if (exec.command.empty()) return configError(path + ".command is required (the plugin to run)");
  if (auto checked = checkExecModes(exec, path); !checked) return std::move(checked).error();
  auto args = stringList(node, "args", path);
  if (!args) return std::move(args).error();
  exec.args = std::move(*args);
  auto env = execEnv(node, path);
  if (!env) return std::move(env).error();
  exec.env = std::move(*env);
  const YAML::Node cluster_info = node["provideClusterInfo"];
  exec.provide_cluster_info = cluster_info && !cluster_info.IsNull() && cluster_info.as<bool>();
  return exec;
}

Result<void> applyUser(const YAML::Node& user, const std::string& path, ClientConfig& config) {
  if (user["auth-provider"]) {
    return configError(path + ".auth-provider: auth-provider plugins were removed from Kubernetes; "
                       "use a client certificate or a token");
  }
  auto cert = dataOrFile(user, "client-certificate", path);
  if (!cert) return std::move(cert).error();
  auto key = dataOrFile(user, "client-key", path);
  if (!key) return std::move(key).error();
  if (cert->empty() != key->empty()) {
    return configError(path + ": client-certificate and client-key must be given together");
  }
  config.client_cert_pem = std::move(*cert);
  config.client_key_pem = std::move(*key);
  config.bearer_token = stringAt(user, "token");
  config.bearer_token_file = stringAt(user, "tokenFile");
  if (const YAML::Node exec = user["exec"]; exec && !exec.IsNull()) {
    auto parsed = parseExec(exec, path + ".exec");
    if (!parsed) return std::move(parsed).error();
    // client-go skips the plugin when the user also has a static credential; so do we.
    const bool has_static = !config.client_cert_pem.empty() || !config.bearer_token.empty() ||
                            !config.bearer_token_file.empty();
    if (!has_static) config.exec = std::move(*parsed);
  }
  return {};
}

Result<ClientConfig> resolve(const YAML::Node& doc, std::string_view context_override,
                             std::string_view source) {
  if (!doc.IsMap()) return configError(std::string(source) + ": not a kubeconfig (expected a YAML map)");
  std::string context_name(context_override);
  if (context_name.empty()) context_name = stringAt(doc, "current-context");
  if (context_name.empty()) {
    return configError(std::string(source) + ": no current-context is set; set one or choose a context");
  }
  auto context = namedEntry(doc, "contexts", "context", context_name, source);
  if (!context) return std::move(context).error();

  ClientConfig config;
  config.source = std::string(source) + " (context " + context_name + ")";
  const std::string cluster_name = stringAt(*context, "cluster");
  if (cluster_name.empty()) {
    return configError(std::string(source) + ": contexts[name=" + context_name + "].context.cluster is required");
  }
  auto cluster = namedEntry(doc, "clusters", "cluster", cluster_name, source);
  if (!cluster) return std::move(cluster).error();
  if (auto applied = applyCluster(*cluster, std::string(source) + ": clusters[name=" + cluster_name + "].cluster", config); !applied) {
    return std::move(applied).error();
  }
  const std::string user_name = stringAt(*context, "user");
  if (!user_name.empty()) {
    auto user = namedEntry(doc, "users", "user", user_name, source);
    if (!user) return std::move(user).error();
    if (auto applied = applyUser(*user, std::string(source) + ": users[name=" + user_name + "].user", config); !applied) {
      return std::move(applied).error();
    }
  }
  const std::string ns = stringAt(*context, "namespace");
  if (!ns.empty()) config.default_namespace = ns;
  return config;
}

Result<ClientConfig> resolveGuarded(const YAML::Node& doc, std::string_view context, std::string_view source) {
  try {
    return resolve(doc, context, source);
  } catch (const YAML::Exception& e) {
    return configError(std::string(source) + ": " + e.what());
  }
}

// First file wins for every named entry and for current-context, as kubectl merges $KUBECONFIG.
void mergeInto(YAML::Node& merged, const YAML::Node& doc) {
  for (const char* list : {"clusters", "users", "contexts"}) {
    std::set<std::string> seen;
    for (const auto& entry : merged[list]) seen.insert(stringAt(entry, "name"));
    for (const auto& entry : doc[list]) {
      if (seen.insert(stringAt(entry, "name")).second) merged[list].push_back(entry);
    }
  }
  if (stringAt(merged, "current-context").empty() && !stringAt(doc, "current-context").empty()) {
    merged["current-context"] = stringAt(doc, "current-context");
  }
}

std::string getEnv(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  return value ? value : "";
}

std::vector<std::string> splitPathList(const std::string& list) {
  std::vector<std::string> paths;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ':');) {
    if (!item.empty()) paths.push_back(item);
  }
  return paths;
}

}  // namespace

Result<ClientConfig> parseKubeconfig(std::string_view yaml, std::string_view base_dir,
                                     std::string_view context, std::string_view source_name) {
  try {
    YAML::Node doc = YAML::Load(std::string(yaml));
    if (doc.IsMap()) absolutizePaths(doc, fs::path(base_dir));
    return resolveGuarded(doc, context, source_name);
  } catch (const YAML::Exception& e) {
    return configError(std::string(source_name) + ": not valid YAML: " + e.what());
  }
}

Result<ClientConfig> loadKubeconfig(const KubeconfigOptions& options) {
  if (options.paths.empty()) return configError("no kubeconfig path given");
  YAML::Node merged(YAML::NodeType::Map);
  std::string sources;
  for (const auto& path : options.paths) {
    auto text = readFile(path, "kubeconfig");
    if (!text) {
      // kubectl skips missing files in a $KUBECONFIG list, but one explicit path must exist.
      if (options.paths.size() == 1) return std::move(text).error();
      continue;
    }
    try {
      YAML::Node doc = YAML::Load(*text);
      if (!doc.IsMap()) return configError("kubeconfig " + path + ": not a kubeconfig (expected a YAML map)");
      absolutizePaths(doc, fs::absolute(path).parent_path());
      mergeInto(merged, doc);
    } catch (const YAML::Exception& e) {
      return configError("kubeconfig " + path + ": not valid YAML: " + e.what());
    }
    sources += (sources.empty() ? "" : ":") + path;
  }
  if (sources.empty()) return configError("none of the kubeconfig files exists: check $KUBECONFIG");
  return resolveGuarded(merged, options.context, "kubeconfig " + sources);
}

Result<ClientConfig> loadInClusterConfig(const InClusterOptions& options) {
  const std::string host = getEnv(kKubernetesServiceHost);
  const std::string port = getEnv(kKubernetesServicePort);
  if (host.empty() || port.empty()) {
    return configError("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  }
  const fs::path dir = options.service_account_dir;
  auto ca = readFile(dir / "ca.crt", "in-cluster CA");
  if (!ca) return std::move(ca).error();
  if (!fs::exists(dir / "token")) {
    return configError("in-cluster token " + (dir / "token").string() +
                       " is missing: is automountServiceAccountToken off?");
  }
  ClientConfig config;
  // IPv6 service hosts need brackets in a URL.
  const bool ipv6 = host.find(':') != std::string::npos;
  config.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;
  config.ca_pem = std::move(*ca);
  config.bearer_token_file = (dir / "token").string();
  if (auto ns = readFile(dir / "namespace", "in-cluster namespace"); ns && !ns->empty()) {
    config.default_namespace = *ns;
  }
  config.source = "in-cluster service account";
  return config;
}

Result<ClientConfig> loadDefaultConfig(std::string_view explicit_path, std::string_view context) {
  if (!explicit_path.empty()) {
    return loadKubeconfig({.paths = {std::string(explicit_path)}, .context = std::string(context)});
  }
  if (const std::string list = getEnv("KUBECONFIG"); !list.empty()) {
    return loadKubeconfig({.paths = splitPathList(list), .context = std::string(context)});
  }
  if (!getEnv(kKubernetesServiceHost).empty()) return loadInClusterConfig();
  const std::string home = getEnv("HOME");
  if (!home.empty() && fs::exists(fs::path(home) / ".kube" / "config")) {
    return loadKubeconfig({.paths = {(fs::path(home) / ".kube" / "config").string()},
                           .context = std::string(context)});
  }
  return configError("no Kubernetes configuration found: pass --kubeconfig, set $KUBECONFIG, "
                     "run in a cluster, or create ~/.kube/config");
}

}  // namespace kube
