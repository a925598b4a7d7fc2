package main

// The Organization controller (src/aphex/organization): namespace org-<name>, the webhook Secret
// and listener with their RBAC, the org's NetworkPolicy and quota, the secret store, the admins'
// RoleBindings, exposure None; status with conditions, Ready and observedGeneration.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

const webhookSecretBytes = 32

type OrganizationReconciler struct {
	client.Client
	writer   *childWriter
	status   *statusWriter
	recorder record.EventRecorder
	config   *controllerConfig
}

// orgPass: one pass over one Organization.
type orgPass struct {
	*pass
	live   *unstructured.Unstructured
	org    Organization
	status OrganizationStatus
}

func (r *OrganizationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvkOrganization)
	if err := r.Get(ctx, req.NamespacedName, live); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	p := &orgPass{live: live}
	if err := fromUnstructured(live, &p.org); err != nil {
		log.FromContext(ctx).Error(err, "cannot read object")
		return ctrl.Result{}, nil
	}
	p.pass = newPass(live, p.org.Status.Conditions)
	p.status = p.org.Status
	p.status.Phase = ""
	if p.deleting {
		return r.cleanUp(ctx, p)
	}
	r.provision(ctx, p)
	p.summarise("every part of the organization is ready")
	return r.writeStatus(ctx, p)
}

func (r *OrganizationReconciler) writeStatus(ctx context.Context, p *orgPass) (ctrl.Result, error) {
	p.status.ObservedGeneration = p.generation
	p.status.Phase = p.phase()
	p.status.Conditions = p.conditions
	written, gone, err := r.status.write(ctx, p.live, &p.status, p.pass)
	if gone {
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("writing status: %w", err)
	}
	if written != nil {
		p.live.SetResourceVersion(written.GetResourceVersion())
	}
	return p.outcome()
}

// bindingsOf: the Organization's RepoBindings, from the cache's index by spec.aphexOrg.
func (r *OrganizationReconciler) bindingsOf(ctx context.Context, name string) ([]unstructured.Unstructured, error) {
	bindings := &unstructured.UnstructuredList{}
	bindings.SetGroupVersionKind(gvkRepoBinding.GroupVersion().WithKind("RepoBindingList"))
	if err := r.List(ctx, bindings, client.MatchingFields{bindingsByOrgIndex: name}); err != nil {
		return nil, err
	}
	return bindings.Items, nil
}

// repoNamespaces: the pipeline namespaces of the Ready bindings not being deleted, sorted.
func repoNamespaces(bindings []unstructured.Unstructured) []string {
	var namespaces []string
	for i := range bindings {
		b := &bindings[i]
		if b.GetDeletionTimestamp() != nil {
			continue
		}
		ns := nested(b.Object, "status", "pipelineNamespace")
		if ns != "" && conditionStatus(b.Object, "Ready") == "True" {
			namespaces = append(namespaces, ns)
		}
	}
	return sortedUnique(namespaces)
}

// conditionStatus: the status of condition `conditionType` of an object given as JSON values.
func conditionStatus(o map[string]any, conditionType string) string {
	conditions, _, _ := unstructured.NestedSlice(o, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == conditionType {
			status, _ := m["status"].(string)
			return status
		}
	}
	return ""
}

// apiServerEndpoints: where the API server listens, from the default/kubernetes EndpointSlices.
func apiServerEndpoints(ctx context.Context, c client.Client) []apiServerEndpoint {
	slices := &discoveryv1.EndpointSliceList{}
	if err := c.List(ctx, slices, client.InNamespace("default"),
		client.MatchingLabels{discoveryv1.LabelServiceName: "kubernetes"}); err != nil {
		return nil
	}
	seen := map[apiServerEndpoint]bool{}
	var out []apiServerEndpoint
	for _, slice := range slices.Items {
		var port int64
		for _, p := range slice.Ports {
			if p.Name != nil && *p.Name == "https" && p.Port != nil {
				port = int64(*p.Port)
			}
		}
		if port == 0 {
			continue
		}
		for _, e := range slice.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, address := range e.Addresses {
				endpoint := apiServerEndpoint{ip: address, port: port}
				if !seen[endpoint] {
					seen[endpoint] = true
					out = append(out, endpoint)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ip != out[j].ip {
			return out[i].ip < out[j].ip
		}
		return out[i].port < out[j].port
	})
	return out
}

func (r *OrganizationReconciler) provision(ctx context.Context, p *orgPass) {
	org := &p.org
	p.status.Namespace = orgNamespace(org.Name)
	p.status.WebhookURL = orgWebhookURL(org)
	bindings, err := r.bindingsOf(ctx, org.Name)
	if err != nil {
		p.stopAt(failed("ListFailed", "listing the organization's RepoBindings: "+err.Error(), true), "")
		return
	}
	p.status.RepoBindings = int32(len(bindings))
	if errors := validateOrganization(org); len(errors) > 0 {
		p.stopAt(failed("InvalidSpec", describeErrors(errors), false), "")
		return
	}
	if !controllerutil.ContainsFinalizer(p.live, finalizerName) {
		if err := r.writer.addFinalizer(ctx, p.live); err != nil {
			p.stopAt(failed("FinalizerNotAdded", "adding finalizer "+finalizerName+": "+err.Error(), true), "")
			return
		}
	}
	if ns := r.applyNamespace(ctx, p); !p.set("NamespaceReady", ns) {
		p.stopAt(ns, "NamespaceNotReady")
		return
	}
	p.set("WebhookReady", r.applyWebhook(ctx, p, repoNamespaces(bindings)))
	p.set("SecretStoreReady", r.applySecretStore(ctx, p))
	p.set("AccessReady", r.applyAccess(ctx, p))
	p.set("ExposureReady", r.applyExposure(ctx, p))
}

func (r *OrganizationReconciler) applyNamespace(ctx context.Context, p *orgPass) stepResult {
	desired := orgNamespaceObject(&p.org)
	live, o, err := r.writer.cached(ctx, gvkNamespace, "", p.status.Namespace)
	if err != nil {
		return failed("ApplyFailed", "namespace "+p.status.Namespace+": "+err.Error(), true)
	}
	if o != nil && o.GetDeletionTimestamp() != nil {
		return waiting("NamespaceTerminating", "namespace "+p.status.Namespace+" is still being deleted; waiting for it to go", waitInterval)
	}
	if _, err := r.writer.apply(ctx, desired, live); err != nil {
		return failed("ApplyFailed", "namespace "+p.status.Namespace+": "+err.Error(), true)
	}
	return ok("Applied", "namespace "+p.status.Namespace+" is ready")
}

func (r *OrganizationReconciler) applyWebhook(ctx context.Context, p *orgPass, namespaces []string) stepResult {
	if secret := r.ensureWebhookSecret(ctx, p); !secret.succeeded() {
		return secret
	}
	if applied := r.writer.applyAll(ctx, webhookChildren(&p.org, namespaces), "webhook listener"); !applied.succeeded() {
		return applied
	}
	children := isolationChildren(&p.org, r.config, apiServerEndpoints(ctx, r.Client))
	if applied := r.writer.applyAll(ctx, children, "network policy"); !applied.succeeded() {
		return applied
	}
	p.status.WebhookSecretRef = &SecretKeyRef{Namespace: p.status.Namespace, Name: webhookSecretName, Key: webhookSecretKey}
	return ok("ListenerReady", fmt.Sprintf("EventListener %s verifies signatures and serves the organization's Ready repositories",
		eventListenerName))
}

func randomHex(bytes int) string {
	buffer := make([]byte, bytes)
	if _, err := rand.Read(buffer); err != nil {
		panic("crypto/rand failed: refusing to make a weak secret")
	}
	return hex.EncodeToString(buffer)
}

func secretValue(secret map[string]any) string {
	encoded := nested(secret, "data", webhookSecretKey)
	value, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return ""
	}
	return string(value)
}

// ensureWebhookSecret: made once, kept across passes, replaced only on request
// (src/aphex/organization/webhook_secret.cc).
func (r *OrganizationReconciler) ensureWebhookSecret(ctx context.Context, p *orgPass) stepResult {
	ns := p.status.Namespace
	requested := p.live.GetAnnotations()[rotateWebhookAnnotation]
	needsNewValue := func(secret map[string]any) bool {
		return secret == nil || secretValue(secret) == "" || annotationOf(secret, rotationAnnotation) != requested
	}
	current, _, err := r.writer.cached(ctx, gvkSecret, ns, webhookSecretName)
	if err != nil {
		return failed("SecretUnreadable", "reading the webhook secret: "+err.Error(), true)
	}
	if needsNewValue(current) {
		// The cache may not have seen our own last write yet; making a second secret because of
		// that would break every webhook configured with the first. Ask the server.
		fetched, _, err := r.writer.fetched(ctx, gvkSecret, ns, webhookSecretName)
		switch {
		case err == nil:
			current = fetched
		case !apierrors.IsNotFound(err):
			return failed("SecretUnreadable", "reading the webhook secret: "+err.Error(), true)
		}
	}
	generate := needsNewValue(current)
	value := secretValue(current)
	if generate {
		value = randomHex(webhookSecretBytes)
	}
	if _, err := r.writer.apply(ctx, webhookSecret(&p.org, value, requested), current); err != nil {
		return failed("ApplyFailed", "webhook secret: "+err.Error(), true)
	}
	if generate {
		r.recordNewSecret(ctx, p, current != nil)
	}
	return ok("SecretReady", "webhook secret present")
}

func (r *OrganizationReconciler) recordNewSecret(ctx context.Context, p *orgPass, replacedExisting bool) {
	where := p.status.Namespace + "/" + webhookSecretName
	reason, note := "WebhookSecretCreated", "Secret "+where+" created"
	switch {
	case replacedExisting:
		reason, note = "WebhookSecretRotated", "Secret "+where+" has a new value as requested: update the GitHub webhooks"
	case p.org.Status.WebhookSecretRef != nil:
		reason, note = "WebhookSecretRecreated", "Secret "+where+" was deleted; a new value was made: update the GitHub webhooks"
	}
	r.recorder.Event(p.live, corev1.EventTypeNormal, reason, note)
	log.FromContext(ctx).Info("webhook secret written", "secret", where, "reason", reason)
}

func (r *OrganizationReconciler) applySecretStore(ctx context.Context, p *orgPass) stepResult {
	if applied := r.writer.applyAll(ctx, secretStoreChildren(&p.org), "secret store"); !applied.succeeded() {
		return applied
	}
	return ok("StoreReady", "ClusterSecretStore "+clusterSecretStoreName(&p.org)+" serves Secret "+orgSecretsName+
		" to the org's namespaces")
}

// applyAccess applies the admin bindings and deletes those of admins no longer listed.
func (r *OrganizationReconciler) applyAccess(ctx context.Context, p *orgPass) stepResult {
	desired := adminBindings(&p.org)
	if applied := r.writer.applyAll(ctx, desired, "admin access"); !applied.succeeded() {
		return applied
	}
	wanted := map[string]bool{}
	for _, child := range desired {
		wanted[nested(child, "metadata", "name")] = true
	}
	existing := &rbacv1.RoleBindingList{}
	if err := r.List(ctx, existing, client.InNamespace(p.status.Namespace),
		client.MatchingLabels{componentLabel: adminComponent}); err != nil {
		return failed("PruneFailed", "listing admin RoleBindings: "+err.Error(), true)
	}
	for _, rb := range existing.Items {
		if wanted[rb.Name] {
			continue
		}
		if err := r.writer.removeIfPresent(ctx, gvkRoleBinding, rb.Namespace, rb.Name); err != nil {
			return failed("PruneFailed", "removing a former admin's RoleBinding: "+err.Error(), true)
		}
	}
	return ok("AccessGranted", fmt.Sprintf("%d admin user(s) and %d admin group(s) bound to %s",
		len(p.org.Spec.AdminUsers), len(p.org.Spec.AdminGroups), adminClusterRole))
}

// applyExposure: the peer serves exposure None only (the benchmark's); Ingress and Cloudflare
// Tunnel are Aphex's alone, reported here as a permanent failure.
func (r *OrganizationReconciler) applyExposure(ctx context.Context, p *orgPass) stepResult {
	mode := "None"
	if p.org.Spec.Exposure != nil && p.org.Spec.Exposure.Mode != "" {
		mode = p.org.Spec.Exposure.Mode
	}
	if mode != "None" {
		return failed("NotSupported", "exposure "+mode+" is not implemented by the controller-runtime peer", false)
	}
	if result := r.removeOtherExposures(ctx, p); !result.succeeded() {
		return result
	}
	return ok("InClusterOnly", "exposure None: the webhook URL is reachable inside the cluster only")
}

// removeOtherExposures: what another mode left behind (an Ingress; cloudflared's objects are
// only reported, since the peer has no Cloudflare client to delete the tunnel with).
func (r *OrganizationReconciler) removeOtherExposures(ctx context.Context, p *orgPass) stepResult {
	ns := orgNamespace(p.org.Name)
	if live, _, err := r.writer.cached(ctx, gvkIngress, ns, eventListenerName); err == nil && live != nil {
		if err := r.writer.removeIfPresent(ctx, gvkIngress, ns, eventListenerName); err != nil {
			return failed("CleanupFailed", "removing the Ingress: "+err.Error(), true)
		}
	}
	token, _, _ := r.writer.cached(ctx, gvkSecret, ns, cloudflaredTokenSecret)
	deployment, _, _ := r.writer.cached(ctx, gvkDeployment, ns, cloudflaredName)
	if token != nil || deployment != nil || p.status.TunnelID != "" {
		return failed("NotSupported", "a Cloudflare tunnel is set up; the controller-runtime peer cannot remove it", false)
	}
	return ok("Kept", "")
}

// ---- deletion (src/aphex/organization/finalize.cc) ------------------------------------------

func (r *OrganizationReconciler) cleanUp(ctx context.Context, p *orgPass) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(p.live, finalizerName) {
		return ctrl.Result{}, nil
	}
	if p.org.Status.Phase != "Terminating" {
		p.stopAt(waiting("Deleting", "cleaning up before the object goes", 0), "")
		if result, err := r.writeStatus(ctx, p); err != nil {
			return result, err
		}
		p.pass = newPass(p.live, p.conditions)
		p.org.Status.Phase = "Terminating"
	}
	for _, step := range []func(context.Context, *orgPass) *stepResult{r.deleteRepoBindings, r.deleteOutsideTheNamespace, r.deleteNamespace} {
		if ended := step(ctx, p); ended != nil {
			p.stopAt(*ended, "")
			return r.writeStatus(ctx, p)
		}
	}
	if err := r.writer.removeFinalizer(ctx, p.live); err != nil {
		return ctrl.Result{}, fmt.Errorf("removing finalizer: %w", err)
	}
	log.FromContext(ctx).Info("cleaned up")
	return ctrl.Result{}, nil
}

func retryableCleanup(message string) *stepResult {
	result := failed("CleanupFailed", message, true)
	return &result
}

func (r *OrganizationReconciler) deleteRepoBindings(ctx context.Context, p *orgPass) *stepResult {
	bindings, err := r.bindingsOf(ctx, p.org.Name)
	if err != nil {
		return retryableCleanup("listing RepoBindings: " + err.Error())
	}
	for i := range bindings {
		b := &bindings[i]
		if b.GetDeletionTimestamp() != nil {
			continue
		}
		if err := r.writer.removeIfPresent(ctx, gvkRepoBinding, b.GetNamespace(), b.GetName()); err != nil {
			return retryableCleanup("deleting RepoBinding: " + err.Error())
		}
	}
	if len(bindings) == 0 {
		return nil
	}
	result := waiting("DeletingRepoBindings", fmt.Sprintf("waiting for %d RepoBinding(s) to go", len(bindings)), waitInterval)
	return &result
}

func (r *OrganizationReconciler) deleteOutsideTheNamespace(ctx context.Context, p *orgPass) *stepResult {
	if err := r.writer.removeIfPresent(ctx, gvkIngress, orgNamespace(p.org.Name), eventListenerName); err != nil {
		return retryableCleanup("removing the Ingress: " + err.Error())
	}
	if err := r.writer.removeIfPresent(ctx, gvkClusterSecretStore, "", clusterSecretStoreName(&p.org)); err != nil {
		return retryableCleanup("deleting clustersecretstores/" + clusterSecretStoreName(&p.org) + ": " + err.Error())
	}
	if err := r.writer.removeIfPresent(ctx, gvkClusterRoleBinding, "", eventListenerBindingName(&p.org)); err != nil {
		return retryableCleanup("deleting clusterrolebindings/" + eventListenerBindingName(&p.org) + ": " + err.Error())
	}
	return nil
}

func (r *OrganizationReconciler) deleteNamespace(ctx context.Context, p *orgPass) *stepResult {
	ns := orgNamespace(p.org.Name)
	if err := r.writer.reader.Get(ctx, types.NamespacedName{Name: ns}, &corev1.Namespace{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return retryableCleanup("reading namespace " + ns + ": " + err.Error())
	}
	if err := r.writer.removeIfPresent(ctx, gvkNamespace, "", ns); err != nil {
		return retryableCleanup("deleting namespace " + ns + ": " + err.Error())
	}
	result := waiting("DeletingNamespace", "waiting for namespace "+ns+" to go", waitInterval)
	return &result
}
