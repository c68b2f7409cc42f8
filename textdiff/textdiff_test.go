package textdiff

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func eq(o, n int, s string) Line { return Line{Op: Equal, Old: o, New: n, Text: s} }
func del(o int, s string) Line   { return Line{Op: Delete, Old: o, Text: s} }
func ins(n int, s string) Line   { return Line{Op: Insert, New: n, Text: s} }

func TestLines(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       []Line
	}{
		{"both empty", "", "", nil},
		{"equal", "a: 1\nb: 2\n", "a: 1\nb: 2\n", []Line{eq(1, 1, "a: 1"), eq(2, 2, "b: 2")}},
		{"from empty", "", "a\nb\n", []Line{ins(1, "a"), ins(2, "b")}},
		{"to empty", "a\nb", "", []Line{del(1, "a"), del(2, "b")}},
		{"insert middle", "a\nc\n", "a\nb\nc\n", []Line{eq(1, 1, "a"), ins(2, "b"), eq(2, 3, "c")}},
		{"delete middle", "a\nb\nc\n", "a\nc\n", []Line{eq(1, 1, "a"), del(2, "b"), eq(3, 2, "c")}},
		{"change middle", "a\nb\nc\n", "a\nx\nc\n", []Line{eq(1, 1, "a"), del(2, "b"), ins(2, "x"), eq(3, 3, "c")}},
		{"deletes before inserts", "a\nb\nc", "x\ny", []Line{del(1, "a"), del(2, "b"), del(3, "c"), ins(1, "x"), ins(2, "y")}},
		{"trailing newline ignored", "a\nb", "a\nb\n", []Line{eq(1, 1, "a"), eq(2, 2, "b")}},
		{"only one trailing newline ignored", "a\n\n", "a\n", []Line{eq(1, 1, "a"), del(2, "")}},
		{"single empty line", "\n", "", []Line{del(1, "")}},
		{"append at end", "a\n", "a\nb\n", []Line{eq(1, 1, "a"), ins(2, "b")}},
		{"change at start", "a\nb\n", "z\nb\n", []Line{del(1, "a"), ins(1, "z"), eq(2, 2, "b")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Lines(tt.a, tt.b)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Lines(%q, %q)\n got %+v\nwant %+v", tt.a, tt.b, got, tt.want)
			}
			checkScript(t, splitLines(tt.a), splitLines(tt.b), got, true)
		})
	}
}

const oldYAML = `kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: web:1.4.0
          env:
            - name: LOG_LEVEL
              value: info
`

var newYAML = strings.NewReplacer("replicas: 2", "replicas: 3", "web:1.4.0", "web:1.5.0",
	"value: info\n", "value: debug\n            - name: REGION\n              value: eu-west-1\n").Replace(oldYAML)

// The expected outputs below were produced by GNU diff -U<context>.
func TestUnified(t *testing.T) {
	tests := []struct {
		name, a, b string
		context    int
		want       string
	}{
		{"context 1: split and merged hunks", oldYAML, newYAML, 1, `--- a/web.yaml
+++ b/web.yaml
@@ -4,3 +4,3 @@
 spec:
-  replicas: 2
+  replicas: 3
   template:
@@ -9,5 +9,7 @@
         - name: web
-          image: web:1.4.0
+          image: web:1.5.0
           env:
             - name: LOG_LEVEL
-              value: info
+              value: debug
+            - name: REGION
+              value: eu-west-1
`},
		{"context 2: one hunk", oldYAML, newYAML, 2, `--- a/web.yaml
+++ b/web.yaml
@@ -3,11 +3,13 @@
   name: web
 spec:
-  replicas: 2
+  replicas: 3
   template:
     spec:
       containers:
         - name: web
-          image: web:1.4.0
+          image: web:1.5.0
           env:
             - name: LOG_LEVEL
-              value: info
+              value: debug
+            - name: REGION
+              value: eu-west-1
`},
		{"pure delete at end", "a\nb\nc\n", "a\nb\n", 0, "--- a/web.yaml\n+++ b/web.yaml\n@@ -3 +2,0 @@\n-c\n"},
		{"from empty", "", "a\nb\n", 3, "--- a/web.yaml\n+++ b/web.yaml\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"insert with context", "a\nc\n", "a\nb\nc\n", 1, "--- a/web.yaml\n+++ b/web.yaml\n@@ -1,2 +1,3 @@\n a\n+b\n c\n"},
		{"equal", oldYAML, oldYAML, 3, ""},
		{"equal modulo trailing newline", "a\nb", "a\nb\n", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unified("a/web.yaml", "b/web.yaml", tt.a, tt.b, tt.context); got != tt.want {
				t.Errorf("Unified mismatch\n got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestSideBySide(t *testing.T) {
	got := SideBySide("a\nb\nc\nd\n", "a\nB\nd\ne\n")
	want := []Row{
		{Op: "equal", Left: "a", Right: "a", LeftNo: 1, RightNo: 1},
		{Op: "change", Left: "b", Right: "B", LeftNo: 2, RightNo: 2},
		{Op: "delete", Left: "c", LeftNo: 3},
		{Op: "equal", Left: "d", Right: "d", LeftNo: 4, RightNo: 3},
		{Op: "insert", Right: "e", RightNo: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SideBySide\n got %+v\nwant %+v", got, want)
	}
	pairs := [][2]string{{oldYAML, newYAML}, {newYAML, oldYAML}, {"", oldYAML}, {oldYAML, ""}, {"", ""},
		{"x\n\ny\n", "\n\nz\n"}, {"a\nb\nc\n", "c\nb\na\n"}}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		pairs = append(pairs, [2]string{randText(r, 30, 4), randText(r, 30, 4)})
	}
	for _, p := range pairs {
		var left, right []string
		for _, row := range SideBySide(p[0], p[1]) {
			hasL, hasR := row.LeftNo != 0, row.RightNo != 0
			wantL, wantR := row.Op != "insert", row.Op != "delete"
			if hasL != wantL || hasR != wantR || (row.Op == "equal" && row.Left != row.Right) ||
				(!hasL && row.Left != "") || (!hasR && row.Right != "") {
				t.Fatalf("SideBySide(%q, %q): inconsistent row %+v", p[0], p[1], row)
			}
			if hasL {
				left = append(left, row.Left)
			}
			if hasR {
				right = append(right, row.Right)
			}
		}
		if !slices.Equal(left, splitLines(p[0])) || !slices.Equal(right, splitLines(p[1])) {
			t.Errorf("SideBySide(%q, %q): columns do not rebuild inputs: %q / %q", p[0], p[1], left, right)
		}
	}
}

// randText returns up to n lines drawn from an alphabet of k lines, so that
// inputs share many (and repeated) lines.
func randText(r *rand.Rand, n, k int) string {
	var sb strings.Builder
	for range r.IntN(n + 1) {
		fmt.Fprintf(&sb, "k%d: v\n", r.IntN(k))
	}
	return sb.String()
}

// lcs is the O(NM) reference: the length of a longest common subsequence.
func lcs(a, b []string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkScript verifies that script turns a into b: it rebuilds both inputs,
// numbers lines consecutively, puts deletions before insertions within a
// change, and (when minimal is set) uses the fewest possible edits.
func checkScript(t *testing.T, a, b []string, script []Line, minimal bool) {
	t.Helper()
	var gotA, gotB []string
	edits, sawInsert := 0, false
	for _, l := range script {
		switch l.Op {
		case Equal:
			sawInsert = false
		case Delete:
			edits++
			if sawInsert {
				t.Fatalf("deletion after insertion within a change: %+v", script)
			}
		case Insert:
			edits++
			sawInsert = true
		default:
			t.Fatalf("bad op %q", l.Op)
		}
		wantOld, wantNew := 0, 0 // expected line numbers: next in a, next in b, or 0
		if l.Op != Insert {
			gotA = append(gotA, l.Text)
			wantOld = len(gotA)
		}
		if l.Op != Delete {
			gotB = append(gotB, l.Text)
			wantNew = len(gotB)
		}
		if l.Old != wantOld || l.New != wantNew {
			t.Fatalf("line %+v: want Old %d, New %d", l, wantOld, wantNew)
		}
	}
	if !slices.Equal(gotA, a) || !slices.Equal(gotB, b) {
		t.Fatalf("script does not rebuild inputs:\n a=%q\n b=%q\ngot a=%q\ngot b=%q", a, b, gotA, gotB)
	}
	if !minimal {
		return
	}
	if want := len(a) + len(b) - 2*lcs(a, b); edits != want {
		t.Fatalf("script has %d edits, minimum is %d\n a=%q\n b=%q", edits, want, a, b)
	}
}

// bytesAsLines maps each of the first 400 bytes to one of four lines, so
// fuzzed inputs exercise the diff on repetitive line sequences too. (The cut
// keeps each execution, and so input minimization, fast.)
func bytesAsLines(s string) []string {
	s = s[:min(len(s), 400)]
	out := make([]string, 0, len(s))
	for _, c := range []byte(s) {
		out = append(out, string(rune('a'+c%4)))
	}
	return out
}

func FuzzLines(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"a\nb\nc\n", "a\nx\nc\n"}, {"a\nb\nc\na\nb\nb\na", "c\nb\na\nb\na\nc"},
		{oldYAML, newYAML}, {"\n\n\n", "\n"}, {"x: 1\r\ny: 2\r\n", "x: 1\ny: 2\n"}, {"abcabba", "cbabac"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		la, lb := splitLines(a), splitLines(b)
		small := len(la) <= 60 && len(lb) <= 60
		checkScript(t, la, lb, Lines(a, b), small)
		ba, bb := bytesAsLines(a), bytesAsLines(b)
		checkScript(t, ba, bb, diffLines(ba, bb, maxEdits), len(ba) <= 60 && len(bb) <= 60)
		// A tiny cap forces the fallback; the script must stay correct.
		checkScript(t, ba, bb, diffLines(ba, bb, 3), false)
	})
}

func TestMinimalRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		n, k := 1+r.IntN(300), 2+r.IntN(20)
		a, b := splitLines(randText(r, n, k)), splitLines(randText(r, n, k))
		if i%2 == 0 { // similar documents: b is a mutated copy of a
			b = append([]string(nil), a...)
			for range r.IntN(10) {
				if p := r.IntN(len(b) + 1); r.IntN(2) == 0 || p == len(b) {
					b = append(b[:p], append([]string{"new"}, b[p:]...)...)
				} else {
					b = append(b[:p], b[p+1:]...)
				}
			}
		}
		checkScript(t, a, b, diffLines(a, b, maxEdits), true)
	}
}

func TestCapFallback(t *testing.T) {
	var a, b []string
	for i := range 3000 {
		a, b = append(a, fmt.Sprintf("a%d", i)), append(b, fmt.Sprintf("b%d", i%7))
	}
	a[1500], b[1500] = "same", "same" // the minimal script keeps this line
	script := diffLines(a, b, maxEdits)
	checkScript(t, a, b, script, false)
	if got := len(script); got != 6000 {
		t.Errorf("beyond the cap want delete-all/insert-all (6000 lines), got %d lines", got)
	}
	// Just under the cap the script is still minimal: 1999 of 4000 lines are
	// replaced by new unique lines, so the distance is 2*1999 = 3998.
	a, b = a[:0], b[:0]
	for i := range 4000 {
		a, b = append(a, fmt.Sprintf("c%d", i)), append(b, fmt.Sprintf("c%d", i))
		if i%2 == 1 && i < 3998 {
			b[i] = fmt.Sprintf("new%d", i)
		}
	}
	if script := diffLines(a, b, maxEdits); len(script) != 4000+1999 {
		t.Errorf("distance 3998 (under the cap): want %d lines, got %d", 4000+1999, len(script))
	}
	// Under a small cap, only the region differing after prefix/suffix is replaced.
	x, y := splitLines("p\na\nb\nc\nd\ns\n"), splitLines("p\nb\nX\nd\nY\ns\n")
	checkScript(t, x, y, diffLines(x, y, 1), false)
	want := []Line{eq(1, 1, "p"), del(2, "a"), del(3, "b"), del(4, "c"), del(5, "d"),
		ins(2, "b"), ins(3, "X"), ins(4, "d"), ins(5, "Y"), eq(6, 6, "s")}
	if got := diffLines(x, y, 1); !reflect.DeepEqual(got, want) {
		t.Errorf("capped diff\n got %+v\nwant %+v", got, want)
	}
}

// yamlDoc returns an n-line YAML document; if every > 0, one line in every
// is altered (lines every, 2*every, ... counting from 1).
func yamlDoc(n, every int) string {
	lines := []string{"services:"}
	for svc := 0; len(lines) < n; svc++ {
		lines = append(lines, fmt.Sprintf("  svc%04d:", svc),
			fmt.Sprintf("    image: registry.example.com/svc%04d:1.%d.0", svc, svc%10),
			"    replicas: 3", fmt.Sprintf("    port: %d", 8000+svc%100))
	}
	lines = lines[:n]
	for i := every - 1; every > 0 && i < n; i += every {
		lines[i] += " # changed"
	}
	return strings.Join(lines, "\n") + "\n"
}

func BenchmarkLines10k(b *testing.B) {
	a, c := yamlDoc(10000, 0), yamlDoc(10000, 100)
	if n := len(Lines(a, c)); n != 10100 {
		b.Fatalf("want 10100 diff lines (100 changed), got %d", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		Lines(a, c)
	}
}
