package sqlstore

import (
	"context"
	"sync/atomic"
)

type queryCounterKey struct{}

// CountQueries returns a context under which every statement the store runs, in transactions
// or not, is counted, and a function that reads the count. Tests measure what a call costs
// with it; work the store does on its own (the audit sequencer, other requests) runs under
// other contexts and does not blur the figure.
func CountQueries(ctx context.Context) (context.Context, func() int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, queryCounterKey{}, n), n.Load
}

func countQuery(ctx context.Context) {
	if n, ok := ctx.Value(queryCounterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}
