// aphex-peer: the Organization and RepoBinding controllers of Aphex written the idiomatic
// controller-runtime way, for comparison with the C++ aphex-controller (bench/run-peer-comparison).
// It takes aphex-controller's flags that the benchmark uses, makes the same children and reports
// the same status; see README.md for what differs.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

type flags struct {
	config                  controllerConfig
	leaderElect             bool
	noLeaderElect           bool
	leaderElectionID        string
	metricsAddress          string
	probeAddress            string
	organizationConcurrency int
	repoBindingConcurrency  int
	logLevel                string
	logFormat               string
	applyUnchanged          bool
}

func parseFlags() flags {
	var f flags
	f.config.limits = defaultTenantLimits()
	flag.StringVar(&f.config.platformNamespace, "platform-namespace", envOr("APHEX_PLATFORM_NAMESPACE", "platform-system"),
		"where Organizations live (and RepoBindings, besides org namespaces)")
	flag.StringVar(&f.config.argocdNamespace, "argocd-namespace", envOr("APHEX_ARGOCD_NAMESPACE", "argocd"),
		"where Argo CD reads AppProjects")
	flag.StringVar(&f.config.objectSelector, "object-selector", "", "label selector: only the Organizations and RepoBindings it matches")
	flag.BoolVar(&f.leaderElect, "leader-elect", true, "take a Lease before reconciling")
	flag.BoolVar(&f.noLeaderElect, "no-leader-elect", false, "do not take a Lease (one replica only)")
	flag.StringVar(&f.leaderElectionID, "leader-election-id", "aphex-peer", "name of the Lease")
	flag.StringVar(&f.metricsAddress, "metrics-bind-address", ":8080", "address of /metrics")
	flag.StringVar(&f.probeAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.IntVar(&f.organizationConcurrency, "organization-concurrency", 2, "Organizations reconciled at once (Aphex's default)")
	flag.IntVar(&f.repoBindingConcurrency, "repo-binding-concurrency", 4, "RepoBindings reconciled at once (Aphex's default)")
	flag.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&f.logFormat, "log-format", "json", "json or text")
	flag.BoolVar(&f.applyUnchanged, "apply-unchanged", false,
		"apply every child on every pass, even when the cached object already holds it (Aphex skips those)")
	flag.Parse()
	if f.noLeaderElect {
		f.leaderElect = false
	}
	return f
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func logger(f flags) (zap.Opts, zap.Opts) {
	level := zapcore.InfoLevel
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		level = zapcore.InfoLevel
	}
	encoder := zap.JSONEncoder()
	if f.logFormat == "text" {
		encoder = zap.ConsoleEncoder()
	}
	return zap.Level(level), encoder
}

func main() {
	f := parseFlags()
	level, encoder := logger(f)
	ctrl.SetLogger(zap.New(level, encoder))
	if err := run(f); err != nil {
		ctrl.Log.Error(err, "stopped")
		os.Exit(1)
	}
	ctrl.Log.Info("stopped cleanly")
}

func run(f flags) error {
	config := &f.config
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	object := func(gvk schema.GroupVersionKind) client.Object { return newObject(scheme, gvk) }

	managed := labels.SelectorFromSet(labels.Set{managedByLabel: managedByValue})
	own := labels.Everything()
	if config.objectSelector != "" {
		selector, err := labels.Parse(config.objectSelector)
		if err != nil {
			return fmt.Errorf("--object-selector: %w", err)
		}
		own = selector
	}
	// Each informer caches only what the controller needs, as Aphex's do: children by the
	// managed-by label, AppProjects in Argo CD's namespace, Organizations in the platform namespace,
	// the API server's EndpointSlices; managedFields are dropped before anything is cached.
	byObject := map[client.Object]cache.ByObject{
		object(gvkOrganization):  {Namespaces: map[string]cache.Config{config.platformNamespace: {}}, Label: own},
		object(gvkRepoBinding):   {Label: own},
		object(gvkEndpointSlice): {Namespaces: map[string]cache.Config{"default": {}}, Label: labels.SelectorFromSet(labels.Set{"kubernetes.io/service-name": "kubernetes"})},
	}
	for _, gvk := range childKinds {
		options := cache.ByObject{Label: managed}
		if gvk == gvkAppProject {
			options.Namespaces = map[string]cache.Config{config.argocdNamespace: {}}
		}
		byObject[object(gvk)] = options
	}

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: f.metricsAddress},
		HealthProbeBindAddress:  f.probeAddress,
		LeaderElection:          f.leaderElect,
		LeaderElectionID:        f.leaderElectionID,
		LeaderElectionNamespace: config.platformNamespace,
		Cache:                   cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: byObject},
		// Unstructured objects (the CRD kinds) are read from the cache too.
		Client: client.Options{Cache: &client.CacheOptions{Unstructured: true}},
	})
	if err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()

	if err := mgr.GetFieldIndexer().IndexField(ctx, object(gvkRepoBinding), bindingsByOrgIndex, func(o client.Object) []string {
		if org := nested(o.(*unstructured.Unstructured).Object, "spec", "aphexOrg"); org != "" {
			return []string{org}
		}
		return nil
	}); err != nil {
		return err
	}

	// The Event API most controllers use: one Event per transition, each with its own note, as
	// Aphex records them. (Its replacement, GetEventRecorder, merges transitions that share a
	// reason into one events.k8s.io series and keeps only the first note.)
	recorder := mgr.GetEventRecorderFor("aphex-controller") //nolint:staticcheck // see above
	writer := &childWriter{client: mgr.GetClient(), reader: mgr.GetAPIReader(), scheme: scheme, applyUnchanged: f.applyUnchanged}
	status := &statusWriter{client: mgr.GetClient(), recorder: recorder}
	c := mgr.GetClient()
	platform := config.platformNamespace

	// ---- organization ----
	orgs := ctrl.NewControllerManagedBy(mgr).Named("organization").
		For(object(gvkOrganization), builder.WithPredicates(changedApartFromStatus())).
		Watches(object(gvkRepoBinding), handler.EnqueueRequestsFromMapFunc(organizationOfBinding(platform)),
			builder.WithPredicates(projectionChanged(bindingAsTheOrganizationSeesIt))).
		Watches(object(gvkEndpointSlice), handler.EnqueueRequestsFromMapFunc(all(c, gvkOrganization, platform))).
		WithOptions(controller.Options{MaxConcurrentReconciles: f.organizationConcurrency})
	for _, gvk := range childKinds {
		orgs = orgs.Watches(object(gvk), handler.EnqueueRequestsFromMapFunc(organizationOfChild(platform)))
	}
	if err := orgs.Complete(&OrganizationReconciler{Client: c, writer: writer, status: status, recorder: recorder, config: config}); err != nil {
		return err
	}

	// ---- repobinding ----
	bindings := ctrl.NewControllerManagedBy(mgr).Named("repobinding").
		For(object(gvkRepoBinding), builder.WithPredicates(changedApartFromStatus())).
		Watches(object(gvkOrganization), handler.EnqueueRequestsFromMapFunc(bindingsOfOrganization(c)),
			builder.WithPredicates(projectionChanged(organizationAsABindingSeesIt))).
		Watches(object(gvkEndpointSlice), handler.EnqueueRequestsFromMapFunc(all(c, gvkRepoBinding, ""))).
		WithOptions(controller.Options{MaxConcurrentReconciles: f.repoBindingConcurrency})
	for _, gvk := range childKinds {
		bindings = bindings.Watches(object(gvk), handler.EnqueueRequestsFromMapFunc(bindingOfChild))
	}
	if err := bindings.Complete(&RepoBindingReconciler{Client: c, writer: writer, status: status, config: config}); err != nil {
		return err
	}

	// Live once the manager serves; ready once every informer has listed (as Aphex's /readyz).
	watched := append([]schema.GroupVersionKind{gvkOrganization, gvkRepoBinding, gvkEndpointSlice}, childKinds...)
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("informers", informersSynced(mgr, watched, object)); err != nil {
		return err
	}
	ctrl.Log.Info("starting", "platform_namespace", platform, "leader_election", f.leaderElect)
	return mgr.Start(ctx)
}

// informersSynced: ready when the informer of every watched kind has listed.
func informersSynced(mgr manager.Manager, kinds []schema.GroupVersionKind, object func(schema.GroupVersionKind) client.Object) healthz.Checker {
	return func(req *http.Request) error {
		for _, gvk := range kinds {
			informer, err := mgr.GetCache().GetInformer(req.Context(), object(gvk), cache.BlockUntilSynced(false))
			if err != nil {
				return err
			}
			if !informer.HasSynced() {
				return fmt.Errorf("the %s cache has not synced yet", gvk.Kind)
			}
		}
		return nil
	}
}

// ---- which changes wake what (src/aphex/controllers.cc) -------------------------------------

// changedApartFromStatus: the primary objects wake their controller when anything but their
// status (or resourceVersion) changed: spec, labels, annotations, finalizers, deletion.
func changedApartFromStatus() predicate.Predicate {
	strip := func(o client.Object) map[string]any {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return nil
		}
		out := map[string]any{}
		for k, v := range u.Object {
			if k != "status" {
				out[k] = v
			}
		}
		if m, ok := u.Object["metadata"].(map[string]any); ok {
			meta := map[string]any{}
			for k, v := range m {
				if k != "resourceVersion" && k != "managedFields" {
					meta[k] = v
				}
			}
			out["metadata"] = meta
		}
		return out
	}
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !reflect.DeepEqual(strip(e.ObjectOld), strip(e.ObjectNew))
	}}
}

// projectionChanged: an update wakes the other controller only when what it reads changed.
func projectionChanged(projection func(map[string]any) []any) predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		before, okBefore := e.ObjectOld.(*unstructured.Unstructured)
		after, okAfter := e.ObjectNew.(*unstructured.Unstructured)
		if !okBefore || !okAfter {
			return true
		}
		return !reflect.DeepEqual(projection(before.Object), projection(after.Object))
	}}
}

func field(o map[string]any, path ...string) any {
	value, _, _ := unstructured.NestedFieldNoCopy(o, path...)
	return value
}

// What an Organization reads of a RepoBinding: its organization, whether it is being deleted,
// and the namespace it serves once Ready.
func bindingAsTheOrganizationSeesIt(b map[string]any) []any {
	return []any{field(b, "spec", "aphexOrg"), field(b, "metadata", "deletionTimestamp"),
		field(b, "status", "pipelineNamespace"), conditionStatus(b, "Ready")}
}

// What a RepoBinding reads of its Organization: generation, deletion, and the status that says
// whether its webhook serves.
func organizationAsABindingSeesIt(o map[string]any) []any {
	projection := []any{field(o, "metadata", "generation"), field(o, "metadata", "deletionTimestamp")}
	if _, ok := o["status"].(map[string]any); !ok {
		return projection
	}
	var conditions []any
	list, _, _ := unstructured.NestedSlice(o, "status", "conditions")
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			conditions = append(conditions, []any{m["type"], m["status"]})
		}
	}
	return append(projection, field(o, "status", "observedGeneration"), conditions,
		field(o, "status", "webhookURL"), field(o, "status", "webhookSecretRef"))
}

func organizationOfBinding(platform string) handler.MapFunc {
	return func(_ context.Context, o client.Object) []ctrl.Request {
		org := nested(o.(*unstructured.Unstructured).Object, "spec", "aphexOrg")
		if org == "" {
			return nil
		}
		return []ctrl.Request{{NamespacedName: types.NamespacedName{Namespace: platform, Name: org}}}
	}
}

// Children that carry the pipeline label are a RepoBinding's, not the organization's.
func organizationOfChild(platform string) handler.MapFunc {
	return func(_ context.Context, o client.Object) []ctrl.Request {
		l := o.GetLabels()
		org := l[organizationLabel]
		if _, pipeline := l[pipelineLabel]; org == "" || pipeline {
			return nil
		}
		return []ctrl.Request{{NamespacedName: types.NamespacedName{Namespace: platform, Name: org}}}
	}
}

func bindingOfChild(_ context.Context, o client.Object) []ctrl.Request {
	key := o.GetAnnotations()[repoBindingAnnotation]
	ns, name, found := strings.Cut(key, "/")
	if !found {
		return nil
	}
	return []ctrl.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}

func bindingsOfOrganization(c client.Client) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrl.Request {
		bindings := &unstructured.UnstructuredList{}
		bindings.SetGroupVersionKind(gvkRepoBinding.GroupVersion().WithKind("RepoBindingList"))
		if err := c.List(ctx, bindings, client.MatchingFields{bindingsByOrgIndex: o.GetName()}); err != nil {
			return nil
		}
		requests := make([]ctrl.Request, 0, len(bindings.Items))
		for i := range bindings.Items {
			requests = append(requests, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&bindings.Items[i])})
		}
		return requests
	}
}

// all: every object of a kind (the API server's addresses are in every NetworkPolicy).
func all(c client.Client, gvk schema.GroupVersionKind, namespace string) handler.MapFunc {
	return func(ctx context.Context, _ client.Object) []ctrl.Request {
		objects := &unstructured.UnstructuredList{}
		objects.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, objects, client.InNamespace(namespace)); err != nil {
			return nil
		}
		requests := make([]ctrl.Request, 0, len(objects.Items))
		for i := range objects.Items {
			requests = append(requests, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&objects.Items[i])})
		}
		return requests
	}
}
