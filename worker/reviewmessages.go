package worker

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// renderReview words a break-glass event for the reviewers: who broke the glass, why, what
// it passed over, and by when they acknowledge it.
func renderReview(event string, r *gatehouse.Review, link string) content {
	c := content{Link: link, Action: "Review and acknowledge"}
	where := fmt.Sprintf("%s/%s in %s", r.Project, r.App, r.Environment)
	switch event {
	case gatehouse.EventBreakGlassOverdue:
		c.Subject = fmt.Sprintf("Overdue: review of break-glass deployment %d of %s (review %d)", r.Deployment, where, r.ID)
	default:
		c.Subject = fmt.Sprintf("Break-glass: %s deployed %s past its gate (review %d)", r.By, where, r.ID)
	}
	c.Lines = []string{
		fmt.Sprintf("Deployment %d by %s", r.Deployment, r.By),
		"Reason: " + r.Reason,
	}
	if len(r.Skipped) > 0 {
		c.Lines = append(c.Lines, "Passed over the approval of: "+strings.Join(r.Skipped, ", "))
	}
	if len(r.Windows) > 0 {
		c.Lines = append(c.Lines, "Passed through closed windows: "+strings.Join(r.Windows, ", "))
	}
	c.Lines = append(c.Lines, "Acknowledge by: "+r.DueAt.UTC().Format(time.RFC1123))
	c.Lines = append(c.Lines, ruleProgress(r.Verdicts)...)
	return c
}

func reviewFields(r *gatehouse.Review) map[string]string {
	return map[string]string{"project": r.Project, "app": r.App, "environment": r.Environment, "deployment": fmt.Sprint(r.Deployment),
		"by": r.By, "reason": r.Reason, "skipped": strings.Join(r.Skipped, ","), "windows": strings.Join(r.Windows, ","),
		"review": fmt.Sprint(r.ID), "due_at": r.DueAt.UTC().Format(time.RFC3339)}
}
