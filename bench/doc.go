// Package bench holds Gatehouse's benchmarks: figures measured against real servers and real
// databases, run with `make bench` (go test -bench). They are not tests: nothing here asserts a
// speed.
package bench
