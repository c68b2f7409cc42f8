package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) reviewRoutes() []Route {
	return []Route{
		{"GET /ui/reviews/{id}", a.user(a.reviewPage)},
		{"POST /ui/reviews/{id}/acknowledge", a.user(a.acknowledge)},
	}
}

type reviewPage struct {
	Review *gatehouse.Review
	// Mine says the person viewing broke the glass: they never acknowledge their own use.
	Mine, Acknowledged bool
}

func reviewID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, gatehouse.Invalidf("id", "%q is not a review number", r.PathValue("id"))
	}
	return id, nil
}

func (a *App) reviewPage(w http.ResponseWriter, r *http.Request) error {
	id, err := reviewID(r)
	if err != nil {
		return err
	}
	rv, err := a.svc.Reviews.Review(r.Context(), id)
	if err != nil {
		return err
	}
	who := gatehouse.ActorFrom(r.Context())
	p := reviewPage{Review: rv, Mine: rv.By == who.Person, Acknowledged: slices.Contains(rv.Acknowledgers(), who.UserName)}
	a.render(w, r, http.StatusOK, "review.html", fmt.Sprintf("Break-glass review %d", id), p)
	return nil
}

// acknowledge records the person's acknowledgement, with the comment the form requires.
func (a *App) acknowledge(w http.ResponseWriter, r *http.Request) error {
	id, err := reviewID(r)
	if err != nil {
		return err
	}
	if _, err := a.svc.Reviews.AcknowledgeReview(r.Context(), id, gatehouse.Decision{Comment: r.PostForm.Get("comment")}); err != nil {
		return err
	}
	return a.back(w, r, fmt.Sprintf("/ui/reviews/%d", id), "Acknowledged.")
}
