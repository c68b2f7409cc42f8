package gatehouse

import "context"

// Services are the domain services, as the API and the web UI call them.
type Services struct {
	Projects     ProjectService
	Clusters     ClusterService
	Environments EnvironmentService
	Apps         AppService
	Pipelines    PipelineService
	Artifacts    ArtifactService
	Deployments  DeploymentService
	Policies     PolicyService
	Windows      WindowService
	Reviews      ReviewService
	Approvals    ApprovalService
	Config       ConfigService
	Drafts       DraftService
	Webhooks     WebhookService
	Users        UserService
	Groups       GroupService
	RoleBindings RoleBindingService
	Identity     IdentityService
	Audit        AuditService
	Metrics      MetricsService
	Attestations AttestationService
	// Ready reports whether the server can take requests (the database answers).
	Ready func(ctx context.Context) error
}
