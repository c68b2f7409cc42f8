package gatehouse_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func TestHeadSealCoversSeqHashAndKey(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	hash := strings.Repeat("ab", 32)
	seal := gatehouse.HeadSeal(key, 7, hash)
	if len(seal) != 64 || seal != gatehouse.HeadSeal(key, 7, hash) || !gatehouse.HeadSealed(key, 7, hash, seal) {
		t.Fatalf("seal not stable or wrong size: %s", seal)
	}
	others := map[string]bool{
		"seq":  gatehouse.HeadSealed(key, 6, hash, seal),
		"hash": gatehouse.HeadSealed(key, 7, strings.Repeat("ab", 31)+"ac", seal),
		"key":  gatehouse.HeadSealed([]byte(strings.Repeat("x", 32)), 7, hash, seal),
		"none": gatehouse.HeadSealed(key, 7, hash, ""),
	}
	for name, sealed := range others {
		if sealed {
			t.Errorf("a head with another %s passes the seal", name)
		}
	}
	// Domain separation: the seal of a head is not the MAC of a checkpoint of the same head.
	cp := gatehouse.NewAuditCheckpoint(key, 7, hash, time.Unix(0, 0))
	if cp.MAC == seal {
		t.Error("a head seal and a checkpoint MAC coincide")
	}
}

func TestAuditCheckpointCheck(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	at := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	cp := gatehouse.NewAuditCheckpoint(key, 42, strings.Repeat("0f", 32), at)
	if !cp.Time.Equal(at.Truncate(time.Microsecond)) || cp.Time.Location() != time.UTC {
		t.Fatalf("time %v, want %v in UTC to the microsecond", cp.Time, at)
	}
	if err := cp.Check(key); err != nil {
		t.Fatal(err)
	}
	// What goes to a file and comes back still checks.
	b, _ := json.Marshal(cp)
	var back gatehouse.AuditCheckpoint
	if err := json.Unmarshal(b, &back); err != nil || back.Check(key) != nil {
		t.Fatalf("round trip through %s: %v %v", b, err, back.Check(key))
	}
	edits := map[string]func(c *gatehouse.AuditCheckpoint){
		"seq":  func(c *gatehouse.AuditCheckpoint) { c.Seq = 41 },
		"hash": func(c *gatehouse.AuditCheckpoint) { c.Hash = strings.Repeat("0e", 32) },
		"time": func(c *gatehouse.AuditCheckpoint) { c.Time = c.Time.Add(time.Microsecond) },
		"mac":  func(c *gatehouse.AuditCheckpoint) { c.MAC = strings.Repeat("00", 32) },
	}
	for name, edit := range edits {
		c := cp
		edit(&c)
		wantCheckpointError(t, c.Check(key), "seal does not match", name)
	}
	wantCheckpointError(t, cp.Check([]byte(strings.Repeat("x", 32))), "another audit key", "key")
	malformed := []gatehouse.AuditCheckpoint{
		{},
		{Seq: 0, Hash: cp.Hash, Time: cp.Time, MAC: cp.MAC},
		{Seq: 42, Hash: "HEAD", Time: cp.Time, MAC: cp.MAC},
		{Seq: 42, Hash: cp.Hash, MAC: cp.MAC},
		{Seq: 42, Hash: cp.Hash, Time: cp.Time, MAC: strings.ToUpper(cp.MAC)},
	}
	for i, c := range malformed {
		wantCheckpointError(t, c.Check(key), "expected what `gatehouse audit checkpoint` printed", string(rune('0'+i)))
	}
}

func wantCheckpointError(t *testing.T, err error, msg, what string) {
	t.Helper()
	e, ok := err.(*gatehouse.Error)
	if !ok || e.Kind != gatehouse.KindInvalid || e.Field != "checkpoint" || !strings.Contains(e.Message, msg) {
		t.Errorf("%s: Check = %v, want invalid checkpoint %q", what, err, msg)
	}
}
