// Package kube is Gatehouse's only door to Kubernetes: cluster connections, Helm actions (the
// one place the Helm SDK is called), readiness watching with kstatus, and Jobs for pre- and
// post-deploy steps.
package kube

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/gatehousehq/gatehouse"
)

// KubeconfigSource returns a registered cluster's kubeconfig.
type KubeconfigSource func(ctx context.Context, cluster string) (gatehouse.Secret, error)

// Clusters keeps one connection per registered cluster, rebuilt when its kubeconfig changes.
// Connections share discovery and REST mapping, so a hundred deploys to one cluster ask the
// API server about its resource types once. It is safe for concurrent use.
type Clusters struct {
	source KubeconfigSource
	mu     sync.Mutex
	conns  map[string]*Conn
}

// NewClusters returns a connection cache reading kubeconfigs from source.
func NewClusters(source KubeconfigSource) *Clusters {
	return &Clusters{source: source, conns: map[string]*Conn{}}
}

// Conn is a connection to one cluster.
type Conn struct {
	Name      string
	config    *rest.Config
	raw       clientcmd.ClientConfig
	clientset kubernetes.Interface
	dynamic   dynamic.Interface
	disco     discovery.CachedDiscoveryInterface
	mapper    meta.ResettableRESTMapper
	sum       [32]byte
	idMu      sync.Mutex
	identity  string
}

// Get returns the connection to the named cluster.
func (c *Clusters) Get(ctx context.Context, name string) (*Conn, error) {
	kc, err := c.source(ctx, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(kc.Reveal()))
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn := c.conns[name]; conn != nil && conn.sum == sum {
		return conn, nil
	}
	conn, err := Connect(name, []byte(kc.Reveal()))
	if err != nil {
		return nil, err
	}
	conn.sum = sum
	c.conns[name] = conn
	return conn, nil
}

// Connect builds a connection from a kubeconfig. Client-side rate limits are raised well above
// client-go's defaults (5 requests/s), which would serialize concurrent deploys.
func Connect(name string, kubeconfig []byte) (*Conn, error) {
	raw, err := clientcmd.NewClientConfigFromBytes(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: kubeconfig: %w", name, err)
	}
	cfg, err := raw.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: kubeconfig: %w", name, err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	disco := memory.NewMemCacheClient(cs.Discovery())
	return &Conn{Name: name, config: cfg, raw: raw, clientset: cs, dynamic: dyn, disco: disco,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(disco)}, nil
}

// Clientset is the typed client of the cluster.
func (c *Conn) Clientset() kubernetes.Interface { return c.clientset }

// getter adapts a connection to the RESTClientGetter the Helm SDK wants, for one namespace.
type getter struct {
	conn      *Conn
	namespace string
}

var _ genericclioptions.RESTClientGetter = getter{}

func (g getter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.conn.config), nil }

func (g getter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.conn.disco, nil
}

func (g getter) ToRESTMapper() (meta.RESTMapper, error) { return g.conn.mapper, nil }

func (g getter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return namespaced{inner: g.conn.raw, namespace: g.namespace}
}

// namespaced overrides a kubeconfig's namespace.
type namespaced struct {
	inner     clientcmd.ClientConfig
	namespace string
}

func (n namespaced) RawConfig() (clientcmdapi.Config, error) { return n.inner.RawConfig() }
func (n namespaced) ClientConfig() (*rest.Config, error)     { return n.inner.ClientConfig() }
func (n namespaced) ConfigAccess() clientcmd.ConfigAccess    { return n.inner.ConfigAccess() }
func (n namespaced) Namespace() (string, bool, error)        { return n.namespace, true, nil }

// Identity returns what the cluster says it is: the UID of its kube-system namespace, which
// the API server creates once and no URL, alias or credential changes. The first answer is
// kept for the connection's life.
func (c *Conn) Identity(ctx context.Context) (string, error) {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if c.identity != "" {
		return c.identity, nil
	}
	ns, err := c.clientset.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("cluster %s: read its identity (namespace %s): %w", c.Name, metav1.NamespaceSystem, err)
	}
	c.identity = string(ns.UID)
	return c.identity, nil
}

// Identify connects with a kubeconfig and returns the cluster's identity (see Conn.Identity).
func Identify(ctx context.Context, kubeconfig gatehouse.Secret) (string, error) {
	conn, err := Connect("new", []byte(kubeconfig.Reveal()))
	if err != nil {
		return "", err
	}
	return conn.Identity(ctx)
}
