// Package wire connects the store's services to the API. The server command and the tests that
// start real servers share it, so they run the same wiring.
package wire

import (
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// Services returns the API's services, all backed by db.
func Services(db *sqlstore.DB) httpapi.Services {
	return httpapi.Services{
		Projects: sqlstore.NewProjectService(db), Clusters: sqlstore.NewClusterService(db), Environments: sqlstore.NewEnvironmentService(db),
		Apps: sqlstore.NewAppService(db), Pipelines: sqlstore.NewPipelineService(db), Artifacts: sqlstore.NewArtifactService(db),
		Users: sqlstore.NewUserService(db), Groups: sqlstore.NewGroupService(db), RoleBindings: sqlstore.NewRoleBindingService(db),
		Identity: sqlstore.NewIdentityService(db), Audit: sqlstore.NewAuditService(db), Ready: db.Ping,
	}
}
