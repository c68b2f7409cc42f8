package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStatements bounds the cache; queries built from filters vary, the rest do not.
const maxCachedStatements = 512

// pool is a connection pool that, for SQLite, reuses prepared statements by query text.
// SQLite otherwise parses every statement on every call, which costs a busy server a fifth of
// its CPU. PostgreSQL needs no cache here: pgx keeps prepared statements per connection itself.
type pool struct {
	*sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt // nil: no caching
}

func newPool(db *sql.DB, cache bool) *pool {
	p := &pool{DB: db}
	if cache {
		p.stmts = map[string]*sql.Stmt{}
	}
	return p
}

// cached returns the prepared statement for query if there is one.
func (p *pool) cached(query string) *sql.Stmt {
	if p.stmts == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stmts[query]
}

// stmt returns the cached prepared statement for query, preparing it on first use; nil when
// the pool does not cache or the cache is full. Preparing takes a connection of the pool, so
// it must not be called while holding one (inside a transaction of the same pool).
func (p *pool) stmt(ctx context.Context, query string) *sql.Stmt {
	if p.stmts == nil {
		return nil
	}
	p.mu.Lock()
	st, full := p.stmts[query], len(p.stmts) >= maxCachedStatements
	p.mu.Unlock()
	if st != nil || full {
		return st
	}
	// Prepare without holding the lock: preparing may wait for the connection, and the
	// transaction holding it may need the lock to look up its own statements.
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil // the uncached call reports the error
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev := p.stmts[query]; prev != nil {
		st.Close()
		return prev
	}
	p.stmts[query] = st
	return st
}

// ExecContext runs a statement, prepared once.
func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	countQuery(ctx)
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.DB.ExecContext(ctx, query, args...)
}

// QueryContext runs a query, prepared once.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	countQuery(ctx)
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query, prepared once.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	countQuery(ctx)
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// txStmt returns the write pool's prepared statement for query, or notes the query so the
// statement is prepared once the transaction has let go of the connection (the SQLite write
// pool has one connection, which the transaction holds).
func (tx *Tx) txStmt(ctx context.Context, query string) *sql.Stmt {
	countQuery(ctx)
	if tx.db.w.stmts == nil {
		return nil
	}
	if st := tx.db.w.cached(query); st != nil {
		return tx.Tx.StmtContext(ctx, st)
	}
	tx.unprepared = append(tx.unprepared, query)
	return nil
}

// ExecContext runs a statement in the transaction, reusing the write pool's prepared one.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := tx.txStmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction, reusing the write pool's prepared one.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := tx.txStmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the transaction, reusing the write pool's prepared
// one.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := tx.txStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}
