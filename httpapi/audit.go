package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// auditFilter reads the audit query parameters: since, until (RFC 3339), actor, project, app,
// environment, action (exact or "prefix."), after (sequence number) and limit.
func auditFilter(q url.Values) (gatehouse.AuditFilter, error) {
	f := gatehouse.AuditFilter{Actor: q.Get("actor"), Project: q.Get("project"), App: q.Get("app"), Env: q.Get("environment"), Action: q.Get("action")}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			parsed, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, gatehouse.Invalidf(t.name, "%q is not a time: expected RFC 3339, e.g. 2026-11-27T10:00:00Z", v)
			}
			*t.dst = parsed
		}
	}
	for _, n := range []struct {
		name string
		dst  *int64
	}{{"after", &f.AfterSeq}} {
		if v := q.Get(n.name); v != "" {
			parsed, err := strconv.ParseInt(v, 10, 64)
			if err != nil || parsed < 0 {
				return f, gatehouse.Invalidf(n.name, "%q is not a sequence number", v)
			}
			*n.dst = parsed
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return f, gatehouse.Invalidf("limit", "%q is not a positive number", v)
		}
		f.Limit = n
	}
	return f, nil
}

// auditEvents answers one page as a JSON list, or, with format=jsonl, streams every matching
// event as JSON lines (the export format), page by page.
func (s *Server) auditEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := auditFilter(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch q.Get("format") {
	case "", "json":
		out, err := items(s.svc.Audit.AuditEvents(r.Context(), f))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	case "jsonl":
		s.exportAudit(w, r, f)
	default:
		s.writeError(w, r, gatehouse.Invalidf("format", "%q is not a format: expected json or jsonl", q.Get("format")))
	}
}

func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request, f gatehouse.AuditFilter) {
	limit := f.Limit
	f.Limit = 1000
	enc := json.NewEncoder(w)
	started, written := false, 0
	for {
		page, err := s.svc.Audit.AuditEvents(r.Context(), f)
		if err != nil && !started {
			s.writeError(w, r, err)
			return
		} else if err != nil {
			// The status is sent; a truncated stream is all that can say so.
			s.log.Error("audit export interrupted", "request_id", gatehouse.RequestInfoFrom(r.Context()).RequestID, "err", err)
			return
		}
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		for _, e := range page {
			if limit > 0 && written >= limit {
				return
			}
			if err := enc.Encode(e); err != nil {
				return
			}
			written++
			f.AfterSeq = e.Seq
		}
		if len(page) < f.Limit {
			return
		}
	}
}
