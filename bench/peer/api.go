package main

// The aphex.io/v1alpha1 kinds as small typed structs, read from the unstructured objects the cache
// holds (platform/crds/aphex.io_*.yaml), with the checks Aphex makes on them (src/aphex/api).

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

type SecretKeyRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

type OrganizationSpec struct {
	DisplayName string   `json:"displayName,omitempty"`
	AdminUsers  []string `json:"adminUsers,omitempty"`
	AdminGroups []string `json:"adminGroups,omitempty"`
	Exposure    *struct {
		Mode string `json:"mode,omitempty"`
	} `json:"exposure,omitempty"`
	PipelinePodSecurity string `json:"pipelinePodSecurity,omitempty"`
}

type OrganizationStatus struct {
	ObservedGeneration int64              `json:"observedGeneration"`
	Phase              string             `json:"phase,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
	Namespace          string             `json:"namespace,omitempty"`
	WebhookURL         string             `json:"webhookURL,omitempty"`
	WebhookSecretRef   *SecretKeyRef      `json:"webhookSecretRef,omitempty"`
	TunnelID           string             `json:"tunnelID,omitempty"`
	RepoBindings       int32              `json:"repoBindings"`
}

type Organization struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              OrganizationSpec   `json:"spec,omitempty"`
	Status            OrganizationStatus `json:"status,omitempty"`
}

type RepoBindingSpec struct {
	AphexOrg       string `json:"aphexOrg,omitempty"`
	RepoOrg        string `json:"repoOrg,omitempty"`
	RepoName       string `json:"repoName,omitempty"`
	PipelineName   string `json:"pipelineName,omitempty"`
	TemplateRef    string `json:"templateRef,omitempty"`
	PipelineSpec   string `json:"pipelineSpec,omitempty"`
	Branch         string `json:"branch,omitempty"`
	DeletionPolicy string `json:"deletionPolicy,omitempty"`
}

type RepoBindingStatus struct {
	ObservedGeneration       int64              `json:"observedGeneration"`
	Phase                    string             `json:"phase,omitempty"`
	Conditions               []metav1.Condition `json:"conditions,omitempty"`
	PipelineNamespace        string             `json:"pipelineNamespace,omitempty"`
	WebhookURL               string             `json:"webhookURL,omitempty"`
	WebhookSecretRef         *SecretKeyRef      `json:"webhookSecretRef,omitempty"`
	GithubWebhookSettingsURL string             `json:"githubWebhookSettingsURL,omitempty"`
}

type RepoBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RepoBindingSpec   `json:"spec,omitempty"`
	Status            RepoBindingStatus `json:"status,omitempty"`
}

// fromUnstructured reads a cached object into one of the structs above.
func fromUnstructured(u *unstructured.Unstructured, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into)
}

// statusMap: a status struct as the JSON values the API server stores, for comparing with the
// live status and for the apply.
func statusMap(status any) (map[string]any, error) {
	data, err := json.Marshal(status)
	if err != nil {
		return nil, err
	}
	return normalized(mustObject(data)), nil
}

func mustObject(data []byte) obj {
	var out obj
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

const (
	templateRefDefault       = "run-pipeline-v1"
	maxOrganizationNameChars = 40
	maxPipelineSpecBytes     = 262144
)

var (
	reservedOrganizationNames = []string{"argocd", "auth", "dex", "tekton", "www"}
	platformNamespaces        = []string{
		"default", "argocd", "platform-system", "tekton-pipelines", "tekton-pipelines-resolvers", "auth-system",
		"cert-manager", "external-secrets", "pipeline-catalog", "ingress-nginx", "gateway-system", "external-dns",
		"nvidia-device-plugin",
	}
	requiredPipelineParams = []string{"git-url", "git-revision", "repo-full-name", "event-type", "event-id"}
)

type fieldError struct{ path, message string }

func describeErrors(errors []fieldError) string {
	parts := make([]string, 0, len(errors))
	for _, e := range errors {
		parts = append(parts, e.path+": "+e.message)
	}
	return strings.Join(parts, "; ")
}

func isDNSLabel(name string, max int) bool {
	if name == "" || len(name) > max {
		return false
	}
	alnum := func(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !alnum(name[i]) && name[i] != '-' {
			return false
		}
	}
	return true
}

func isASCIIAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isEmailAddress(address string) bool {
	const specials = ".!#$%&'*+/=?^_`{|}~-"
	at := strings.IndexByte(address, '@')
	if len(address) > 254 || at <= 0 {
		return false
	}
	for i := 0; i < at; i++ {
		if !isASCIIAlnum(address[i]) && !strings.ContainsRune(specials, rune(address[i])) {
			return false
		}
	}
	labels := strings.Split(address[at+1:], ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || !isASCIIAlnum(l[0]) || !isASCIIAlnum(l[len(l)-1]) {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isASCIIAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	return true
}

func hasControl(text string) bool {
	for i := 0; i < len(text); i++ {
		if text[i] < 0x20 || text[i] == 0x7f {
			return true
		}
	}
	return false
}

func validateOrganization(org *Organization) []fieldError {
	var errors []fieldError
	add := func(path, message string) { errors = append(errors, fieldError{path, message}) }
	if !isDNSLabel(org.Name, maxOrganizationNameChars) {
		add("metadata.name", "must be a DNS label of at most 40 characters (lowercase letters, digits and '-'), so that "+
			"org-<name> and webhooks-<name> are valid names")
	}
	for _, reserved := range reservedOrganizationNames {
		if org.Name == reserved {
			add("metadata.name", fmt.Sprintf("%q is reserved for a platform host (<name>.<public domain>); choose another name", org.Name))
		}
	}
	if strings.TrimSpace(org.Spec.DisplayName) == "" {
		add("spec.displayName", "is required and must not be blank")
	} else if utf8.RuneCountInString(org.Spec.DisplayName) > 256 {
		add("spec.displayName", "must be at most 256 characters")
	}
	users := map[string]bool{}
	for i, user := range org.Spec.AdminUsers {
		path := fmt.Sprintf("spec.adminUsers[%d]", i)
		switch {
		case !isEmailAddress(user):
			add(path, fmt.Sprintf("%q is not an e-mail address (name@example.com)", user))
		case users[strings.ToLower(user)]:
			add(path, fmt.Sprintf("%q is listed twice (addresses are compared case-insensitively)", user))
		}
		users[strings.ToLower(user)] = true
	}
	groups := map[string]bool{}
	for i, group := range org.Spec.AdminGroups {
		path := fmt.Sprintf("spec.adminGroups[%d]", i)
		switch {
		case group == "" || utf8.RuneCountInString(group) > 256:
			add(path, "must be 1 to 256 characters")
		case hasControl(group) || strings.TrimSpace(group) != group:
			add(path, "must not contain control characters nor start or end with a space")
		case strings.HasPrefix(group, "system:"):
			add(path, "must not name a Kubernetes system group (system:*): that would make every member of it an administrator")
		case groups[group]:
			add(path, fmt.Sprintf("%q is listed twice", group))
		}
		groups[group] = true
	}
	return errors
}

func isReservedNamespace(name, platformNamespace string) bool {
	if strings.HasPrefix(name, "kube-") || strings.HasPrefix(name, "org-") || name == platformNamespace {
		return true
	}
	for _, reserved := range platformNamespaces {
		if name == reserved {
			return true
		}
	}
	return false
}

// validateBinding: what Aphex's validateExceptPipelineSpec and placementProblem check; the
// pipelineSpec is checked by its own step (a bad one fails PipelineReady only).
func validateBinding(b *RepoBinding, platformNamespace string) []fieldError {
	var errors []fieldError
	add := func(path, message string) { errors = append(errors, fieldError{path, message}) }
	spec := &b.Spec
	if b.Namespace != platformNamespace && b.Namespace != orgNamespace(spec.AphexOrg) {
		add("metadata.namespace", fmt.Sprintf("a RepoBinding of organization %q must be created in %s or %s, not in %q",
			spec.AphexOrg, platformNamespace, orgNamespace(spec.AphexOrg), b.Namespace))
	}
	if !isDNSLabel(spec.AphexOrg, maxOrganizationNameChars) {
		add("spec.aphexOrg", fmt.Sprintf("must name an Organization: a DNS label of at most 40 characters, not %q", spec.AphexOrg))
	}
	if spec.RepoOrg == "" || len(spec.RepoOrg) > 39 {
		add("spec.repoOrg", fmt.Sprintf("must be a GitHub user or organization name, not %q", spec.RepoOrg))
	}
	if spec.RepoName == "" || len(spec.RepoName) > 100 || strings.HasSuffix(spec.RepoName, ".git") {
		add("spec.repoName", fmt.Sprintf("must be a GitHub repository name without .git, not %q", spec.RepoName))
	}
	if !isDNSLabel(spec.PipelineName, 63) {
		add("spec.pipelineName", fmt.Sprintf("must be a DNS label of at most 63 characters (it names a namespace), not %q", spec.PipelineName))
	} else if isReservedNamespace(spec.PipelineName, platformNamespace) {
		add("spec.pipelineName", fmt.Sprintf("%q is reserved: kube-*, org-* and the platform's namespaces cannot be pipeline namespaces", spec.PipelineName))
	}
	if spec.TemplateRef != templateRefDefault {
		add("spec.templateRef", fmt.Sprintf("%q is not a pipeline contract this controller provides; use %s", spec.TemplateRef, templateRefDefault))
	}
	if spec.Branch == "" || strings.ContainsAny(spec.Branch, " ~^:?*[\\'\"") || strings.Contains(spec.Branch, "..") ||
		strings.HasPrefix(spec.Branch, "refs/") || strings.HasPrefix(spec.Branch, "-") {
		add("spec.branch", fmt.Sprintf("%q is not a valid branch name", spec.Branch))
	}
	return errors
}

// parsePipelineSpec: spec.pipelineSpec, YAML or JSON, a tekton.dev/v1 Pipeline declaring the
// parameters of the pipeline contract.
func parsePipelineSpec(text string) (obj, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("pipelineSpec is empty")
	}
	if len(text) > maxPipelineSpecBytes {
		return nil, fmt.Errorf("pipelineSpec is longer than %d bytes", maxPipelineSpecBytes)
	}
	data, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("pipelineSpec is not valid YAML or JSON: %v", err)
	}
	var document any
	if err := json.Unmarshal(data, &document); err != nil {
		return nil, fmt.Errorf("pipelineSpec is not valid YAML or JSON: %v", err)
	}
	pipeline, ok := document.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("pipelineSpec must be a Pipeline object (a YAML or JSON map)")
	}
	if v, _ := pipeline["apiVersion"].(string); v != "tekton.dev/v1" {
		return nil, fmt.Errorf("pipelineSpec.apiVersion must be tekton.dev/v1, not %q", v)
	}
	if k, _ := pipeline["kind"].(string); k != "Pipeline" {
		return nil, fmt.Errorf("pipelineSpec.kind must be Pipeline, not %q", k)
	}
	spec, ok := pipeline["spec"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("pipelineSpec.spec must be an object")
	}
	declared := map[string]bool{}
	if params, ok := spec["params"]; ok {
		entries, ok := params.([]any)
		if !ok {
			return nil, fmt.Errorf("pipelineSpec.spec.params must be a list of {name, type} entries")
		}
		for _, p := range entries {
			if m, ok := p.(map[string]any); ok {
				if name, ok := m["name"].(string); ok {
					declared[name] = true
				}
			}
		}
	}
	var missing []string
	for _, name := range requiredPipelineParams {
		if !declared[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("pipelineSpec.spec.params must declare the parameters of the pipeline contract %s; missing: %s",
			templateRefDefault, strings.Join(missing, ", "))
	}
	return normalized(pipeline), nil
}
