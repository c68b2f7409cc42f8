package worker

import (
	"fmt"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// maxChangeLines bounds the changes a draft message lists; the page shows them all.
const maxChangeLines = 20

// renderDraft words a config draft event. link is the approve link for "proposed" mails to
// approvers, or the draft's page otherwise. Secret values never appear: the draft's change
// is already masked.
func renderDraft(event string, d *gatehouse.Draft, link string) content {
	where := d.DraftRef.String()
	c := content{Link: link, Action: "Open the draft"}
	facts := []string{
		fmt.Sprintf("Draft %d, version %d", d.ID, d.Version),
		"Written by: " + strings.Join(d.Authors, ", "),
	}
	if d.Change != nil {
		if len(d.Change.Labels) > 0 {
			facts = append(facts, "Risk: "+strings.Join(d.Change.Labels, ", "))
		}
		for i, ch := range d.Change.Changes {
			if i == maxChangeLines {
				facts = append(facts, fmt.Sprintf("… and %d more changes", len(d.Change.Changes)-i))
				break
			}
			facts = append(facts, ch.String())
		}
	}
	switch event {
	case gatehouse.EventDraftProposed:
		c.Subject = fmt.Sprintf("Change proposed: %s (draft %d)", where, d.ID)
		c.Action = "Review and approve or reject"
		facts = append(facts, ruleProgress(d.Verdicts)...)
	case gatehouse.EventDraftApproved:
		c.Subject = fmt.Sprintf("Change approved: %s (draft %d)", where, d.ID)
		facts = append(facts, "Approved by: "+strings.Join(d.Approvers(), ", "))
	case gatehouse.EventDraftRejected:
		c.Subject = fmt.Sprintf("Change rejected: %s (draft %d)", where, d.ID)
		facts = append(facts, "Reason: "+d.Reason)
	case gatehouse.EventDraftPublished:
		c.Subject = fmt.Sprintf("Change published: %s (draft %d)", where, d.ID)
		facts = append(facts, publishedText(d))
	default:
		c.Subject = fmt.Sprintf("Draft %d %s: %s", d.ID, d.State, where)
		if d.Reason != "" {
			facts = append(facts, "Why: "+d.Reason)
		}
	}
	c.Lines = facts
	return c
}

// publishedText says what publishing the draft did, by kind.
func publishedText(d *gatehouse.Draft) string {
	switch {
	case d.Kind == gatehouse.DraftRollback:
		return fmt.Sprintf("Rollback queued as deployment %d", d.PublishedRevision)
	case d.PublishedRevision != 0:
		return fmt.Sprintf("Revision: %d; it takes effect with the next deployment", d.PublishedRevision)
	}
	return "It is in effect now"
}

func draftFields(d *gatehouse.Draft) map[string]string {
	return map[string]string{"project": d.Project, "app": d.App, "environment": d.Environment, "policy": d.Policy, "kind": string(d.Kind),
		"author": d.Author, "state": string(d.State), "draft": fmt.Sprint(d.ID), "version": fmt.Sprint(d.Version)}
}
