package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/keyring"
)

// resealBatch is how many values one transaction of Reseal reads and re-seals.
const resealBatch = 200

// sealedColumn is one column that holds values sealed with the keyring, with what it takes to
// page through its rows and to rebuild the additional data each value was sealed with.
type sealedColumn struct {
	table  string // as reported, e.g. "webhooks"
	from   string // FROM clause
	filter string // more conditions (" AND …"), or ""
	k1, k2 string // the row's key, in order; k2 is "0" when k1 alone keys the row
	extra  string // what the additional data needs beside the key, or "''"
	value  string // the sealed column
	update string // $1 new value, $2 old value (compare-and-set), $3 k1[, $4 k2]
	keys   int    // 1 or 2: how many key arguments update takes
	aad    func(r sealedRow) string
}

// sealedRow is one sealed value and where it lives.
type sealedRow struct {
	k1, k2 int64
	extra  string
	value  string
}

// sealedColumns lists every sealed column in the store, grouped by table. A new Seal call in
// the store must add its column here, or rotation would leave it sealed by the old key.
var sealedColumns = []sealedColumn{
	{table: "clusters", from: "clusters", k1: "id", k2: "0", extra: "name", value: "kubeconfig_sealed", keys: 1,
		update: `UPDATE clusters SET kubeconfig_sealed = $1 WHERE kubeconfig_sealed = $2 AND id = $3`,
		aad:    func(r sealedRow) string { return kubeconfigAAD(r.extra) }},
	{table: "webhooks", from: "webhooks", k1: "id", k2: "0", extra: "''", value: "url_sealed", keys: 1,
		update: `UPDATE webhooks SET url_sealed = $1 WHERE url_sealed = $2 AND id = $3`,
		aad:    func(r sealedRow) string { return webhookAAD(r.k1, "url") }},
	{table: "webhooks", from: "webhooks", k1: "id", k2: "0", extra: "''", value: "secret_sealed", keys: 1,
		update: `UPDATE webhooks SET secret_sealed = $1 WHERE secret_sealed = $2 AND id = $3`,
		aad:    func(r sealedRow) string { return webhookAAD(r.k1, "secret") }},
	{table: "config_items", from: "config_items", filter: " AND kind = '" + string(gatehouse.ConfigSecrets) + "'",
		k1: "app_id", k2: "environment_id", extra: "''", value: "body", keys: 2,
		update: `UPDATE config_items SET body = $1 WHERE body = $2 AND app_id = $3 AND environment_id = $4 AND kind = '` + string(gatehouse.ConfigSecrets) + `'`,
		aad:    func(r sealedRow) string { return secretsAAD(r.k1, r.k2) }},
	{table: "draft_versions", from: "draft_versions v JOIN drafts d ON d.id = v.draft_id",
		filter: " AND d.kind = '" + string(gatehouse.DraftSecrets) + "'", k1: "v.draft_id", k2: "v.version", extra: "''", value: "v.body", keys: 2,
		update: `UPDATE draft_versions SET body = $1 WHERE body = $2 AND draft_id = $3 AND version = $4`,
		aad:    func(r sealedRow) string { return draftAAD(r.k1, r.k2) }},
	{table: "deployments", from: "deployments", k1: "id", k2: "0", extra: "''", value: "secrets_sealed", keys: 1,
		update: `UPDATE deployments SET secrets_sealed = $1 WHERE secrets_sealed = $2 AND id = $3`,
		aad:    func(r sealedRow) string { return deploymentSecretsAAD(r.k1) }},
}

// pageSQL selects the next values of the column not sealed by the key whose prefix is $1, after
// the key ($2, $3), at most $4 of them.
func (c sealedColumn) pageSQL() string {
	order := c.k1 // not "k1, 0": a number in ORDER BY names a column
	if c.keys == 2 {
		order += ", " + c.k2
	}
	return `SELECT ` + c.k1 + `, ` + c.k2 + `, ` + c.extra + `, ` + c.value + ` FROM ` + c.from +
		` WHERE ` + c.value + ` <> '' AND ` + c.value + ` NOT LIKE $1` + c.filter +
		` AND (` + c.k1 + ` > $2 OR (` + c.k1 + ` = $2 AND ` + c.k2 + ` > $3))` +
		` ORDER BY ` + order + ` LIMIT $4`
}

// countSQL counts the column's values by their first n characters: the sealing key's prefix.
func (c sealedColumn) countSQL(n int) string {
	head := `substr(` + c.value + `, 1, ` + strconv.Itoa(n) + `)`
	return `SELECT ` + head + `, COUNT(*) FROM ` + c.from + ` WHERE ` + c.value + ` <> ''` + c.filter + ` GROUP BY ` + head
}

// where names a row for errors: its table and key, never its value.
func (c sealedColumn) where(r sealedRow) string {
	col := c.value[strings.IndexByte(c.value, '.')+1:]
	if c.keys == 2 {
		return fmt.Sprintf("%s.%s of row (%d, %d)", c.table, col, r.k1, r.k2)
	}
	return fmt.Sprintf("%s.%s of row %d", c.table, col, r.k1)
}

// sealPrefix is how every value the current key seals begins.
func (db *DB) sealPrefix() string { return keyring.Prefix(db.secrets.CurrentID()) }

// ResealReport is what a Reseal did and what it left.
type ResealReport struct {
	// Current is the id of the key that seals now.
	Current string `json:"current"`
	// Resealed counts the values this run sealed anew with the current key, by table; every
	// table with sealed columns is listed.
	Resealed map[string]int `json:"resealed"`
	// SealedBy counts every sealed value in the store by the id of the key that sealed it, as
	// the run ended.
	SealedBy map[string]int `json:"sealed_by"`
}

// Reseal opens every sealed value with the store's keyring and seals it again with the current
// key, leaving values the current key already seals untouched; progress, when not nil, hears
// each table's running count after every full batch and once when the table is done.
//
// Guarantees: values are re-sealed in batches of resealBatch, each in its own transaction, so
// an interrupted run leaves every value readable by this keyring and running Reseal again
// finishes the job; a second run changes nothing. A value rewritten by someone else between
// the read and the write keeps their write (compare-and-set), sealed by whatever keyring they
// hold, and shows in SealedBy. Reseal stops at the first value this keyring cannot open (a key
// missing from it, or an altered value), naming the row and the key id. The run is recorded as
// one audit event keys.rotate with its counts (also when it failed after re-sealing some),
// made by the context's actor or else the system. No error, log line or audit event carries a
// value or key material.
func (db *DB) Reseal(ctx context.Context, progress func(table string, n int)) (ResealReport, error) {
	if gatehouse.ActorFrom(ctx) == nil {
		ctx = gatehouse.WithActor(ctx, gatehouse.SystemActor())
	}
	rep := ResealReport{Current: db.secrets.CurrentID(), Resealed: map[string]int{}}
	for _, c := range sealedColumns {
		rep.Resealed[c.table] = 0
	}
	var runErr error
	for i, c := range sealedColumns {
		last := i == len(sealedColumns)-1 || sealedColumns[i+1].table != c.table
		n, err := db.resealColumn(ctx, c, func(n int) {
			if progress != nil {
				progress(c.table, rep.Resealed[c.table]+n)
			}
		})
		rep.Resealed[c.table] += n
		if err != nil {
			runErr = err
			break
		}
		if last && progress != nil {
			progress(c.table, rep.Resealed[c.table])
		}
	}
	total := 0
	for _, n := range rep.Resealed {
		total += n
	}
	if runErr != nil && total == 0 {
		return rep, runErr
	}
	// The run's work is done: record it even when the caller gave up meanwhile.
	after := context.WithoutCancel(ctx)
	counts, err := db.SealedKeyIDs(after)
	if err != nil {
		if runErr != nil {
			return rep, runErr
		}
		return rep, err
	}
	rep.SealedBy = counts
	err = db.write(after, func(tx *Tx) error {
		return tx.audit(change{action: "keys.rotate", resource: "keyring/" + rep.Current,
			details: map[string]any{"current": rep.Current, "resealed": rep.Resealed, "sealed_by": rep.SealedBy, "complete": runErr == nil}})
	})
	if runErr != nil {
		return rep, runErr
	}
	if err != nil {
		return rep, fmt.Errorf("record key rotation: %w", err)
	}
	db.log.Info("resealed secrets", "current_key", rep.Current, "resealed", total)
	return rep, nil
}

// resealColumn re-seals one column's values not sealed by the current key, batch after batch
// in key order, and returns how many it re-sealed; full reports the running count after each
// full batch.
func (db *DB) resealColumn(ctx context.Context, c sealedColumn, full func(n int)) (int, error) {
	skip := db.sealPrefix() + "%"
	query := c.pageSQL()
	var k1, k2 int64
	total := 0
	for {
		var rows []sealedRow
		n := 0
		err := db.write(ctx, func(tx *Tx) error {
			n = 0
			var err error
			rows, err = queryAll(ctx, tx, func(s scanner) (sealedRow, error) {
				var r sealedRow
				err := s.Scan(&r.k1, &r.k2, &r.extra, &r.value)
				return r, err
			}, query, skip, k1, k2, resealBatch)
			if err != nil {
				return fmt.Errorf("read %s: %w", c.table, err)
			}
			for _, r := range rows {
				aad := c.aad(r)
				pt, err := db.secrets.Open(r.value, aad)
				if err != nil {
					return gatehouse.Errorf(gatehouse.KindPreconditionFailed,
						"%s does not open with the keyring (it names key %q: that key is missing, or the value was altered): add the key back and reseal again",
						c.where(r), keyring.SealedBy(r.value))
				}
				args := []any{db.secrets.Seal(pt, aad), r.value, r.k1}
				clear(pt)
				if c.keys == 2 {
					args = append(args, r.k2)
				}
				res, err := tx.ExecContext(ctx, c.update, args...)
				if err != nil {
					return fmt.Errorf("reseal %s: %w", c.where(r), err)
				}
				if changed, err := res.RowsAffected(); err == nil && changed == 1 {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if len(rows) < resealBatch {
			return total, nil
		}
		k1, k2 = rows[len(rows)-1].k1, rows[len(rows)-1].k2
		full(total)
	}
}

// SealedKeyIDs counts the sealed values of every sealed column by the id of the key that
// sealed them ("" for a value that is not sealed at all, which the store never writes). A key
// with no count seals nothing in the store, and may leave the key file; backups taken before
// it was re-sealed away still need it.
func (db *DB) SealedKeyIDs(ctx context.Context) (map[string]int, error) {
	n := len(db.sealPrefix())
	out := map[string]int{}
	for _, c := range sealedColumns {
		rows, err := db.r.QueryContext(ctx, c.countSQL(n))
		if err != nil {
			return nil, fmt.Errorf("count sealed %s: %w", c.table, err)
		}
		for rows.Next() {
			var head string
			var count int
			if err := rows.Scan(&head, &count); err != nil {
				rows.Close()
				return nil, fmt.Errorf("count sealed %s: %w", c.table, err)
			}
			out[keyring.SealedBy(head)] += count
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("count sealed %s: %w", c.table, err)
		}
	}
	return out, nil
}
