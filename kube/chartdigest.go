package kube

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
)

// archiveDigest is the digest of a repository or OCI chart: the sha256 of its archive (.tgz)
// exactly as downloaded, which is the `digest` a Helm repository's index lists for it and the
// digest of the chart layer in an OCI registry.
func archiveDigest(archive []byte) string {
	sum := sha256.Sum256(archive)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// filesDigest is the digest of a chart without an archive (the builtin chart, a directory):
// the sha256 of its files, subcharts' included (Helm keeps every file a chart was loaded from in
// Chart.Raw), in a canonical form, so an unchanged chart has the same digest every time and any
// changed, added or removed byte or file changes it. Files are taken in name order, each as its
// name and contents, both length-prefixed so that no two different sets of files are hashed as
// the same bytes; a fixed header keeps it apart from any archive's digest.
func filesDigest(files []*chart.File) string {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b *chart.File) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), bytes.Compare(a.Data, b.Data))
	})
	h := sha256.New()
	h.Write([]byte("gatehouse chart files v1\n"))
	var n [8]byte
	for _, f := range sorted {
		for _, part := range [][]byte{[]byte(f.Name), f.Data} {
			binary.BigEndian.PutUint64(n[:], uint64(len(part)))
			h.Write(n[:])
			h.Write(part)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
