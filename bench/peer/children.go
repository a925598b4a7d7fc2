package main

// What an Organization and a RepoBinding should have, as pure functions of the object and the
// configuration: the same objects, names, labels, annotations and content as Aphex's
// src/aphex/organization/children.cc and src/aphex/repobinding/children.cc.

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Names of what an Organization owns.
const (
	webhookSecretName           = "github-webhook-secret"
	webhookSecretKey            = "secret"
	eventListenerName           = "github-listener"
	eventListenerServiceAccount = "eventlistener"
	eventListenerClusterRole    = "aphex-eventlistener"
	esoServiceAccount           = "eso-secrets-reader"
	orgSecretsName              = "org-secrets"
	adminClusterRole            = "aphex-organization-admin"
	cloudflaredName             = "cloudflared"
	cloudflaredTokenSecret      = "cloudflared-token"
	adminComponent              = "org-admin"
	rotationAnnotation          = "aphex.io/rotation"
	rotateWebhookAnnotation     = "aphex.io/rotate-webhook-secret"
	listenerPort                = 8080
	interceptorPort             = 8443
	tektonNamespace             = "tekton-pipelines"
	orgNetworkPolicyName        = "org-isolation"
	orgQuotaName                = "org-quota"
	rbacGroup                   = "rbac.authorization.k8s.io"
)

// Names of what a RepoBinding owns.
const (
	runnerServiceAccount     = "pipeline-runner"
	runnerBinding            = "pipeline-runner"
	runnerClusterRole        = "aphex-pipeline-runner"
	quotaName                = "tenant-quota"
	limitRangeName           = "tenant-limits"
	networkPolicyName        = "tenant-isolation"
	terraformBackendSecret   = "terraform-backend-config"
	terraformBackendKey      = "backend.tf"
	impersonationBinding     = "aphex-eventlistener-impersonation"
	impersonatorClusterRole  = "aphex-pipeline-runner-impersonator"
	inClusterServer          = "https://kubernetes.default.svc"
	appProjectPrefix         = "pipeline-"
	runNamePrefixLength      = 26
	sourceWorkspace          = "source"
	sourceWorkspaceSize      = "1Gi"
	defaultPipelinePodPolicy = "restricted"
)

var deployableKinds = [][2]string{
	{"", "ConfigMap"}, {"", "Secret"}, {"", "Service"}, {"", "ServiceAccount"}, {"", "PersistentVolumeClaim"},
	{"apps", "Deployment"}, {"apps", "StatefulSet"}, {"apps", "DaemonSet"}, {"batch", "Job"}, {"batch", "CronJob"},
	{"autoscaling", "HorizontalPodAutoscaler"}, {"policy", "PodDisruptionBudget"},
	{"external-secrets.io", "ExternalSecret"}, {"tekton.dev", "Task"},
}

var contractParams = []string{"git-url", "git-revision", "repo-full-name", "event-type", "event-id", "triggered-at", "org-name"}

var deniedEgressRanges = []string{
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
}

// tenantLimits: the guardrails of every pipeline namespace and organization namespace, with
// Aphex's defaults (src/aphex/include/aphex/config.h).
type tenantLimits struct {
	requestsCPU, requestsMemory, limitsCPU, limitsMemory, requestsStorage        string
	pods, persistentVolumeClaims, configMaps, secrets                            int
	orgRepoBindings, orgSecrets, orgConfigMaps                                   int
	defaultRequestCPU, defaultRequestMemory, defaultLimitCPU, defaultLimitMemory string
	maxCPU, maxMemory                                                            string
}

func defaultTenantLimits() tenantLimits {
	return tenantLimits{
		requestsCPU: "4", requestsMemory: "8Gi", limitsCPU: "8", limitsMemory: "16Gi", requestsStorage: "50Gi",
		pods: 50, persistentVolumeClaims: 20, configMaps: 100, secrets: 100,
		orgRepoBindings: 200, orgSecrets: 20, orgConfigMaps: 20,
		defaultRequestCPU: "100m", defaultRequestMemory: "128Mi", defaultLimitCPU: "500m", defaultLimitMemory: "512Mi",
		maxCPU: "2", maxMemory: "4Gi",
	}
}

type controllerConfig struct {
	platformNamespace string
	argocdNamespace   string
	egressDeny        []string
	limits            tenantLimits
	objectSelector    string
}

type apiServerEndpoint struct {
	ip   string
	port int64
}

// ---- shared -----------------------------------------------------------------------------------

func roleRef(kind, name string) obj {
	return obj{"apiGroup": rbacGroup, "kind": kind, "name": name}
}

func serviceAccountSubject(name, ns string) obj {
	return obj{"kind": "ServiceAccount", "name": name, "namespace": ns}
}

func rule(groups, resources, verbs []string) obj {
	return obj{"apiGroups": strs(groups...), "resources": strs(resources...), "verbs": strs(verbs...)}
}

func dnsEgress() obj {
	return obj{
		"to":    list{obj{"namespaceSelector": obj{"matchLabels": obj{"kubernetes.io/metadata.name": "kube-system"}}}},
		"ports": list{obj{"protocol": "UDP", "port": 53}, obj{"protocol": "TCP", "port": 53}},
	}
}

func internetEgress(siteDenied []string) obj {
	except := strs(deniedEgressRanges...)
	except = append(except, strs(siteDenied...)...)
	return obj{"to": list{obj{"ipBlock": obj{"cidr": "0.0.0.0/0", "except": except}}}}
}

func apiServerEgress(egress list, endpoints []apiServerEndpoint) list {
	for _, e := range endpoints {
		cidr := e.ip + "/32"
		if strings.Contains(e.ip, ":") {
			cidr = e.ip + "/128"
		}
		egress = append(egress, obj{
			"to":    list{obj{"ipBlock": obj{"cidr": cidr}}},
			"ports": list{obj{"protocol": "TCP", "port": e.port}},
		})
	}
	return egress
}

// ---- Organization -----------------------------------------------------------------------------

func orgNamespace(name string) string { return "org-" + name }

func orgMeta(org *Organization, name, ns string) obj {
	return metadata(name, ns, standardLabels(org.Name, ""))
}

func orgWebhookURL(org *Organization) string {
	// Exposure None (the only mode the peer serves): the in-cluster Service URL.
	return fmt.Sprintf("http://el-%s.%s.svc.cluster.local:%d/", eventListenerName, orgNamespace(org.Name), listenerPort)
}

func clusterSecretStoreName(org *Organization) string { return orgNamespace(org.Name) + "-store" }

func eventListenerBindingName(org *Organization) string {
	return eventListenerClusterRole + "-" + orgNamespace(org.Name)
}

func orgNamespaceObject(org *Organization) obj {
	return namespaceWithPodSecurity(orgNamespace(org.Name), standardLabels(org.Name, ""), "baseline")
}

func webhookSecret(org *Organization, value, rotation string) obj {
	meta := orgMeta(org, webhookSecretName, orgNamespace(org.Name))
	meta["annotations"] = obj{rotationAnnotation: rotation}
	secret := object("v1", "Secret", meta)
	secret["type"] = "Opaque"
	secret["data"] = obj{webhookSecretKey: base64.StdEncoding.EncodeToString([]byte(value))}
	return secret
}

func eventListener(org *Organization, repoNamespaces []string) obj {
	interceptor := obj{
		"ref": obj{"name": "github", "kind": "ClusterInterceptor"},
		"params": list{
			obj{"name": "secretRef", "value": obj{"secretName": webhookSecretName, "secretKey": webhookSecretKey}},
			obj{"name": "eventTypes", "value": strs("push", "ping")},
		},
	}
	selector := obj{"labelSelector": obj{"matchLabels": obj{organizationLabel: org.Name}}}
	if len(repoNamespaces) > 0 {
		selector["namespaceSelector"] = obj{"matchNames": strs(repoNamespaces...)}
	}
	listener := object("triggers.tekton.dev/v1beta1", "EventListener", orgMeta(org, eventListenerName, orgNamespace(org.Name)))
	listener["spec"] = obj{
		"serviceAccountName": eventListenerServiceAccount,
		"triggerGroups": list{obj{
			"name": "github", "interceptors": list{interceptor}, "triggerSelector": selector,
		}},
	}
	return listener
}

func webhookChildren(org *Organization, repoNamespaces []string) []obj {
	ns := orgNamespace(org.Name)
	account := object("v1", "ServiceAccount", orgMeta(org, eventListenerServiceAccount, ns))
	role := object("rbac.authorization.k8s.io/v1", "Role", orgMeta(org, eventListenerServiceAccount, ns))
	role["rules"] = list{
		rule([]string{""}, []string{"configmaps"}, []string{"get", "list", "watch"}),
		rule([]string{""}, []string{"events"}, []string{"create", "patch"}),
		rule([]string{"events.k8s.io"}, []string{"events"}, []string{"create", "patch"}),
	}
	binding := object("rbac.authorization.k8s.io/v1", "RoleBinding", orgMeta(org, eventListenerServiceAccount, ns))
	binding["roleRef"] = roleRef("Role", eventListenerServiceAccount)
	binding["subjects"] = list{serviceAccountSubject(eventListenerServiceAccount, ns)}
	clusterBinding := object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", orgMeta(org, eventListenerBindingName(org), ""))
	clusterBinding["roleRef"] = roleRef("ClusterRole", eventListenerClusterRole)
	clusterBinding["subjects"] = list{serviceAccountSubject(eventListenerServiceAccount, ns)}
	return []obj{account, role, binding, clusterBinding, eventListener(org, repoNamespaces)}
}

func orgNetworkPolicy(org *Organization, config *controllerConfig, apiServers []apiServerEndpoint) obj {
	egress := list{
		obj{"to": list{obj{"podSelector": obj{}}}},
		dnsEgress(),
		obj{
			"to":    list{obj{"namespaceSelector": obj{"matchLabels": obj{"kubernetes.io/metadata.name": tektonNamespace}}}},
			"ports": list{obj{"protocol": "TCP", "port": interceptorPort}},
		},
		internetEgress(config.egressDeny),
	}
	egress = apiServerEgress(egress, apiServers)
	policy := object("networking.k8s.io/v1", "NetworkPolicy", orgMeta(org, orgNetworkPolicyName, orgNamespace(org.Name)))
	policy["spec"] = obj{
		"podSelector": obj{},
		"policyTypes": strs("Ingress", "Egress"),
		"ingress":     list{obj{"ports": list{obj{"protocol": "TCP", "port": listenerPort}}}},
		"egress":      egress,
	}
	return policy
}

func orgQuota(org *Organization, limits *tenantLimits) obj {
	quota := object("v1", "ResourceQuota", orgMeta(org, orgQuotaName, orgNamespace(org.Name)))
	quota["spec"] = obj{"hard": obj{
		"count/repobindings.aphex.io": strconv.Itoa(limits.orgRepoBindings),
		"count/secrets":               strconv.Itoa(limits.orgSecrets),
		"count/configmaps":            strconv.Itoa(limits.orgConfigMaps),
	}}
	return quota
}

func isolationChildren(org *Organization, config *controllerConfig, apiServers []apiServerEndpoint) []obj {
	return []obj{orgNetworkPolicy(org, config, apiServers), orgQuota(org, &config.limits)}
}

func secretStoreChildren(org *Organization) []obj {
	ns := orgNamespace(org.Name)
	account := object("v1", "ServiceAccount", orgMeta(org, esoServiceAccount, ns))
	role := object("rbac.authorization.k8s.io/v1", "Role", orgMeta(org, esoServiceAccount, ns))
	read := rule([]string{""}, []string{"secrets"}, []string{"get"})
	read["resourceNames"] = strs(orgSecretsName)
	role["rules"] = list{read}
	binding := object("rbac.authorization.k8s.io/v1", "RoleBinding", orgMeta(org, esoServiceAccount, ns))
	binding["roleRef"] = roleRef("Role", esoServiceAccount)
	binding["subjects"] = list{serviceAccountSubject(esoServiceAccount, ns)}
	store := object("external-secrets.io/v1", "ClusterSecretStore", orgMeta(org, clusterSecretStoreName(org), ""))
	store["spec"] = obj{
		"conditions": list{obj{"namespaceSelector": obj{"matchLabels": obj{organizationLabel: org.Name}}}},
		"provider": obj{"kubernetes": obj{
			"remoteNamespace": ns,
			"server": obj{"caProvider": obj{
				"type": "ConfigMap", "name": "kube-root-ca.crt", "key": "ca.crt", "namespace": ns,
			}},
			"auth": obj{"serviceAccount": obj{"name": esoServiceAccount, "namespace": ns}},
		}},
	}
	return []obj{account, role, binding, store}
}

// adminBindingName: readable where the subject allows, unique by hash.
func adminBindingName(kind, subject string) string {
	var readable []byte
	for i := 0; i < len(subject); i++ {
		c := subject[i]
		if c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))) {
			readable = append(readable, byte(unicode.ToLower(rune(c))))
		} else if len(readable) > 0 && readable[len(readable)-1] != '-' {
			readable = append(readable, '-')
		}
		if len(readable) >= 30 {
			break
		}
	}
	name := strings.TrimRight(string(readable), "-")
	return "org-admin-" + kind + "-" + name + "-" + intentHash(subject)[:8]
}

func adminBinding(org *Organization, kind, subject string) obj {
	subjectKind := "Group"
	if kind == "user" {
		subjectKind = "User"
	}
	labels := standardLabels(org.Name, "")
	labels[componentLabel] = adminComponent
	binding := object("rbac.authorization.k8s.io/v1", "RoleBinding",
		metadata(adminBindingName(kind, subject), orgNamespace(org.Name), labels))
	binding["roleRef"] = roleRef("ClusterRole", adminClusterRole)
	binding["subjects"] = list{obj{"apiGroup": rbacGroup, "kind": subjectKind, "name": subject}}
	return binding
}

func adminBindings(org *Organization) []obj {
	var out []obj
	for _, user := range org.Spec.AdminUsers {
		out = append(out, adminBinding(org, "user", user))
	}
	for _, group := range org.Spec.AdminGroups {
		out = append(out, adminBinding(org, "group", group))
	}
	return out
}

// ---- RepoBinding ------------------------------------------------------------------------------

func bindingKey(b *RepoBinding) string { return b.Namespace + "/" + b.Name }

func bindingMeta(b *RepoBinding, name, ns string) obj {
	if ns == "" {
		ns = b.Spec.PipelineName
	}
	meta := metadata(name, ns, standardLabels(b.Spec.AphexOrg, b.Spec.PipelineName))
	meta["annotations"] = obj{repoBindingAnnotation: bindingKey(b)}
	return meta
}

func repositoryFullName(b *RepoBinding) string { return b.Spec.RepoOrg + "/" + b.Spec.RepoName }

func repositoryURL(b *RepoBinding) string { return "https://github.com/" + repositoryFullName(b) }

func githubWebhookSettingsURL(b *RepoBinding) string {
	return "https://github.com/" + repositoryFullName(b) + "/settings/hooks"
}

func celStringLiteral(text string) string {
	var out strings.Builder
	out.WriteByte('\'')
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case '\'':
			out.WriteString(`\'`)
		case '\\':
			out.WriteString(`\\`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&out, `\x%02x`, c)
			} else {
				out.WriteByte(c)
			}
		}
	}
	out.WriteByte('\'')
	return out.String()
}

func celFilter(b *RepoBinding) string {
	return "body.repository.full_name == " + celStringLiteral(repositoryFullName(b)) +
		" && body.ref == " + celStringLiteral("refs/heads/"+b.Spec.Branch) +
		" && !(has(body.deleted) && body.deleted == true)"
}

func hasNumericSuffix(name string) bool {
	dash := strings.LastIndexByte(name, '-')
	if dash < 0 || dash+1 == len(name) {
		return false
	}
	return strings.Trim(name[dash+1:], "0123456789") == ""
}

func terraformBackendConfig(b *RepoBinding) string {
	suffix := b.Spec.PipelineName
	if hasNumericSuffix(suffix) {
		suffix += "-state"
	}
	return "terraform {\n" +
		"  backend \"kubernetes\" {\n" +
		"    secret_suffix     = \"" + suffix + "\"\n" +
		"    namespace         = \"" + b.Spec.PipelineName + "\"\n" +
		"    in_cluster_config = true\n" +
		"  }\n" +
		"}\n"
}

func bindingNamespaceObject(b *RepoBinding, level string) obj {
	ns := namespaceWithPodSecurity(b.Spec.PipelineName, standardLabels(b.Spec.AphexOrg, b.Spec.PipelineName), level)
	ns["metadata"].(obj)["annotations"] = obj{repoBindingAnnotation: bindingKey(b)}
	return ns
}

func pipelineObject(b *RepoBinding, source obj) obj {
	meta := bindingMeta(b, b.Spec.PipelineName, "")
	if sourceMeta, ok := source["metadata"].(map[string]any); ok {
		if labels, ok := sourceMeta["labels"].(map[string]any); ok {
			merged := obj{}
			for k, v := range labels {
				merged[k] = v
			}
			for k, v := range meta["labels"].(obj) {
				merged[k] = v // ours win
			}
			meta["labels"] = merged
		}
		if annotations, ok := sourceMeta["annotations"].(map[string]any); ok {
			merged := obj{}
			for k, v := range annotations {
				merged[k] = v
			}
			for k, v := range meta["annotations"].(obj) {
				merged[k] = v
			}
			meta["annotations"] = merged
		}
	}
	pipeline := object("tekton.dev/v1", "Pipeline", meta)
	spec, ok := source["spec"].(map[string]any)
	if !ok {
		spec = obj{}
	}
	pipeline["spec"] = spec
	return pipeline
}

func accessChildren(b *RepoBinding) []obj {
	runner := object("rbac.authorization.k8s.io/v1", "RoleBinding", bindingMeta(b, runnerBinding, ""))
	runner["roleRef"] = roleRef("ClusterRole", runnerClusterRole)
	runner["subjects"] = list{serviceAccountSubject(runnerServiceAccount, b.Spec.PipelineName)}
	impersonation := object("rbac.authorization.k8s.io/v1", "RoleBinding", bindingMeta(b, impersonationBinding, ""))
	impersonation["roleRef"] = roleRef("ClusterRole", impersonatorClusterRole)
	impersonation["subjects"] = list{serviceAccountSubject(eventListenerServiceAccount, orgNamespace(b.Spec.AphexOrg))}
	return []obj{object("v1", "ServiceAccount", bindingMeta(b, runnerServiceAccount, "")), runner, impersonation}
}

func putQuantity(m obj, key, quantity string) {
	if quantity != "" {
		m[key] = quantity
	}
}

func resourceQuota(b *RepoBinding, limits *tenantLimits) obj {
	hard := obj{}
	putQuantity(hard, "requests.cpu", limits.requestsCPU)
	putQuantity(hard, "requests.memory", limits.requestsMemory)
	putQuantity(hard, "limits.cpu", limits.limitsCPU)
	putQuantity(hard, "limits.memory", limits.limitsMemory)
	putQuantity(hard, "requests.storage", limits.requestsStorage)
	hard["pods"] = strconv.Itoa(limits.pods)
	hard["persistentvolumeclaims"] = strconv.Itoa(limits.persistentVolumeClaims)
	hard["count/configmaps"] = strconv.Itoa(limits.configMaps)
	hard["count/secrets"] = strconv.Itoa(limits.secrets)
	quota := object("v1", "ResourceQuota", bindingMeta(b, quotaName, ""))
	quota["spec"] = obj{"hard": hard}
	return quota
}

func limitRange(b *RepoBinding, limits *tenantLimits) obj {
	container := obj{"type": "Container"}
	defaultLimit, defaultRequest, max := obj{}, obj{}, obj{}
	putQuantity(defaultLimit, "cpu", limits.defaultLimitCPU)
	putQuantity(defaultLimit, "memory", limits.defaultLimitMemory)
	putQuantity(defaultRequest, "cpu", limits.defaultRequestCPU)
	putQuantity(defaultRequest, "memory", limits.defaultRequestMemory)
	putQuantity(max, "cpu", limits.maxCPU)
	putQuantity(max, "memory", limits.maxMemory)
	if len(defaultLimit) > 0 {
		container["default"] = defaultLimit
	}
	if len(defaultRequest) > 0 {
		container["defaultRequest"] = defaultRequest
	}
	if len(max) > 0 {
		container["max"] = max
	}
	lr := object("v1", "LimitRange", bindingMeta(b, limitRangeName, ""))
	lr["spec"] = obj{"limits": list{container}}
	return lr
}

func tenantNetworkPolicy(b *RepoBinding, apiServers []apiServerEndpoint, deniedEgress []string) obj {
	orgPipelines := obj{
		"matchLabels":      obj{managedByLabel: managedByValue, organizationLabel: b.Spec.AphexOrg},
		"matchExpressions": list{obj{"key": pipelineLabel, "operator": "Exists"}},
	}
	peers := list{obj{"podSelector": obj{}}, obj{"namespaceSelector": orgPipelines}}
	egress := list{obj{"to": peers}, dnsEgress(), internetEgress(deniedEgress)}
	egress = apiServerEgress(egress, apiServers)
	policy := object("networking.k8s.io/v1", "NetworkPolicy", bindingMeta(b, networkPolicyName, ""))
	policy["spec"] = obj{
		"podSelector": obj{},
		"policyTypes": strs("Ingress", "Egress"),
		"ingress":     list{obj{"from": peers}},
		"egress":      egress,
	}
	return policy
}

func guardrailChildren(b *RepoBinding, config *controllerConfig, apiServers []apiServerEndpoint) []obj {
	// The quota last and the Secret first (gitOpsChildren), as src/aphex/repobinding/children.cc.
	return []obj{
		limitRange(b, &config.limits), tenantNetworkPolicy(b, apiServers, config.egressDeny),
		resourceQuota(b, &config.limits),
	}
}

func appProjectName(b *RepoBinding) string { return appProjectPrefix + b.Spec.PipelineName }

func appProject(b *RepoBinding, config *controllerConfig) obj {
	ns := b.Spec.PipelineName
	project := object("argoproj.io/v1alpha1", "AppProject", bindingMeta(b, appProjectName(b), config.argocdNamespace))
	kinds := list{}
	for _, k := range deployableKinds {
		kinds = append(kinds, obj{"group": k[0], "kind": k[1]})
	}
	project["spec"] = obj{
		"description":                "Aphex pipeline " + ns + " of organization " + b.Spec.AphexOrg + ": " + repositoryFullName(b),
		"sourceRepos":                strs(repositoryURL(b)+".git", repositoryURL(b)),
		"destinations":               list{obj{"server": inClusterServer, "namespace": ns}},
		"sourceNamespaces":           strs(ns),
		"clusterResourceWhitelist":   list{},
		"namespaceResourceWhitelist": kinds,
	}
	return project
}

func terraformSecret(b *RepoBinding) obj {
	secret := object("v1", "Secret", bindingMeta(b, terraformBackendSecret, ""))
	secret["type"] = "Opaque"
	secret["data"] = obj{terraformBackendKey: base64.StdEncoding.EncodeToString([]byte(terraformBackendConfig(b)))}
	return secret
}

func gitOpsChildren(b *RepoBinding, config *controllerConfig) []obj {
	return []obj{terraformSecret(b), appProject(b, config)}
}

func triggerBindings(b *RepoBinding) list {
	values := [][2]string{
		{"git-url", repositoryURL(b) + ".git"},
		{"git-revision", "$(body.after)"},
		{"repo-full-name", "$(body.repository.full_name)"},
		{"event-type", "$(header.X-Github-Event)"},
		{"event-id", "$(header.X-Github-Delivery)"},
		{"triggered-at", "$(body.head_commit.timestamp)"},
		{"org-name", b.Spec.AphexOrg},
	}
	params := list{}
	for _, v := range values {
		params = append(params, obj{"name": v[0], "value": v[1]})
	}
	return params
}

func pipelineRunName(b *RepoBinding) string {
	prefix := b.Spec.PipelineName
	if len(prefix) > runNamePrefixLength {
		prefix = prefix[:runNamePrefixLength]
	}
	return strings.TrimRight(prefix, "-") + "-$(tt.params.event-id)"
}

func triggerTemplateSpec(b *RepoBinding, withSourceWorkspace bool) obj {
	name := b.Spec.PipelineName
	params, runParams := list{}, list{}
	for _, p := range contractParams {
		declared := obj{"name": p}
		if p == "triggered-at" || p == "org-name" {
			declared["default"] = ""
		}
		params = append(params, declared)
		runParams = append(runParams, obj{"name": p, "value": "$(tt.params." + p + ")"})
	}
	run := obj{
		"apiVersion": "tekton.dev/v1",
		"kind":       "PipelineRun",
		"metadata": obj{
			"name":   pipelineRunName(b),
			"labels": obj{organizationLabel: b.Spec.AphexOrg, pipelineLabel: name},
		},
		"spec": obj{
			"pipelineRef":     obj{"name": name},
			"params":          runParams,
			"taskRunTemplate": obj{"serviceAccountName": runnerServiceAccount},
		},
	}
	if withSourceWorkspace {
		claim := obj{"spec": obj{
			"accessModes": strs("ReadWriteOnce"),
			"resources":   obj{"requests": obj{"storage": sourceWorkspaceSize}},
		}}
		run["spec"].(obj)["workspaces"] = list{obj{"name": sourceWorkspace, "volumeClaimTemplate": claim}}
	}
	return obj{"params": params, "resourcetemplates": list{run}}
}

// One Trigger with its bindings and template inline, as the Aphex controller makes it.
func trigger(b *RepoBinding, withSourceWorkspace bool) obj {
	name := b.Spec.PipelineName
	t := object("triggers.tekton.dev/v1beta1", "Trigger", bindingMeta(b, name, ""))
	cel := obj{
		"ref":    obj{"name": "cel", "kind": "ClusterInterceptor"},
		"params": list{obj{"name": "filter", "value": celFilter(b)}},
	}
	t["spec"] = obj{
		"serviceAccountName": runnerServiceAccount,
		"interceptors":       list{cel},
		"bindings":           triggerBindings(b),
		"template":           obj{"spec": triggerTemplateSpec(b, withSourceWorkspace)},
	}
	return t
}

func triggerChildren(b *RepoBinding, withSourceWorkspace bool) []obj {
	return []obj{trigger(b, withSourceWorkspace)}
}

func declaresSourceWorkspace(pipeline obj) bool {
	spec, _ := pipeline["spec"].(map[string]any)
	workspaces, _ := spec["workspaces"].([]any)
	for _, w := range workspaces {
		if m, ok := w.(map[string]any); ok && m["name"] == sourceWorkspace {
			return true
		}
	}
	return false
}

// madeObjects: where every object a binding makes lives, by name (for deleting them).
func madeObjects(b *RepoBinding, config *controllerConfig) []obj {
	var made []obj
	made = append(made, triggerChildren(b, false)...)
	made = append(made, gitOpsChildren(b, config)...)
	made = append(made, accessChildren(b)...)
	made = append(made, guardrailChildren(b, config, nil)...)
	made = append(made, object("tekton.dev/v1", "Pipeline",
		obj{"name": b.Spec.PipelineName, "namespace": b.Spec.PipelineName}))
	return made
}

// sortedUnique returns the distinct values, sorted.
func sortedUnique(values []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range values {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
