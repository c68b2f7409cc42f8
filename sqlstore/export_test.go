package sqlstore

// StopSequencer stops db's sequencer goroutine, as if its server died right after committing:
// the events it queues from then on stay queued until another server chains them (or a reader
// of db does).
func StopSequencer(db *DB) { db.seq.close() }

// HoldSequencer keeps db from chaining, its goroutine and its readers alike, until release is
// called; readers give up waiting after catchUpWait and read the chain as it is.
func HoldSequencer(db *DB) (release func()) {
	db.seq.turn <- struct{}{}
	return func() { <-db.seq.turn }
}

// ChainInRequest makes db chain each audited transaction's events inside it, under the head
// lock, as the store did before the sequencer: the benchmark's "before".
func ChainInRequest(db *DB) { db.seq.inRequest = true }
