package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Names every object the controller makes shares, as Aphex spells them (src/aphex/common/labels.h),
// so that the peer's children are the same objects and the benchmark's selectors find them.
const (
	managedByLabel        = "app.kubernetes.io/managed-by"
	managedByValue        = "aphex-controller"
	organizationLabel     = "aphex.io/organization"
	pipelineLabel         = "aphex.io/pipeline"
	componentLabel        = "aphex.io/component"
	finalizerName         = "aphex.io/cleanup"
	fieldManager          = "aphex-controller"
	appliedHashAnnotation = "aphex.io/applied-hash"
	repoBindingAnnotation = "aphex.io/repo-binding"
	retainedAnnotation    = "aphex.io/retained-from"
	bindingsByOrgIndex    = "spec.aphexOrg"
)

// obj is a JSON object as built here: the desired state of one child.
type obj = map[string]any

// list is a JSON array.
type list = []any

// strs turns string values into a JSON array.
func strs(values ...string) list {
	out := make(list, 0, len(values))
	for _, v := range values {
		out = append(out, v)
	}
	return out
}

// gvk names a kind, for the objects the controller writes and watches.
var (
	gvkNamespace          = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	gvkSecret             = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	gvkConfigMap          = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	gvkServiceAccount     = schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}
	gvkResourceQuota      = schema.GroupVersionKind{Version: "v1", Kind: "ResourceQuota"}
	gvkLimitRange         = schema.GroupVersionKind{Version: "v1", Kind: "LimitRange"}
	gvkDeployment         = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	gvkRole               = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}
	gvkRoleBinding        = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}
	gvkClusterRoleBinding = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"}
	gvkIngress            = schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}
	gvkNetworkPolicy      = schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}
	gvkEndpointSlice      = schema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"}
	gvkEventListener      = schema.GroupVersionKind{Group: "triggers.tekton.dev", Version: "v1beta1", Kind: "EventListener"}
	gvkTrigger            = schema.GroupVersionKind{Group: "triggers.tekton.dev", Version: "v1beta1", Kind: "Trigger"}
	gvkTriggerBinding     = schema.GroupVersionKind{Group: "triggers.tekton.dev", Version: "v1beta1", Kind: "TriggerBinding"}
	gvkTriggerTemplate    = schema.GroupVersionKind{Group: "triggers.tekton.dev", Version: "v1beta1", Kind: "TriggerTemplate"}
	gvkPipeline           = schema.GroupVersionKind{Group: "tekton.dev", Version: "v1", Kind: "Pipeline"}
	gvkAppProject         = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "AppProject"}
	gvkApplication        = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}
	gvkClusterSecretStore = schema.GroupVersionKind{Group: "external-secrets.io", Version: "v1", Kind: "ClusterSecretStore"}
	gvkOrganization       = schema.GroupVersionKind{Group: "aphex.io", Version: "v1alpha1", Kind: "Organization"}
	gvkRepoBinding        = schema.GroupVersionKind{Group: "aphex.io", Version: "v1alpha1", Kind: "RepoBinding"}
)

// childKinds: every kind the two controllers make, each cached only as far as the controller
// made it (managed-by label), as Aphex's informers are (src/aphex/controllers.cc).
var childKinds = []schema.GroupVersionKind{
	gvkNamespace, gvkSecret, gvkConfigMap, gvkServiceAccount, gvkDeployment, gvkRole, gvkRoleBinding,
	gvkClusterRoleBinding, gvkIngress, gvkEventListener, gvkClusterSecretStore, gvkPipeline, gvkResourceQuota,
	gvkLimitRange, gvkNetworkPolicy, gvkAppProject, gvkTrigger, gvkTriggerBinding, gvkTriggerTemplate,
}

// newObject is the object a kind is read into: the typed struct for the kinds client-go knows
// (the idiomatic choice, and what the cache then holds), unstructured for CRD kinds.
func newObject(scheme *runtime.Scheme, gvk schema.GroupVersionKind) client.Object {
	if typed, err := scheme.New(gvk); err == nil {
		if o, ok := typed.(client.Object); ok {
			return o
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}

// newList is the list type of a kind, typed or unstructured as newObject.
func newList(scheme *runtime.Scheme, gvk schema.GroupVersionKind) client.ObjectList {
	listGVK := gvk.GroupVersion().WithKind(gvk.Kind + "List")
	if typed, err := scheme.New(listGVK); err == nil {
		if l, ok := typed.(client.ObjectList); ok {
			return l
		}
	}
	u := &unstructured.UnstructuredList{}
	u.SetGroupVersionKind(listGVK)
	return u
}

// asMap is an object as JSON values, for comparing with what the controller would apply.
func asMap(o client.Object) (map[string]any, error) {
	if u, ok := o.(*unstructured.Unstructured); ok {
		return u.Object, nil
	}
	return runtime.DefaultUnstructuredConverter.ToUnstructured(o)
}

// normalized is `o` as the API machinery represents JSON (int64 for whole numbers), so that it can
// be deep-copied and compared with what the server returns.
func normalized(o obj) obj {
	data, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("desired object does not marshal: %v", err))
	}
	var out obj
	if err := utiljson.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("desired object does not unmarshal: %v", err))
	}
	return out
}

// compactJSON is `v` as compact JSON with sorted keys and no HTML escaping: the text Aphex's
// nlohmann::json dump() makes, so that the applied hash is the same for the same intent.
func compactJSON(v any) string {
	var buffer bytes.Buffer
	encoder := json.NewEncoder(&buffer)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(v); err != nil {
		panic(fmt.Sprintf("cannot encode: %v", err))
	}
	return string(bytes.TrimRight(buffer.Bytes(), "\n"))
}

// intentHash: the first 8 bytes of the SHA-256 of the compact JSON, in hex (runtime/apply.cc).
func intentHash(v any) string {
	sum := sha256.Sum256([]byte(compactJSON(v)))
	return hex.EncodeToString(sum[:8])
}

// containsAll: every field `desired` sets has the same value in `live` (objects may hold more;
// arrays must match element by element). Numbers compare by value whatever their Go type.
func containsAll(live, desired any) bool {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		for key, value := range d {
			found, ok := l[key]
			if !ok || !containsAll(found, value) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(d) {
			return false
		}
		for i := range d {
			if !containsAll(l[i], d[i]) {
				return false
			}
		}
		return true
	}
	if dn, ok := number(desired); ok {
		ln, ok := number(live)
		return ok && ln == dn
	}
	return live == desired
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// nested reads a string at a path of an object; "" when absent or not a string.
func nested(o map[string]any, path ...string) string {
	value, _, _ := unstructured.NestedString(o, path...)
	return value
}

// annotationOf: the value of `annotation` on an object given as JSON values.
func annotationOf(o map[string]any, annotation string) string {
	return nested(o, "metadata", "annotations", annotation)
}

func metadata(name, namespace string, labels obj) obj {
	m := obj{"name": name, "labels": labels}
	if namespace != "" {
		m["namespace"] = namespace
	}
	return m
}

func object(apiVersion, kind string, meta obj) obj {
	return obj{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
}

func standardLabels(organization, pipeline string) obj {
	labels := obj{managedByLabel: managedByValue, organizationLabel: organization}
	if pipeline != "" {
		labels[pipelineLabel] = pipeline
	}
	return labels
}

func namespaceWithPodSecurity(name string, labels obj, enforce string) obj {
	labels["pod-security.kubernetes.io/enforce"] = enforce
	labels["pod-security.kubernetes.io/warn"] = "restricted"
	labels["pod-security.kubernetes.io/audit"] = "restricted"
	return object("v1", "Namespace", metadata(name, "", labels))
}

func gvkOf(o obj) schema.GroupVersionKind {
	apiVersion, _ := o["apiVersion"].(string)
	kind, _ := o["kind"].(string)
	return schema.FromAPIVersionAndKind(apiVersion, kind)
}

func describeChild(o obj) string {
	ns := nested(o, "metadata", "namespace")
	if ns != "" {
		ns += "/"
	}
	return fmt.Sprintf("%s %s%s", o["kind"], ns, nested(o, "metadata", "name"))
}
