package sqlstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/gatehousehq/gatehouse"
)

// markPrefix starts every secret mark of the current format. Marks of the first format
// ("mark:" and an HMAC of the value alone) are still in the values of deployments made before
// it. Rewriting them would need each old deployment's sealed secrets opened and re-marked;
// instead they are left as they are and never equal a mark of this format, so the first
// deployment of an environment after the change shows every secret changed once (and so does
// a diff between an old and a new deployment, or a rollback to an old one); from then on only
// secrets that really changed show. Showing too much once is safe; showing "unchanged" for a
// changed secret would not be.
const markPrefix = "mark:v2:"

// secretMarks stands in for an environment's secret settings where deployments keep their
// values (the sealed column keeps the secrets themselves): within one app and environment, the
// same mark for the same value and different marks for different ones, so deployment diffs
// and "config changed since the last deployment" tell which secrets changed.
//
// A mark is an HMAC, keyed with the audit key (which is not in the database, so a mark cannot
// be tested against guessed values by someone who reads it), of the app, the environment, the
// key and the value. The same value in two environments or under two keys gets unrelated
// marks, so no comparison between environments can tell whether their secrets are equal:
// someone who may write dev's secrets learns nothing of prod's by setting a guess in dev.
// Comparisons across environments do not compare marks anyway (see gatehouse.SecretKeys).
func (db *DB) secretMarks(appID, envID int64, secrets map[string]string) gatehouse.Values {
	if len(secrets) == 0 {
		return gatehouse.Values{}
	}
	m := map[string]any{}
	for k, v := range secrets {
		m[k] = markPrefix + hex.EncodeToString(secretMark(db.auditKey, appID, envID, k, v))
	}
	return gatehouse.Values{gatehouse.SecretValuesKey: m}
}

// secretMark is the HMAC over a domain-separated encoding of what a mark binds: a fixed label,
// the app and environment ids as 8 bytes each, then the key and the value each preceded by its
// length, so no two different (app, environment, key, value) encode alike.
func secretMark(key []byte, appID, envID int64, name, value string) []byte {
	mac := hmac.New(sha256.New, key)
	b := []byte("gatehouse secret mark v2\x00")
	b = binary.BigEndian.AppendUint64(b, uint64(appID))
	b = binary.BigEndian.AppendUint64(b, uint64(envID))
	b = binary.BigEndian.AppendUint64(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(value)))
	b = append(b, value...)
	mac.Write(b)
	return mac.Sum(nil)[:16]
}
