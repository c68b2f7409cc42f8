package sqlstore_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
)

// chainRow is one audit_events row as stored: seq and at, then the text columns in the order
// of auditCols.
type chainRow struct {
	seq, at int64
	text    [len(auditTextCols)]sql.NullString
}

// auditTextCols are the text columns of audit_events; the JSON ones may be NULL.
var auditTextCols = [...]string{"actor", "actor_kind", "via", "action", "resource", "project", "app", "environment",
	"before_json", "after_json", "details", "request_id", "source_ip", "prev_hash", "hash"}

const (
	colBefore, colDetails = 8, 10 // the JSON columns are colBefore … colDetails
	colPrevHash, colHash  = 13, 14
)

// chainState is the trail as the database holds it: its rows in sequence order, and the head.
type chainState struct {
	rows []chainRow
	head headRow
}

func (s chainState) clone() chainState {
	return chainState{rows: slices.Clone(s.rows), head: s.head}
}

// editor applies the edits the fuzz input spells, as someone who can write the database but
// does not hold the audit key would. heads are the heads the database held before, in order,
// as a backup would keep them.
type editor struct {
	in    []byte
	heads []headRow
}

func (e *editor) next() int {
	if len(e.in) == 0 {
		return 0
	}
	b := e.in[0]
	e.in = e.in[1:]
	return int(b)
}

// text is a string of up to 15 bytes taken from the input.
func (e *editor) text() string {
	n := min(e.next()%16, len(e.in))
	s := string(e.in[:n])
	e.in = e.in[n:]
	return s
}

// apply edits s as the input says, at most 8 edits, and describes what it did.
func (e *editor) apply(s chainState) (chainState, []string) {
	var did []string
	for n := 0; len(e.in) > 0 && n < 8; n++ {
		out, what := e.edit(s.clone())
		if what == "" || hasDuplicateSeq(out.rows) {
			continue // the edit needs a row there is not, or would repeat a sequence number
		}
		s = out
		did = append(did, what)
	}
	return s, did
}

func (e *editor) row(s chainState) int { return e.next() % len(s.rows) }

func (e *editor) edit(s chainState) (chainState, string) {
	op := e.next() % 6
	if len(s.rows) == 0 && op != 5 {
		return s, ""
	}
	switch op {
	case 0: // change a field
		i := e.row(s)
		return s, e.changeField(s, i)
	case 1: // delete a row, perhaps renumbering the rows after it to close the gap
		i, renumber := e.row(s), e.next()%2 == 1
		seq := s.rows[i].seq
		s.rows = slices.Delete(s.rows, i, i+1)
		if renumber {
			for j := i; j < len(s.rows); j++ {
				s.rows[j].seq--
			}
		}
		return s, fmt.Sprintf("delete event %d (renumber %v)", seq, renumber)
	case 2: // swap two rows' places in the sequence
		i, j := e.row(s), e.row(s)
		s.rows[i].seq, s.rows[j].seq = s.rows[j].seq, s.rows[i].seq
		sortRows(s.rows)
		return s, fmt.Sprintf("swap rows %d and %d", i, j)
	case 3: // insert a copy of a row at the end, perhaps moving the head onto it, or in the middle
		return s, e.insertCopy(&s)
	case 4: // cut the tail after event k, then keep the head, point it at k, or put back k's old head
		return s, e.cutTail(&s)
	default: // edit the sealed head
		return s, e.editHead(&s)
	}
}

func (e *editor) changeField(s chainState, i int) string {
	r := &s.rows[i]
	c := e.next() % (len(auditTextCols) + 2)
	switch c {
	case 0:
		r.seq += int64(int8(e.next()))
		what := fmt.Sprintf("seq of row %d to %d", i, r.seq)
		sortRows(s.rows)
		return what
	case 1:
		r.at += int64(int8(e.next()))
		return fmt.Sprintf("time of event %d", r.seq)
	}
	col := c - 2
	v := &r.text[col]
	switch e.next() % 4 {
	case 0:
		*v = sql.NullString{String: e.text(), Valid: true}
	case 1: // the same column of another row
		*v = s.rows[e.row(s)].text[col]
	case 2:
		*v = sql.NullString{Valid: col < colBefore || col > colDetails}
	default: // a JSON document, or a longer text
		b, _ := json.Marshal(map[string]string{"k": e.text()})
		*v = sql.NullString{String: string(b), Valid: true}
	}
	return fmt.Sprintf("%s of event %d to %q (null %v)", auditTextCols[col], r.seq, v.String, !v.Valid)
}

func (e *editor) insertCopy(s *chainState) string {
	cp := s.rows[e.row(*s)]
	last := s.rows[len(s.rows)-1].seq
	switch e.next() % 3 {
	case 0:
		cp.seq = last + 1 + int64(e.next()%4)
		s.rows = append(s.rows, cp)
		return fmt.Sprintf("copy of an event as %d", cp.seq)
	case 1:
		cp.seq = last + 1
		s.rows = append(s.rows, cp)
		s.head.seq, s.head.hash = cp.seq, cp.text[colHash].String
		return fmt.Sprintf("copy of an event as %d, the head on it", cp.seq)
	}
	p := e.row(*s)
	cp.seq = s.rows[p].seq
	for j := p; j < len(s.rows); j++ {
		s.rows[j].seq++
	}
	s.rows = slices.Insert(s.rows, p, cp)
	return fmt.Sprintf("copy of an event inserted as %d, the rest renumbered", cp.seq)
}

func (e *editor) cutTail(s *chainState) string {
	k, how := int64(e.next()%(len(s.rows)+1)), e.next()%3
	if how == 2 && len(e.heads) > 0 {
		old := e.heads[e.next()%len(e.heads)]
		k, s.head = old.seq, old
	}
	s.rows = slices.DeleteFunc(s.rows, func(r chainRow) bool { return r.seq > k })
	if i := slices.IndexFunc(s.rows, func(r chainRow) bool { return r.seq == k }); how == 1 && i >= 0 {
		s.head.seq, s.head.hash = k, s.rows[i].text[colHash].String
	}
	return fmt.Sprintf("cut after event %d, head %d", k, s.head.seq)
}

func (e *editor) editHead(s *chainState) string {
	switch e.next() % 4 {
	case 0:
		s.head.seq += int64(int8(e.next()))
	case 1:
		if len(s.rows) > 0 {
			s.head.hash = s.rows[e.row(*s)].text[colHash].String
		} else {
			s.head.hash = e.text()
		}
	case 2:
		s.head.mac = e.text()
	default: // the seal of another head the database once held
		if len(e.heads) > 0 {
			s.head.mac = e.heads[e.next()%len(e.heads)].mac
		}
	}
	return fmt.Sprintf("head to %d %.8s… mac %.8s…", s.head.seq, s.head.hash, s.head.mac)
}

func sortRows(rows []chainRow) {
	slices.SortStableFunc(rows, func(a, b chainRow) int { return int(a.seq - b.seq) })
}

func hasDuplicateSeq(rows []chainRow) bool {
	for i := 1; i < len(rows); i++ {
		if rows[i].seq == rows[i-1].seq {
			return true
		}
	}
	return false
}

// sameEvents reports whether two trails say the same: the same head and rows, the text of each
// column as the chain hash reads it (json.Marshal reads each invalid UTF-8 byte as U+FFFD), and
// JSON columns as json.Marshal writes them into what it hashes (no space between tokens, '<',
// '>' and '&' escaped; and NULL, "" and "null" alike: no snapshot).
func sameEvents(a, b chainState) bool {
	if a.head != b.head || len(a.rows) != len(b.rows) {
		return false
	}
	for i := range a.rows {
		x, y := a.rows[i], b.rows[i]
		if x.seq != y.seq || x.at != y.at {
			return false
		}
		for c := range x.text {
			if hashedText(c, x.text[c]) != hashedText(c, y.text[c]) {
				return false
			}
		}
	}
	return true
}

func hashedText(col int, v sql.NullString) string {
	if col < colBefore || col > colDetails {
		return string([]rune(v.String))
	}
	if v.String == "" {
		return ""
	}
	var compact, escaped bytes.Buffer
	if err := json.Compact(&compact, []byte(v.String)); err != nil {
		return "invalid " + v.String
	}
	if compact.String() == "null" {
		return ""
	}
	json.HTMLEscape(&escaped, compact.Bytes()) // as json.Marshal writes a json.RawMessage
	return escaped.String()
}
