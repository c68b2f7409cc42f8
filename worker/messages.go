package worker

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/notify"
)

// content is a notification rendered for people.
type content struct {
	Subject string
	Lines   []string // facts, one per line
	Link    string   // where to act or read more
	Action  string   // the link's label
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}

// render words an approval event. link is the approve link for "requested" mails to
// approvers, or the request's page otherwise.
// ruleProgress is each policy rule's progress, one line each, for a message's facts.
func ruleProgress(vs []gatehouse.Verdict) []string {
	var out []string
	for _, v := range vs {
		for _, rp := range v.Rules {
			out = append(out, fmt.Sprintf("Policy %s: %s (%d/%d)", v.Policy, rp.Rule, rp.Have, rp.Need))
		}
	}
	return out
}

func render(event string, r *gatehouse.ApprovalRequest, link string) content {
	where := fmt.Sprintf("%s/%s → %s", r.Project, r.App, r.Environment)
	c := content{Link: link, Action: "Open the request"}
	facts := []string{
		"Image: " + r.Image,
		"Requested by: " + r.Requester,
	}
	if r.Comment != "" {
		facts = append(facts, "Comment: "+r.Comment)
	}
	switch event {
	case gatehouse.EventApprovalRequested:
		c.Subject = fmt.Sprintf("Approval requested: %s (%s)", where, shortDigest(r.Digest))
		c.Action = "Review and approve or reject"
		facts = append(facts, ruleProgress(r.Verdicts)...)
	case gatehouse.EventApprovalApproved:
		c.Subject = fmt.Sprintf("Approved: %s (%s)", where, shortDigest(r.Digest))
		facts = append(facts, "Approved by: "+strings.Join(r.Approvers(), ", "))
	case gatehouse.EventApprovalRejected:
		c.Subject = fmt.Sprintf("Rejected: %s (%s)", where, shortDigest(r.Digest))
		facts = append(facts, "Reason: "+r.Reason)
	case gatehouse.EventApprovalDeployed:
		c.Subject = fmt.Sprintf("Deploying: %s (%s)", where, shortDigest(r.Digest))
		facts = append(facts, fmt.Sprintf("Deployment: %d", r.Deployment))
	default:
		c.Subject = fmt.Sprintf("Approval %d %s: %s (%s)", r.ID, r.State, where, shortDigest(r.Digest))
		if r.Reason != "" {
			facts = append(facts, "Why: "+r.Reason)
		}
	}
	c.Lines = facts
	return c
}

var mailHTML = template.Must(template.New("mail").Parse(`<!doctype html>
<html><body style="font-family: sans-serif; color: #1b1f24">
<h2 style="font-size: 18px">{{.Subject}}</h2>
<ul>{{range .Lines}}<li>{{.}}</li>{{end}}</ul>
{{if .Link}}<p><a href="{{.Link}}" style="background: #0b57d0; color: #fff; padding: 8px 14px; border-radius: 4px; text-decoration: none">{{.Action}}</a></p>
<p style="color: #555; font-size: 12px">The link opens a page that shows the request; nothing is decided until you press a button there.</p>{{end}}
</body></html>`))

// mail turns content into an e-mail.
func (c content) mail(to string) notify.Message {
	var text strings.Builder
	text.WriteString(c.Subject + "\n\n")
	for _, l := range c.Lines {
		text.WriteString(l + "\n")
	}
	if c.Link != "" {
		fmt.Fprintf(&text, "\n%s: %s\n(The link opens a page that shows the request; nothing is decided until you press a button there.)\n", c.Action, c.Link)
	}
	var html bytes.Buffer
	if err := mailHTML.Execute(&html, c); err != nil {
		html.Reset()
	}
	return notify.Message{To: []string{to}, Subject: c.Subject, Text: text.String(), HTML: html.String()}
}

// event turns content into a webhook event.
func (c content) event(kind string, at time.Time, fields map[string]string) notify.Event {
	return notify.Event{Kind: kind, Title: c.Subject, Text: strings.Join(c.Lines, "\n"), URL: c.Link, Time: at, Fields: fields}
}

func approvalFields(r *gatehouse.ApprovalRequest) map[string]string {
	return map[string]string{"project": r.Project, "app": r.App, "environment": r.Environment, "image": r.Image,
		"requester": r.Requester, "state": string(r.State), "approval": fmt.Sprint(r.ID)}
}
