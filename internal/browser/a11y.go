package browser

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// a11yScript defines window.__a11y in a page: the checks themselves, in the browser, where
// computed styles, labels and focus are the real ones.
//
//go:embed a11y.js
var a11yScript string

// Problem is one accessibility failure on a page: which check failed, the element (tag,
// id or name, classes, a short text; "document" for the page as a whole) and why.
type Problem struct {
	Check   string `json:"check"` // structure, label, name, table, tabindex, contrast, focus or keyboard
	Element string `json:"element"`
	Detail  string `json:"detail"`
}

// String is the problem on one line: check, element, detail.
func (p Problem) String() string { return fmt.Sprintf("%s: %s: %s", p.Check, p.Element, p.Detail) }

// StaticProblems checks the page loaded in ctx without touching it and returns every problem,
// check by check and in document order within a check (none: the page passed):
//   - structure: <html lang> and <title> set, exactly one <main>, an <h1> with text, no
//     id used twice (a duplicate id attaches a label to the wrong control);
//   - label: every rendered input (except hidden), select and textarea has a name from a
//     <label> (for= or wrapping), aria-label, aria-labelledby or title; every <label for>
//     names an element on the page;
//   - name: every rendered link and button has a name: text, aria-label, aria-labelledby,
//     title or an image's alt; every id aria-labelledby or aria-describedby names exists;
//   - table: every rendered header cell (<th>) has text or a name;
//   - tabindex: no positive tabindex, and no visible link, button or control with
//     tabindex="-1";
//   - contrast: every visible element with text of its own, and every form control's value
//     and placeholder, has a WCAG contrast ratio of at least 4.5:1 (3:1 for text of 24px, or
//     18.66px bold) between its colour and its background: the background colours from the
//     element up to the first opaque one, blended (alpha included) over white, with the
//     text colour blended over that. Disabled controls are exempt; the opacity of ancestors
//     and background images are not taken into account.
func StaticProblems(tb testing.TB, ctx context.Context) []Problem {
	tb.Helper()
	return Get(tb, ctx, "accessibility audit", chromedp.Evaluate[[]Problem](a11yScript+"; window.__a11y.audit()"))
}

// KeyboardWalk puts the focus at the top of the page and presses Tab up to presses times
// (0: twice the number of interactive elements, plus five), watching document.activeElement.
// It returns a problem for every visible, enabled link, button, control, summary or
// tabindex'd element in <main>, the header or a <nav> that Tab never reached (a radio group
// counts as reached through any of its buttons), and for every element Tab focused that
// shows no focus indicator: it does not match :focus-visible, or neither its computed outline
// nor its box-shadow differs from before it was focused, or its new outline (other than the
// browser's own "auto" ring) has a contrast below 3:1 against the background around it. The
// focus is cleared and the page scrolled to the top afterwards.
func KeyboardWalk(tb testing.TB, ctx context.Context, presses int) []Problem {
	tb.Helper()
	n := Get(tb, ctx, "start the keyboard walk", chromedp.Evaluate[int](a11yScript+"; window.__a11y.start()"))
	if presses <= 0 {
		presses = 2*n + 5
	}
	for i := 0; i < presses; i++ {
		Do(tb, ctx, "press Tab", chromedp.KeyEvent("\t"))
		if Get(tb, ctx, "see what Tab focused", chromedp.Evaluate[bool]("window.__a11y.step()")) {
			break
		}
	}
	return Get(tb, ctx, "finish the keyboard walk", chromedp.Evaluate[[]Problem](fmt.Sprintf("window.__a11y.finish(%d)", presses)))
}

// Audit returns every problem StaticProblems and KeyboardWalk (with its default number of
// presses) find on the page loaded in ctx; none means the page passed all checks.
func Audit(tb testing.TB, ctx context.Context) []Problem {
	tb.Helper()
	return append(StaticProblems(tb, ctx), KeyboardWalk(tb, ctx, 0)...)
}

// CheckAccessible audits the page loaded in ctx and, when it has problems, marks the test
// failed with one error naming the page and listing every problem, in order, identical ones
// once with their count; the test goes on.
func CheckAccessible(tb testing.TB, ctx context.Context, page string) {
	tb.Helper()
	problems := Audit(tb, ctx)
	if len(problems) == 0 {
		return
	}
	var order []Problem
	count := map[Problem]int{}
	for _, p := range problems {
		if count[p] == 0 {
			order = append(order, p)
		}
		count[p]++
	}
	var b strings.Builder
	for _, p := range order {
		b.WriteString("\n  " + p.String())
		if n := count[p]; n > 1 {
			fmt.Fprintf(&b, " (%d times)", n)
		}
	}
	tb.Errorf("page %s: %d accessibility problems:%s", page, len(problems), b.String())
}
