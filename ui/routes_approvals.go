package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) approvalRoutes() []Route {
	return []Route{
		{"GET /ui/approvals", a.user(a.inbox)},
		{"GET /ui/approvals/{id}", a.user(a.approvalPage)},
		{"POST /ui/approvals/{id}/{verb}", a.user(a.decide)},
	}
}

// inboxPage is everything that waits for a vote, of every kind: image requests and drafts
// (configuration, settings, policies, rollbacks) the viewer may approve now, and the
// viewer's own open ones.
type inboxPage struct {
	ForMe, Mine, Open       []*gatehouse.ApprovalRequest
	DraftsForMe, DraftsMine []*gatehouse.Draft
}

func (a *App) inbox(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	who := gatehouse.ActorFrom(ctx)
	me := who.UserName
	var p inboxPage
	var err error
	if p.ForMe, err = gatehouse.Items(a.svc.Approvals.Approvals(ctx, gatehouse.ApprovalFilter{ForMe: true, Limit: 100})); err != nil {
		return err
	}
	recent, err := gatehouse.Items(a.svc.Approvals.Approvals(ctx, gatehouse.ApprovalFilter{Limit: 200}))
	if err != nil {
		return err
	}
	for _, req := range recent {
		switch {
		case req.Requester == me:
			p.Mine = append(p.Mine, req)
		case req.State.Open() && !slices.ContainsFunc(p.ForMe, func(x *gatehouse.ApprovalRequest) bool { return x.ID == req.ID }):
			p.Open = append(p.Open, req)
		}
	}
	var drafts []*gatehouse.Draft
	if p.DraftsForMe, drafts, err = a.draftLists(ctx); err != nil {
		return err
	}
	for _, d := range drafts {
		// Mine: drafts I wrote a version of, as the draft page counts its authors.
		if d.State.Open() && slices.Contains(d.Authors, who.Person) {
			p.DraftsMine = append(p.DraftsMine, d)
		}
	}
	a.render(w, r, http.StatusOK, "approvals.html", "Approvals", p)
	return nil
}

type approvalPage struct {
	Review           *gatehouse.ApprovalReview
	CanVote, IsOwner bool
	// Window is what the windows of the request's environment say now: an approval of a
	// frozen stage waits for it.
	Window *gatehouse.WindowState
}

func (a *App) approvalPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return gatehouse.Invalidf("id", "%q is not a request number", r.PathValue("id"))
	}
	rv, err := a.svc.Approvals.Review(ctx, id)
	if err != nil {
		return err
	}
	who := gatehouse.ActorFrom(ctx)
	p := approvalPage{Review: rv, IsOwner: rv.Request.Requester == who.UserName}
	if p.Window, err = a.svc.Windows.WindowState(ctx, gatehouse.Target{Project: rv.Request.Project, App: rv.Request.App, Env: rv.Request.Environment}); err != nil {
		return err
	}
	if rv.Request.State.Open() && !p.IsOwner {
		// The inbox is the server's own judgement of who may vote now (role, group, separation
		// of duties, not voted yet); the page offers the buttons only then.
		mine, err := gatehouse.Items(a.svc.Approvals.Approvals(ctx, gatehouse.ApprovalFilter{ForMe: true, Project: rv.Request.Project, App: rv.Request.App, Limit: 1000}))
		if err != nil {
			return err
		}
		p.CanVote = slices.ContainsFunc(mine, func(x *gatehouse.ApprovalRequest) bool { return x.ID == id })
	}
	a.render(w, r, http.StatusOK, "approval.html", fmt.Sprintf("Approval request %d", id), p)
	return nil
}

// decide records an approval, a rejection or a cancellation from the request's page.
func (a *App) decide(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return gatehouse.Invalidf("id", "%q is not a request number", r.PathValue("id"))
	}
	d := gatehouse.Decision{Comment: r.PostForm.Get("comment")}
	var flash string
	switch r.PathValue("verb") {
	case "approve":
		_, err = a.svc.Approvals.Approve(ctx, id, d)
		flash = "Your approval is recorded."
	case "reject":
		_, err = a.svc.Approvals.Reject(ctx, id, d)
		flash = "Your rejection is recorded."
	case "cancel":
		_, err = a.svc.Approvals.Cancel(ctx, id)
		flash = "The request is cancelled."
	default:
		return gatehouse.NotFoundf("no such action %q", r.PathValue("verb"))
	}
	if err != nil {
		return err
	}
	return a.back(w, r, fmt.Sprintf("/ui/approvals/%d", id), flash)
}
