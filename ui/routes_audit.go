package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) auditRoutes() []Route {
	return []Route{
		{"GET /ui/audit", a.user(a.audit)},
		{"POST /ui/audit/verify", a.user(a.verifyAudit)},
	}
}

// auditPageSize is how many events a page shows unless the form asks for another number.
const auditPageSize = 100

// auditForm is the filter form as the visitor filled it in.
type auditForm struct {
	Project, Actor, Action, Since, Until, Limit string
}

type auditRow struct {
	*gatehouse.AuditEvent
	Target  string
	Summary string // the details, shortened
}

type auditPage struct {
	Form      auditForm
	Events    []auditRow
	Export    string // the API's JSON-lines export of the same events
	Next      string // the next page, when this one is full
	CanVerify bool
	Report    *gatehouse.AuditReport
}

// auditQuery reads the filter form into a filter and the API query that selects the same
// events. Dates are whole UTC days: until includes its day. An action without a dot is a
// prefix ("deployment" selects "deployment.create", "deployment.succeeded", …).
func auditQuery(q url.Values) (auditForm, gatehouse.AuditFilter, url.Values, error) {
	form := auditForm{Project: q.Get("project"), Actor: q.Get("actor"), Action: q.Get("action"), Since: q.Get("since"), Until: q.Get("until"), Limit: q.Get("limit")}
	f := gatehouse.AuditFilter{Project: strings.TrimSpace(form.Project), Actor: strings.TrimSpace(form.Actor), Action: strings.TrimSpace(form.Action), Limit: auditPageSize}
	if f.Action != "" && !strings.Contains(f.Action, ".") {
		f.Action += "."
	}
	api := url.Values{}
	for k, v := range map[string]string{"project": f.Project, "actor": f.Actor, "action": f.Action} {
		if v != "" {
			api.Set(k, v)
		}
	}
	for _, d := range []struct {
		name, v string
		dst     *time.Time
		add     time.Duration
	}{{"since", form.Since, &f.Since, 0}, {"until", form.Until, &f.Until, 24 * time.Hour}} {
		if d.v == "" {
			continue
		}
		day, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return form, f, nil, gatehouse.Invalidf(d.name, "%q is not a date: expected YYYY-MM-DD", d.v)
		}
		*d.dst = day.Add(d.add)
		api.Set(d.name, d.dst.Format(time.RFC3339))
	}
	if form.Limit != "" {
		n, err := strconv.Atoi(form.Limit)
		if err != nil || n <= 0 || n > 10000 {
			return form, f, nil, gatehouse.Invalidf("limit", "%q is not a number from 1 to 10000", form.Limit)
		}
		f.Limit = n
		api.Set("limit", form.Limit)
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return form, f, nil, gatehouse.Invalidf("after", "%q is not a sequence number", v)
		}
		f.AfterSeq = n
	}
	return form, f, api, nil
}

func (a *App) audit(w http.ResponseWriter, r *http.Request) error {
	return a.auditPage(w, r, nil)
}

// verifyAudit walks the chain (administer on the system) and shows the result above the
// newest page of events.
func (a *App) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	rep, err := a.svc.Audit.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	return a.auditPage(w, r, rep)
}

func (a *App) auditPage(w http.ResponseWriter, r *http.Request, rep *gatehouse.AuditReport) error {
	q := r.URL.Query()
	form, f, api, err := auditQuery(q)
	if err != nil {
		return err
	}
	events, err := a.svc.Audit.AuditEvents(r.Context(), f)
	if err != nil {
		return err
	}
	p := auditPage{Form: form, Report: rep, CanVerify: gatehouse.ActorFrom(r.Context()).Can(gatehouse.ActionAdminister, gatehouse.Target{})}
	api.Set("format", "jsonl")
	p.Export = "/api/v1/audit?" + api.Encode()
	for _, e := range events {
		p.Events = append(p.Events, auditRow{AuditEvent: e, Target: gatehouse.Target{Project: e.Project, App: e.App, Env: e.Env}.String(), Summary: auditClip(string(e.Details), 160)})
	}
	if n := len(events); n > 0 && n == f.Limit {
		next := url.Values{}
		for k, v := range map[string]string{"project": form.Project, "actor": form.Actor, "action": form.Action, "since": form.Since, "until": form.Until, "limit": form.Limit} {
			if v != "" {
				next.Set(k, v)
			}
		}
		next.Set("after", strconv.FormatInt(events[n-1].Seq, 10))
		p.Next = "/ui/audit?" + next.Encode()
	}
	a.render(w, r, http.StatusOK, "audit.html", "Audit trail", p)
	return nil
}

// auditClip cuts s to at most n characters, marking the cut.
func auditClip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
