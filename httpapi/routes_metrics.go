package httpapi

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
)

// metricsRoutes serve delivery metrics; the query parameters are those of
// gatehouse.ParseMetricsQuery.
func (s *Server) metricsRoutes() []route {
	query := func(r *http.Request) (gatehouse.MetricsQuery, error) {
		return gatehouse.ParseMetricsQuery(r.URL.Query().Get)
	}
	return []route{
		{pattern: "GET /api/v1/metrics/dora", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q, err := query(r)
			if err != nil {
				return nil, err
			}
			return s.svc.Metrics.DORA(r.Context(), q)
		})},
		{pattern: "GET /api/v1/metrics/leadtime", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q, err := query(r)
			if err != nil {
				return nil, err
			}
			return s.svc.Metrics.LeadTime(r.Context(), q)
		})},
	}
}
