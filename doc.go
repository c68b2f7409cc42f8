// Package gatehouse holds Gatehouse's domain: the types named in the glossary (Project, Cluster,
// Environment, App, Pipeline, Artifact, users, groups, role bindings, audit events), the error
// kinds every layer speaks, the service interfaces the store implements and the HTTP API calls,
// and the pure rules (validation, access decisions, the audit hash chain).
//
// It imports no database, HTTP or Kubernetes package: every rule here can be tested as a plain
// function.
package gatehouse
