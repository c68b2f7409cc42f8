package testdb

// KubeconfigToken is the credential inside Kubeconfig: tests that check secrets never leak
// search for it.
const KubeconfigToken = "planted-secret-token-4711"

// Kubeconfig is a valid kubeconfig for a cluster no test dials (stores and servers accept
// it; only deployments would use it), carrying KubeconfigToken.
const Kubeconfig = `apiVersion: v1
kind: Config
current-context: main
contexts: [{name: main, context: {cluster: c1, user: u1}}]
clusters: [{name: c1, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u1, user: {token: ` + KubeconfigToken + `}}]
`
