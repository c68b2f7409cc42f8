package gatehouse

import (
	"encoding/base64"
	"strconv"
)

// Page is one page of a list, newest first. Next is the cursor of the page after it: set
// when more may follow, "" on the last page.
type Page[T any] struct {
	Items []T
	Next  string
}

// PageCursor is the cursor of the page that follows the row with id: the rows listed after
// it (older). Cursors are opaque to callers; they pass back what a list answered.
func PageCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// ParseCursor reads a cursor PageCursor made: the id of the last row of the page before.
// "" is the first page (0).
func ParseCursor(field, cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		if id, perr := strconv.ParseInt(string(b), 10, 64); perr == nil && id > 0 {
			return id, nil
		}
	}
	return 0, Invalidf(field, "%q is not a cursor: pass back the one a list answered (its next page)", cursor)
}

// Items are a page's items, for callers that read only the first page of a list:
// gatehouse.Items(svc.Approvals(ctx, f)).
func Items[T any](p Page[T], err error) ([]T, error) { return p.Items, err }
