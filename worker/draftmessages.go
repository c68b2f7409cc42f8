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
func renderDraft(event string, d *gatehouse.ConfigDraft, link string) content {
	where := d.ConfigRef.String()
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
	case gatehouse.EventConfigProposed:
		c.Subject = fmt.Sprintf("Config change proposed: %s (draft %d)", where, d.ID)
		c.Action = "Review and approve or reject"
		facts = append(facts, ruleProgress(d.Verdicts)...)
	case gatehouse.EventConfigApproved:
		c.Subject = fmt.Sprintf("Config change approved: %s (draft %d)", where, d.ID)
		facts = append(facts, "Approved by: "+strings.Join(d.Approvers(), ", "))
	case gatehouse.EventConfigRejected:
		c.Subject = fmt.Sprintf("Config change rejected: %s (draft %d)", where, d.ID)
		facts = append(facts, "Reason: "+d.Reason)
	case gatehouse.EventConfigPublished:
		c.Subject = fmt.Sprintf("Config change published: %s (draft %d)", where, d.ID)
		facts = append(facts, fmt.Sprintf("Revision: %d; it takes effect with the next deployment", d.PublishedRevision))
	default:
		c.Subject = fmt.Sprintf("Config draft %d %s: %s", d.ID, d.State, where)
		if d.Reason != "" {
			facts = append(facts, "Why: "+d.Reason)
		}
	}
	c.Lines = facts
	return c
}

func draftFields(d *gatehouse.ConfigDraft) map[string]string {
	return map[string]string{"project": d.Project, "app": d.App, "environment": d.Environment, "kind": string(d.Kind),
		"author": d.Author, "state": string(d.State), "draft": fmt.Sprint(d.ID), "version": fmt.Sprint(d.Version)}
}
