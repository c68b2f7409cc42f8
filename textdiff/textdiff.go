// Package textdiff computes line diffs of text documents (typically YAML
// configuration) and renders them as unified diffs or side-by-side rows for
// people reviewing changes.
//
// Texts are split on "\n". A single trailing newline does not produce an
// extra empty line, so "a\nb" and "a\nb\n" compare equal; a "\r" before a
// "\n" is kept as part of the line's text.
package textdiff

import (
	"fmt"
	"strings"
)

// Op is what happened to a line.
type Op string

const (
	Equal  Op = "equal"  // the line is in both a and b
	Delete Op = "delete" // the line is only in a
	Insert Op = "insert" // the line is only in b
)

// Line is one line of a diff. Old/New are 1-based line numbers in a and b
// (0 when absent: Insert lines have no Old, Delete lines have no New).
type Line struct {
	Op   Op     `json:"op"`
	Old  int    `json:"old,omitempty"`
	New  int    `json:"new,omitempty"`
	Text string `json:"text"`
}

// maxEdits caps the edit distance Lines searches for. Beyond it, the
// remaining differing region is reported as "delete all, insert all".
const maxEdits = 4000

// Lines returns the line diff turning a into b.
//
// The Equal and Delete lines, in order, are exactly the lines of a; the Equal
// and Insert lines are exactly the lines of b; Old and New numbers count up
// consecutively from 1. Within each run of changes, deletions come before
// insertions. The script is a shortest edit script (Myers' O(ND) algorithm,
// linear space) unless the edit distance exceeds 4000, in which case the
// differing region after the common prefix and suffix may be reported as
// deleted and re-inserted wholesale: still correct, just not minimal.
// Equal texts yield only Equal lines; two empty texts yield nil.
func Lines(a, b string) []Line {
	return diffLines(splitLines(a), splitLines(b), maxEdits)
}

// splitLines splits s on "\n", ignoring one trailing newline.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffLines diffs line slices with the given edit cap (at least 1).
func diffLines(a, b []string, limit int) []Line {
	if len(a)+len(b) == 0 {
		return nil
	}
	ids := make(map[string]int, len(a)+len(b))
	intern := func(lines []string) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	d := &differ{a: intern(a), b: intern(b), del: make([]bool, len(a)), ins: make([]bool, len(b))}
	d.steps = max((limit+1)/2, 1)
	off := min((len(a)+len(b)+1)/2, d.steps) + 2
	d.off, d.vf, d.vb = off, make([]int, 2*off+1), make([]int, 2*off+1)
	d.compare(0, len(a), 0, len(b))
	out := make([]Line, 0, max(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if i < len(a) && j < len(b) && !d.del[i] && !d.ins[j] {
			out = append(out, Line{Op: Equal, Old: i + 1, New: j + 1, Text: a[i]})
			i, j = i+1, j+1
			continue
		}
		// Each branch below makes progress, so the loop always terminates.
		for i < len(a) && (d.del[i] || j == len(b)) {
			out = append(out, Line{Op: Delete, Old: i + 1, Text: a[i]})
			i++
		}
		for j < len(b) && (d.ins[j] || i == len(a)) {
			out = append(out, Line{Op: Insert, New: j + 1, Text: b[j]})
			j++
		}
	}
	return out
}

// differ holds the state of one Myers diff: interned lines, the resulting
// deleted/inserted marks, and the reusable forward/backward V arrays.
type differ struct {
	a, b     []int
	del, ins []bool
	vf, vb   []int // furthest x per diagonal k, stored at index off+k
	off      int
	steps    int // max D per middle-snake search
}

// compare marks the deleted lines of a[aLo:aHi] and inserted lines of
// b[bLo:bHi] for a shortest edit script between them.
func (d *differ) compare(aLo, aHi, bLo, bHi int) {
	for aLo < aHi && bLo < bHi && d.a[aLo] == d.b[bLo] {
		aLo, bLo = aLo+1, bLo+1
	}
	for aLo < aHi && bLo < bHi && d.a[aHi-1] == d.b[bHi-1] {
		aHi, bHi = aHi-1, bHi-1
	}
	if aLo < aHi && bLo < bHi {
		if x, y, ok := d.split(aLo, aHi, bLo, bHi); ok {
			d.compare(aLo, x, bLo, y)
			d.compare(x, aHi, y, bHi)
			return
		}
	}
	// One side is empty, or the edit cap was hit: replace wholesale.
	for i := aLo; i < aHi; i++ {
		d.del[i] = true
	}
	for j := bLo; j < bHi; j++ {
		d.ins[j] = true
	}
}

// split finds a point (x, y) on a shortest edit path through the box
// [aLo,aHi)x[bLo,bHi) such that both halves are strictly smaller problems
// (the caller has stripped the common prefix and suffix, so the distance is
// at least 2). It searches from both corners at once (Myers' middle snake).
// A value kept on a diagonal is the furthest point reachable with at most D
// edits; cost(prefix to a point) and cost(point to end) never grow when the
// point moves forward along its diagonal, so splitting at the forward
// (resp. backward) end of an overlap keeps the total at 2D-1 (resp. 2D).
// It reports false when more than d.steps rounds would be needed.
func (d *differ) split(aLo, aHi, bLo, bHi int) (int, int, bool) {
	n, m := aHi-aLo, bHi-bLo
	delta := n - m
	odd := delta&1 != 0
	vf, vb, off := d.vf, d.vb, d.off // backward: x, y count from aHi, bHi
	maxD := min((n+m+1)/2, d.steps)
	for D := 0; D <= maxD; D++ {
		for _, fwd := range [2]bool{true, false} {
			// Forward rounds overlap-check the backward round D-1 when delta
			// is odd; backward rounds check the forward round D when even.
			v, other, lim := vf, vb, D-1
			if !fwd {
				v, other, lim = vb, vf, D
			}
			v[off-D-1], v[off+D+1] = -1, -1
			for k := -D; k <= D; k += 2 {
				x := next(v, off, k, D, n, m)
				if x < 0 {
					continue
				}
				y := x - k
				for fwd && x < n && y < m && d.a[aLo+x] == d.b[bLo+y] {
					x, y = x+1, y+1
				}
				for !fwd && x < n && y < m && d.a[aHi-1-x] == d.b[bHi-1-y] {
					x, y = x+1, y+1
				}
				v[off+k] = x
				ko := delta - k // the same diagonal in the other direction
				if odd == fwd && ko >= -lim && ko <= lim && other[off+ko] >= 0 && x+other[off+ko] >= n {
					if fwd {
						return aLo + x, bLo + y, true
					}
					return aHi - x, bHi - y, true
				}
			}
		}
	}
	return 0, 0, false
}

// next returns the furthest x on diagonal k reachable with at most D edits
// before following the snake, or -1 if the diagonal is not reachable yet.
func next(v []int, off, k, D, n, m int) int {
	if D == 0 {
		return 0
	}
	x := v[off+k] // value from round D-2, or -1 (reset) when |k| == D
	if u := v[off+k+1]; u >= 0 && u-k <= m && u > x {
		x = u // step down from diagonal k+1
	}
	if u := v[off+k-1]; u >= 0 && u+1 <= n && u+1 > x {
		x = u + 1 // step right from diagonal k-1
	}
	return x
}

// Unified renders a unified diff of a (named from) and b (named to) in the
// format of `diff -u`: "--- from" and "+++ to" headers followed by hunks
// "@@ -l,s +l,s @@" holding up to context unchanged lines around each change
// (negative context counts as 0). Changes separated by at most 2*context
// unchanged lines share a hunk. A count of 1 is written without ",1"; an empty
// range names the line before it. It returns "" when a and b have the same
// lines. No "\ No newline at end of file" markers are written.
func Unified(from, to, a, b string, context int) string {
	lines := Lines(a, b)
	context = max(context, 0)
	type span struct{ lo, hi int }
	var hunks []span
	for i, l := range lines {
		if l.Op == Equal {
			continue
		}
		lo, hi := max(i-context, 0), min(i+1+context, len(lines))
		if n := len(hunks); n > 0 && lo <= hunks[n-1].hi {
			hunks[n-1].hi = hi
		} else {
			hunks = append(hunks, span{lo, hi})
		}
	}
	if len(hunks) == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", from, to)
	oldBefore, newBefore, pos := 0, 0, 0 // lines of a and b before lines[pos]
	for _, h := range hunks {
		// Only Equal lines lie between hunks.
		oldBefore, newBefore = oldBefore+h.lo-pos, newBefore+h.lo-pos
		oldN, newN := 0, 0
		for _, l := range lines[h.lo:h.hi] {
			if l.Op != Insert {
				oldN++
			}
			if l.Op != Delete {
				newN++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(oldBefore, oldN), hunkRange(newBefore, newN))
		for _, l := range lines[h.lo:h.hi] {
			sb.WriteString(unifiedPrefix[l.Op] + l.Text + "\n")
		}
		oldBefore, newBefore, pos = oldBefore+oldN, newBefore+newN, h.hi
	}
	return sb.String()
}

var unifiedPrefix = map[Op]string{Equal: " ", Delete: "-", Insert: "+"}

// hunkRange formats one side of a hunk header given the number of lines
// before the hunk and the hunk's line count on that side.
func hunkRange(before, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprintf("%d", before+1)
	}
	return fmt.Sprintf("%d,%d", before+1, n)
}

// Row is one row of a side-by-side view: Left/Right text and line numbers
// (0 = blank cell); Op is "equal", "delete" (left only), "insert" (right
// only) or "change" (a deleted line paired with an inserted line).
type Row struct {
	Op      string `json:"op"`
	Left    string `json:"left"`
	Right   string `json:"right"`
	LeftNo  int    `json:"left_no,omitempty"`
	RightNo int    `json:"right_no,omitempty"`
}

// SideBySide lays the diff of a and b out in rows. Within each run of
// changes, the i-th deleted line is paired with the i-th inserted line as a
// "change" row; surplus deletions or insertions get "delete" or "insert"
// rows. Reading the cells with a non-zero LeftNo top to bottom gives exactly
// the lines of a, and likewise RightNo gives the lines of b.
func SideBySide(a, b string) []Row {
	lines := Lines(a, b)
	rows := make([]Row, 0, len(lines))
	for i := 0; i < len(lines); {
		if l := lines[i]; l.Op == Equal {
			rows = append(rows, Row{Op: string(Equal), Left: l.Text, Right: l.Text, LeftNo: l.Old, RightNo: l.New})
			i++
			continue
		}
		var dels, ins []Line
		for ; i < len(lines) && lines[i].Op != Equal; i++ {
			if lines[i].Op == Delete {
				dels = append(dels, lines[i])
			} else {
				ins = append(ins, lines[i])
			}
		}
		for k := 0; k < max(len(dels), len(ins)); k++ {
			r := Row{Op: "change"}
			if k < len(dels) {
				r.Left, r.LeftNo = dels[k].Text, dels[k].Old
			} else {
				r.Op = string(Insert)
			}
			if k < len(ins) {
				r.Right, r.RightNo = ins[k].Text, ins[k].New
			} else {
				r.Op = string(Delete)
			}
			rows = append(rows, r)
		}
	}
	return rows
}
