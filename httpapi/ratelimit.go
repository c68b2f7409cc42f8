package httpapi

import (
	"sync"
	"time"
)

// limiter counts failures per key in fixed windows. It keeps state in memory: each replica
// limits on its own, which bounds guessing to replicas × limit per window.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	now    func() time.Time
	counts map[string]*window
}

type window struct {
	start    time.Time
	failures int
}

func newLimiter(w time.Duration) *limiter {
	return &limiter{window: w, now: time.Now, counts: map[string]*window{}}
}

// blocked reports whether key has reached limit failures in the current window, and how long
// until the window ends.
func (l *limiter) blocked(key string, limit int) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.counts[key]
	if w == nil || l.now().Sub(w.start) >= l.window {
		return false, 0
	}
	return w.failures >= limit, w.start.Add(l.window).Sub(l.now())
}

// fail records a failure of key.
func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.counts) > 100000 {
		for k, w := range l.counts {
			if now.Sub(w.start) >= l.window {
				delete(l.counts, k)
			}
		}
	}
	w := l.counts[key]
	if w == nil || now.Sub(w.start) >= l.window {
		w = &window{start: now}
		l.counts[key] = w
	}
	w.failures++
}

// reset forgets a key after a success.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.counts, key)
}
