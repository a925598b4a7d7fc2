package main

// The RepoBinding controller (src/aphex/repobinding): once its Organization is Ready, the pipeline
// namespace (claimed with a create), then the Pipeline, access, guardrails, GitOps and trigger
// children, each group reported by its condition; status with Ready and observedGeneration.

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

type RepoBindingReconciler struct {
	client.Client
	writer *childWriter
	status *statusWriter
	config *controllerConfig
}

type bindingPass struct {
	*pass
	live         *unstructured.Unstructured
	binding      RepoBinding
	status       RepoBindingStatus
	organization *Organization
	// createdNamespace: this pass created the pipeline namespace (see childWriter.applyOwned).
	createdNamespace bool
}

func (r *RepoBindingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvkRepoBinding)
	if err := r.Get(ctx, req.NamespacedName, live); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	p := &bindingPass{live: live}
	if err := fromUnstructured(live, &p.binding); err != nil {
		log.FromContext(ctx).Error(err, "cannot read object")
		return ctrl.Result{}, nil
	}
	// The CRD's defaults, as the API server gives them.
	spec := &p.binding.Spec
	if spec.TemplateRef == "" {
		spec.TemplateRef = templateRefDefault
	}
	if spec.Branch == "" {
		spec.Branch = "main"
	}
	if spec.DeletionPolicy == "" {
		spec.DeletionPolicy = "Retain"
	}
	p.pass = newPass(live, p.binding.Status.Conditions)
	p.status = p.binding.Status
	p.status.Phase = ""
	if p.deleting {
		return r.cleanUp(ctx, p)
	}
	r.provision(ctx, p)
	p.summarise("repository " + repositoryFullName(&p.binding) + " runs pipeline " + spec.PipelineName +
		" on pushes to " + spec.Branch)
	return r.writeStatus(ctx, p)
}

func (r *RepoBindingReconciler) writeStatus(ctx context.Context, p *bindingPass) (ctrl.Result, error) {
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

func (r *RepoBindingReconciler) provision(ctx context.Context, p *bindingPass) {
	b := &p.binding
	p.status.GithubWebhookSettingsURL = githubWebhookSettingsURL(b)
	if errors := validateBinding(b, r.config.platformNamespace); len(errors) > 0 {
		reason := "InvalidSpec"
		if errors[0].path == "metadata.namespace" {
			reason = "WrongNamespace"
		}
		p.stopAt(failed(reason, describeErrors(errors), false), "")
		return
	}
	p.status.PipelineNamespace = b.Spec.PipelineName
	if !r.organizationAllows(ctx, p) {
		return // the Organization's watch wakes this binding
	}
	// Whose the namespace is comes before the finalizer: a binding that may not have it never
	// holds a finalizer, so deleting it cannot touch what belongs to someone else.
	cachedNamespace, cachedObject, err := r.writer.cached(ctx, gvkNamespace, "", b.Spec.PipelineName)
	if err != nil {
		r.namespaceFailed(p, failed("ReadFailed", "namespace "+b.Spec.PipelineName+": "+err.Error(), true))
		return
	}
	claim := r.namespaceOwnership(ctx, p, cachedNamespace, cachedObject)
	if !claim.succeeded() {
		r.namespaceFailed(p, claim)
		return
	}
	if !controllerutil.ContainsFinalizer(p.live, finalizerName) {
		if err := r.writer.addFinalizer(ctx, p.live); err != nil {
			p.stopAt(failed("FinalizerNotAdded", "adding finalizer "+finalizerName+": "+err.Error(), true), "")
			return
		}
	}
	ns := r.applyNamespace(ctx, p, cachedNamespace, claim)
	if !ns.succeeded() {
		r.namespaceFailed(p, ns)
		return
	}
	p.set("NamespaceReady", ns)
	r.applyChildren(ctx, p)
	p.status.WebhookURL = p.organization.Status.WebhookURL
	p.status.WebhookSecretRef = p.organization.Status.WebhookSecretRef
}

func (r *RepoBindingReconciler) namespaceFailed(p *bindingPass, failure stepResult) {
	p.set("NamespaceReady", failure)
	p.stopAt(failure, "NamespaceNotReady")
}

func (r *RepoBindingReconciler) applyChildren(ctx context.Context, p *bindingPass) {
	b := &p.binding
	owner := ownership{value: bindingKey(b)}
	if p.createdNamespace {
		owner.freshNamespace = b.Spec.PipelineName
	}
	pipeline, parseErr := parsePipelineSpec(b.Spec.PipelineSpec)
	apiServers := apiServerEndpoints(ctx, r.Client)
	if parseErr != nil {
		p.set("PipelineReady", failed("InvalidPipelineSpec", "spec."+parseErr.Error(), false))
	} else if applied := r.writer.applyOwned(ctx, []obj{pipelineObject(b, pipeline)}, "Pipeline", owner); !applied.succeeded() {
		p.set("PipelineReady", applied)
	} else {
		p.set("PipelineReady", ok("Applied", "Pipeline "+b.Spec.PipelineName+" is in place"))
	}
	p.set("AccessReady", r.writer.applyOwned(ctx, accessChildren(b), "pipeline-runner access", owner))
	p.set("GuardrailsReady", r.writer.applyOwned(ctx, guardrailChildren(b, r.config, apiServers),
		"quota, limits and network policy", owner))
	p.set("GitOpsReady", r.writer.applyOwned(ctx, gitOpsChildren(b, r.config), "AppProject and Terraform backend", owner))
	sourceWorkspace := parseErr == nil && declaresSourceWorkspace(pipeline)
	p.set("TriggerReady", r.writer.applyOwned(ctx, triggerChildren(b, sourceWorkspace), "Trigger", owner))
}

// organizationAllows: the Organization must be Ready for a binding to be provisioned the first
// time; once provisioned (it holds the finalizer) the binding keeps going while the
// Organization's webhook works.
func (r *RepoBindingReconciler) organizationAllows(ctx context.Context, p *bindingPass) bool {
	name := p.binding.Spec.AphexOrg
	where := "Organization " + name + " in " + r.config.platformNamespace
	wait := func(reason, message string) bool {
		p.stopAt(waiting(reason, message, 0), "")
		return false
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvkOrganization)
	if err := r.Get(ctx, types.NamespacedName{Namespace: r.config.platformNamespace, Name: name}, live); err != nil {
		if apierrors.IsNotFound(err) {
			return wait("OrganizationNotFound", where+" does not exist; the binding waits for it")
		}
		return wait("OrganizationUnreadable", where+": "+err.Error())
	}
	org := &Organization{}
	if err := fromUnstructured(live, org); err != nil {
		return wait("OrganizationUnreadable", where+": "+err.Error())
	}
	if org.DeletionTimestamp != nil {
		return wait("OrganizationDeleting", where+" is being deleted")
	}
	ready := meta.IsStatusConditionTrue(org.Status.Conditions, "Ready") && org.Status.ObservedGeneration == org.Generation
	provisioned := controllerutil.ContainsFinalizer(p.live, finalizerName)
	webhook := meta.IsStatusConditionTrue(org.Status.Conditions, "WebhookReady")
	if !ready && !(provisioned && webhook) {
		return wait("OrganizationNotReady", where+" is not Ready yet")
	}
	p.organization = org
	return true
}

const namespaceAbsent = "Absent"

// namespaceOwnership: a pipeline namespace is this binding's alone; one another RepoBinding
// made, or Aphex did not make, is refused unless it was retained from a binding of the same
// organization and pipeline.
func (r *RepoBindingReconciler) namespaceOwnership(ctx context.Context, p *bindingPass, cached map[string]any, cachedObject client.Object) stepResult {
	ns := p.binding.Spec.PipelineName
	mine := bindingKey(&p.binding)
	live, liveObject := cached, cachedObject
	if live == nil {
		// Not in the cache, which holds only what Aphex made: ask whether it exists at all.
		fetched, fetchedObject, err := r.writer.fetched(ctx, gvkNamespace, "", ns)
		if apierrors.IsNotFound(err) {
			return ok(namespaceAbsent, "")
		}
		if err != nil {
			return failed("ReadFailed", "namespace "+ns+": "+err.Error(), true)
		}
		live, liveObject = fetched, fetchedObject
	}
	if liveObject.GetDeletionTimestamp() != nil {
		return waiting("NamespaceTerminating", "namespace "+ns+" is still being deleted; waiting for it to go", waitInterval)
	}
	owner := annotationOf(live, repoBindingAnnotation)
	if owner == mine || (cached != nil && owner == "") {
		return ok("Owned", "")
	}
	if cached != nil {
		return failed("NamespaceConflict", "namespace "+ns+" belongs to RepoBinding "+owner+"; choose another spec.pipelineName", false)
	}
	if annotationOf(live, retainedAnnotation) == p.binding.Spec.AphexOrg+"/"+ns {
		return ok("Adopted", "")
	}
	return failed("NamespaceConflict", "namespace "+ns+" already exists and was not made by Aphex for organization "+
		p.binding.Spec.AphexOrg+"; choose another spec.pipelineName", false)
}

// applyNamespace: an absent namespace is created with a create-only write, so that of two
// bindings claiming one name at once only one gets it.
func (r *RepoBindingReconciler) applyNamespace(ctx context.Context, p *bindingPass, cached map[string]any, claim stepResult) stepResult {
	ns := p.binding.Spec.PipelineName
	level := p.organization.Spec.PipelinePodSecurity
	if level == "" {
		level = defaultPipelinePodPolicy
	}
	desired := bindingNamespaceObject(&p.binding, level)
	var err error
	if claim.reason == namespaceAbsent {
		err = r.writer.create(ctx, desired)
	} else {
		_, err = r.writer.apply(ctx, desired, cached)
	}
	if apierrors.IsAlreadyExists(err) {
		return failed("NamespaceAppeared", "namespace "+ns+" appeared meanwhile; looking at whose it is", true)
	}
	if err != nil {
		return failed("ApplyFailed", "namespace "+ns+": "+err.Error(), true)
	}
	p.createdNamespace = claim.reason == namespaceAbsent
	return ok("Applied", "namespace "+ns+" is ready (Pod Security "+level+" enforced)")
}

// ---- deletion (src/aphex/repobinding/finalize.cc) -------------------------------------------

func (r *RepoBindingReconciler) cleanUp(ctx context.Context, p *bindingPass) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(p.live, finalizerName) {
		return ctrl.Result{}, nil
	}
	if p.binding.Status.Phase != "Terminating" {
		p.stopAt(waiting("Deleting", "cleaning up before the object goes", 0), "")
		if result, err := r.writeStatus(ctx, p); err != nil {
			return result, err
		}
		p.pass = newPass(p.live, p.conditions)
	}
	for _, step := range []func(context.Context, *bindingPass) *stepResult{r.deleteApplications, r.deleteChildren, r.deleteOrReleaseNamespace} {
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

func (r *RepoBindingReconciler) ownedByThisBinding(p *bindingPass, o map[string]any) bool {
	return o != nil && annotationOf(o, repoBindingAnnotation) == bindingKey(&p.binding)
}

// deleteApplications: the team's Argo CD Applications in the pipeline namespace go first; the
// binding waits for them before the AppProject goes.
func (r *RepoBindingReconciler) deleteApplications(ctx context.Context, p *bindingPass) *stepResult {
	ns, _, err := r.writer.cached(ctx, gvkNamespace, "", p.binding.Spec.PipelineName)
	if err != nil {
		return retryableCleanup("reading namespace: " + err.Error())
	}
	if !r.ownedByThisBinding(p, ns) {
		return nil
	}
	applications := newList(r.writer.scheme, gvkApplication)
	if err := r.writer.reader.List(ctx, applications, client.InNamespace(p.binding.Spec.PipelineName)); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil // Argo CD is not installed: nothing to delete
		}
		return retryableCleanup("listing Argo CD Applications: " + err.Error())
	}
	items := applications.(*unstructured.UnstructuredList).Items
	if len(items) == 0 {
		return nil
	}
	for i := range items {
		if items[i].GetDeletionTimestamp() != nil {
			continue
		}
		if err := r.writer.removeIfPresent(ctx, gvkApplication, items[i].GetNamespace(), items[i].GetName()); err != nil {
			return retryableCleanup("deleting Argo CD Application: " + err.Error())
		}
	}
	result := waiting("DeletingApplications", fmt.Sprintf("waiting for %d Argo CD Application(s) of the pipeline to go", len(items)), waitInterval)
	return &result
}

func (r *RepoBindingReconciler) deleteChildren(ctx context.Context, p *bindingPass) *stepResult {
	owner := bindingKey(&p.binding)
	for _, child := range madeObjects(&p.binding, r.config) {
		ns, name := nested(child, "metadata", "namespace"), nested(child, "metadata", "name")
		if err := r.writer.removeIfOwned(ctx, gvkOf(child), ns, name, owner); err != nil {
			return retryableCleanup(fmt.Sprintf("deleting %s %s/%s: %v", strings.ToLower(gvkOf(child).Kind), ns, name, err))
		}
	}
	return nil
}

// deleteOrReleaseNamespace: deletionPolicy Delete deletes the namespace and waits for it to go;
// Retain releases it (Aphex's labels go, it is annotated for adoption).
func (r *RepoBindingReconciler) deleteOrReleaseNamespace(ctx context.Context, p *bindingPass) *stepResult {
	ns := p.binding.Spec.PipelineName
	cached, _, err := r.writer.cached(ctx, gvkNamespace, "", ns)
	if err != nil {
		return retryableCleanup("reading namespace " + ns + ": " + err.Error())
	}
	if cached != nil && !r.ownedByThisBinding(p, cached) {
		return nil
	}
	if p.binding.Spec.DeletionPolicy != "Delete" {
		if cached == nil {
			return nil // never made, or released already
		}
		released := obj{"metadata": obj{
			"labels": obj{managedByLabel: nil, organizationLabel: nil, pipelineLabel: nil},
			"annotations": obj{repoBindingAnnotation: nil, appliedHashAnnotation: nil,
				retainedAnnotation: p.binding.Spec.AphexOrg + "/" + ns},
		}}
		target := &corev1.Namespace{}
		target.Name = ns
		err := r.Patch(ctx, target, client.RawPatch(types.MergePatchType, []byte(compactJSON(released))), client.FieldOwner(fieldManager))
		if err != nil && !apierrors.IsNotFound(err) {
			return retryableCleanup("releasing namespace " + ns + ": " + err.Error())
		}
		return nil
	}
	current, _, err := r.writer.fetched(ctx, gvkNamespace, "", ns)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return retryableCleanup("reading namespace " + ns + ": " + err.Error())
	}
	if !r.ownedByThisBinding(p, current) {
		return nil
	}
	if err := r.writer.removeIfPresent(ctx, gvkNamespace, "", ns); err != nil {
		return retryableCleanup("deleting namespace " + ns + ": " + err.Error())
	}
	result := waiting("DeletingNamespace", "waiting for namespace "+ns+" to go", waitInterval)
	return &result
}
