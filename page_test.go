package gatehouse_test

import (
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// TestCursors: a cursor reads back as the id it was made of, "" is the first page, and
// anything else is refused naming the field.
func TestCursors(t *testing.T) {
	for _, id := range []int64{1, 42, 1 << 40} {
		if got, err := gatehouse.ParseCursor("cursor", gatehouse.PageCursor(id)); err != nil || got != id {
			t.Errorf("cursor of %d reads back as %d, %v", id, got, err)
		}
	}
	if got, err := gatehouse.ParseCursor("cursor", ""); err != nil || got != 0 {
		t.Errorf(`"" reads as %d, %v`, got, err)
	}
	for _, bad := range []string{"42", "not a cursor", gatehouse.PageCursor(0), "LTE"} {
		_, err := gatehouse.ParseCursor("cursor", bad)
		if e, ok := err.(*gatehouse.Error); !ok || e.Kind != gatehouse.KindInvalid || e.Field != "cursor" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
