// aphex-etcd runs a single-member etcd server embedded from go.etcd.io/etcd/server/v3/embed.
//
// Building etcd's own main module would pull a second, conflicting dependency graph next to
// Kubernetes; the embed package is the same server code at the version Kubernetes pins, so the
// local control plane gets a real etcd from the module cache it already has.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dataDir := flag.String("data-dir", "", "directory for etcd's data (required)")
	clientURL := flag.String("listen-client-url", "http://127.0.0.1:2379", "URL to serve clients on")
	peerURL := flag.String("listen-peer-url", "http://127.0.0.1:2380", "URL to serve peers on")
	name := flag.String("name", "aphex-local", "member name")
	noFsync := flag.Bool("unsafe-no-fsync", false, "skip fsync: faster, loses data on a machine crash (tests only)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()
	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "aphex-etcd: --data-dir is required")
		os.Exit(2)
	}

	cfg, err := buildConfig(*dataDir, *clientURL, *peerURL, *name, *noFsync, *logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "aphex-etcd: %v\n", err)
		os.Exit(2)
	}
	server, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("aphex-etcd: start: %v", err)
	}
	defer server.Close()

	select {
	case <-server.Server.ReadyNotify():
		fmt.Fprintf(os.Stderr, "aphex-etcd: serving clients on %s\n", *clientURL)
	case <-time.After(60 * time.Second):
		server.Server.Stop()
		log.Fatal("aphex-etcd: not ready after 60s")
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case sig := <-stop:
		fmt.Fprintf(os.Stderr, "aphex-etcd: %s, stopping\n", sig)
	case err := <-server.Err():
		log.Fatalf("aphex-etcd: %v", err)
	}
}

func buildConfig(dataDir, clientURL, peerURL, name string, noFsync bool, logLevel string) (*embed.Config, error) {
	client, err := url.Parse(clientURL)
	if err != nil {
		return nil, fmt.Errorf("--listen-client-url %q: %w", clientURL, err)
	}
	peer, err := url.Parse(peerURL)
	if err != nil {
		return nil, fmt.Errorf("--listen-peer-url %q: %w", peerURL, err)
	}
	cfg := embed.NewConfig()
	cfg.Name = name
	cfg.Dir = dataDir
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(name)
	cfg.UnsafeNoFsync = noFsync
	cfg.LogLevel = logLevel
	return cfg, nil
}
