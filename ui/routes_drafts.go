package ui

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) draftRoutes() []Route {
	return []Route{
		{"GET /ui/drafts", a.user(a.draftList)},
		{"GET /ui/drafts/{id}", a.user(a.draftPage)},
		{"POST /ui/drafts/{id}/comment", a.user(a.draftAction(draftComment))},
		{"POST /ui/drafts/{id}/edit", a.user(a.draftEdit)},
		{"POST /ui/drafts/{id}/propose", a.user(a.draftAction(draftPropose))},
		{"POST /ui/drafts/{id}/approve", a.user(a.draftAction(draftApprove))},
		{"POST /ui/drafts/{id}/reject", a.user(a.draftAction(draftReject))},
		{"POST /ui/drafts/{id}/publish", a.user(a.draftAction(draftPublish))},
		{"POST /ui/drafts/{id}/discard", a.user(a.draftAction(draftDiscard))},
	}
}

type draftsPage struct {
	Waiting, Open, Closed []*gatehouse.Draft
}

func (a *App) draftList(w http.ResponseWriter, r *http.Request) error {
	var p draftsPage
	var all []*gatehouse.Draft
	var err error
	if p.Waiting, all, err = a.draftLists(r.Context()); err != nil {
		return err
	}
	for _, d := range all {
		if d.State.Open() {
			p.Open = append(p.Open, d)
		} else if len(p.Closed) < 20 {
			p.Closed = append(p.Closed, d)
		}
	}
	a.render(w, r, http.StatusOK, "drafts.html", "Drafts", p)
	return nil
}

// draftLists reads the drafts waiting for the viewer's vote and the recent drafts the viewer
// may see, newest first (the drafts page and the approvals inbox).
func (a *App) draftLists(ctx context.Context) (waiting, recent []*gatehouse.Draft, err error) {
	if waiting, err = gatehouse.Items(a.svc.Drafts.Drafts(ctx, gatehouse.DraftFilter{ForMe: true, Limit: 100})); err != nil {
		return nil, nil, err
	}
	recent, err = gatehouse.Items(a.svc.Drafts.Drafts(ctx, gatehouse.DraftFilter{Limit: 200}))
	return waiting, recent, err
}

type draftView struct {
	D *gatehouse.Draft
	// Author means the viewer wrote a version, so may not vote on it.
	Author bool
	// Refused is why an edit was refused (Stale: it started from an old version), and Unsaved
	// the text of it, kept for the writer.
	Refused, Unsaved string
	Stale            bool
	// Reviewed is the version a refused vote named: when it is not the latest, the page says
	// the draft changed since the voter looked.
	Reviewed int64
	// RollbackTo is the deployment a rollback draft returns to.
	RollbackTo int64
}

func draftID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, gatehouse.NotFoundf("draft %q not found", r.PathValue("id"))
	}
	return id, nil
}

func (a *App) showDraft(w http.ResponseWriter, r *http.Request, status int, v draftView) error {
	id, err := draftID(r)
	if err != nil {
		return err
	}
	if v.D, err = a.svc.Drafts.Draft(r.Context(), id); err != nil {
		return err
	}
	if who := gatehouse.ActorFrom(r.Context()); who != nil {
		v.Author = slices.Contains(v.D.Authors, who.Person)
	}
	if v.D.Kind == gatehouse.DraftRollback {
		var t struct {
			Deployment int64 `json:"deployment"`
		}
		if gatehouse.ParseSetting("content", v.D.Content, &t) == nil {
			v.RollbackTo = t.Deployment
		}
	}
	a.render(w, r, status, "draft.html", fmt.Sprintf("Draft %d: %s", id, v.D.DraftRef), v)
	return nil
}

func (a *App) draftPage(w http.ResponseWriter, r *http.Request) error {
	return a.showDraft(w, r, http.StatusOK, draftView{})
}

func (a *App) draftEdit(w http.ResponseWriter, r *http.Request) error {
	id, err := draftID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return gatehouse.Invalidf("form", "cannot be read")
	}
	base, err := strconv.ParseInt(r.PostForm.Get("base_version"), 10, 64)
	if err != nil {
		return gatehouse.Invalidf("base_version", "is required: reload the draft and edit again")
	}
	in := gatehouse.ConfigWrite{Content: r.PostForm.Get("content"), Comment: strings.TrimSpace(r.PostForm.Get("comment")), BaseVersion: base}
	d, err := a.svc.Drafts.EditDraft(r.Context(), id, in)
	switch gatehouse.KindOf(err) {
	case "":
		return a.back(w, r, fmt.Sprintf("/ui/drafts/%d", id), fmt.Sprintf("Saved version %d.", d.Version))
	case gatehouse.KindConflict, gatehouse.KindInvalid:
		// Keep what they wrote: a newer version came first, or the text needs fixing.
		status := map[gatehouse.ErrorKind]int{gatehouse.KindConflict: http.StatusConflict, gatehouse.KindInvalid: http.StatusBadRequest}
		return a.showDraft(w, r, status[gatehouse.KindOf(err)], draftView{Refused: gatehouse.PublicError(err).Error(), Unsaved: in.Content,
			Stale: gatehouse.KindOf(err) == gatehouse.KindConflict})
	}
	return err
}

// draftStep does one form's step on a draft and says what it did.
type draftStep func(a *App, r *http.Request, id int64) (string, error)

func (a *App) draftAction(step draftStep) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := draftID(r)
		if err != nil {
			return err
		}
		if err := r.ParseForm(); err != nil {
			return gatehouse.Invalidf("form", "cannot be read")
		}
		msg, err := step(a, r, id)
		switch kind := gatehouse.KindOf(err); kind {
		case "":
			return a.back(w, r, fmt.Sprintf("/ui/drafts/%d", id), msg)
		case gatehouse.KindConflict, gatehouse.KindInvalid:
			// Stay on the draft, as it is now: a vote for a version that is no longer the
			// latest is refused (and records nothing), and the voter reads the new one here.
			return a.showDraft(w, r, statusOf[kind], draftView{Refused: gatehouse.PublicError(err).Error(), Reviewed: decisionOf(r).Version})
		}
		return err
	}
}

func draftField(r *http.Request, name string) string { return strings.TrimSpace(r.PostForm.Get(name)) }

func draftComment(a *App, r *http.Request, id int64) (string, error) {
	_, err := a.svc.Drafts.CommentDraft(r.Context(), id, draftField(r, "text"))
	return "Comment added.", err
}

func draftPropose(a *App, r *http.Request, id int64) (string, error) {
	in := gatehouse.DraftPropose{Comment: draftField(r, "comment"), Notify: names(draftField(r, "notify"))}
	if _, err := a.svc.Drafts.ProposeDraft(r.Context(), id, in); err != nil {
		return "", err
	}
	return "Proposed: approvers are notified.", nil
}

// decisionOf reads a vote form: its comment, and the version the voter reviewed (the page
// carries it, so a vote never counts for a version that came after the page was shown).
func decisionOf(r *http.Request) gatehouse.Decision {
	v, _ := strconv.ParseInt(draftField(r, "version"), 10, 64)
	return gatehouse.Decision{Comment: draftField(r, "comment"), Version: v}
}

func draftApprove(a *App, r *http.Request, id int64) (string, error) {
	d, err := a.svc.Drafts.ApproveDraft(r.Context(), id, decisionOf(r))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Your approval of version %d is recorded: the draft is %s.", d.Version, d.State), nil
}

func draftReject(a *App, r *http.Request, id int64) (string, error) {
	d := decisionOf(r)
	if d.Comment == "" {
		return "", gatehouse.Invalidf("comment", "is required to reject: say what should change")
	}
	_, err := a.svc.Drafts.RejectDraft(r.Context(), id, d)
	return "Rejected: the draft went back to its authors.", err
}

func draftPublish(a *App, r *http.Request, id int64) (string, error) {
	d, err := a.svc.Drafts.PublishDraft(r.Context(), id)
	if err != nil {
		return "", err
	}
	switch {
	case d.Kind == gatehouse.DraftRollback:
		return fmt.Sprintf("Published: the rollback is queued as deployment %d.", d.PublishedRevision), nil
	case d.PublishedRevision != 0:
		return fmt.Sprintf("Published as configuration revision %d.", d.PublishedRevision), nil
	}
	return fmt.Sprintf("Published: the %s is in effect.", d.DraftRef), nil
}

func draftDiscard(a *App, r *http.Request, id int64) (string, error) {
	_, err := a.svc.Drafts.DiscardDraft(r.Context(), id, draftField(r, "reason"))
	return "Draft discarded.", err
}
