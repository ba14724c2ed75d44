package state

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// fillExport writes n keys with 100-byte values under ns at a fresh ts
// (more than one Badger transaction's worth, so a failed import has
// committed part of its batch before it fails) and returns the ts and
// the expected key → value map, keys relative to ns.
func fillExport(t *testing.T, s *Store, ns []byte, n int) (uint64, map[string]string) {
	t.Helper()
	ts := s.NextTs()
	want := map[string]string{}
	wb := s.StateDB().NewWriteBatchAt(ts)
	for i := range n {
		rel := fmt.Sprintf("\x00\x01key-%06d", i)
		val := fmt.Sprintf("%-100d", i)
		if err := wb.Set(append(bytes.Clone(ns), rel...), []byte(val)); err != nil {
			t.Fatal(err)
		}
		want[rel] = val
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	return ts, want
}

func readNamespace(t *testing.T, s *Store, ns []byte, ts uint64) map[string]string {
	t.Helper()
	got := map[string]string{}
	k := NewKeyedState[[]byte](s, ns, BytesCodec{}, 1)
	k.SetEpoch(NewEpoch(ts))
	if err := k.Scan(func(kg int, key []byte, v []byte) error {
		got[string([]byte{byte(kg >> 8), byte(kg)})+string(key)] = string(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestExportImport(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := JobNamespace("exporter")
	ts, want := fillExport(t, s, src, 20_000)
	// Later changes are not in an export at ts.
	k := NewKeyedState[[]byte](s, src, BytesCodec{}, 10)
	k.SetEpoch(NewEpoch(s.NextTs()))
	if err := k.Delete(1, []byte("key-000003")); err != nil {
		t.Fatal(err)
	}
	if err := k.Put(1, []byte("zzz"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	n, err := s.ExportNamespace(src, ts, &buf)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("export: %d keys, %v", n, err)
	}
	stream := buf.Bytes()

	dst := JobNamespace("importer")
	its, m, err := s.ImportNamespace(bytes.NewReader(stream), src, dst)
	if err != nil || m != n {
		t.Fatalf("import: %d keys, %v", m, err)
	}
	start := s.NextTs()
	if start <= its {
		t.Fatalf("NextTs %d not after the import's ts %d", start, its)
	}
	got := readNamespace(t, s, dst, start)
	if len(got) != len(want) {
		t.Fatalf("imported %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %q = %q, want %q", k, got[k], v)
		}
	}
	if c, _ := s.NamespaceKeys(dst, its-2); c != 0 {
		t.Fatalf("%d imported keys visible before the import's ts", c)
	}

	// Keys not under oldPrefix are refused.
	if _, _, err := s.ImportNamespace(bytes.NewReader(stream), JobNamespace("other"), JobNamespace("x")); !errors.Is(err, ErrBadSavepoint) {
		t.Fatalf("import with the wrong old prefix: %v", err)
	}
	if c, _ := s.NamespaceKeys(JobNamespace("x"), LatestTs); c != 0 {
		t.Fatalf("%d keys left by a refused import", c)
	}
}

func TestImportRejectsDamage(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := JobNamespace("exporter")
	ts, _ := fillExport(t, s, src, 20_000)
	var buf bytes.Buffer
	if _, err := s.ExportNamespace(src, ts, &buf); err != nil {
		t.Fatal(err)
	}
	stream := buf.Bytes()
	if len(stream) < 2<<20 {
		t.Fatalf("stream of %d bytes: too small to commit part of an import", len(stream))
	}
	cases := map[string][]byte{"empty": nil}
	for _, cut := range []int{1, 8, 20, len(stream) / 3, len(stream) - 10, len(stream) - 4, len(stream) - 1} {
		cases[fmt.Sprintf("truncated at %d", cut)] = stream[:cut]
	}
	for _, at := range []int{0, 9, len(stream) / 2, len(stream) - 20, len(stream) - 2} {
		b := bytes.Clone(stream)
		b[at] ^= 0x40
		cases[fmt.Sprintf("byte %d flipped", at)] = b
	}
	cases["trailing data"] = append(bytes.Clone(stream), 0)
	i := 0
	for name, b := range cases {
		i++
		dst := JobNamespace(fmt.Sprintf("importer-%d", i))
		_, n, err := s.ImportNamespace(bytes.NewReader(b), src, dst)
		if err == nil {
			t.Errorf("%s: import of %d keys succeeded", name, n)
			continue
		}
		if !errors.Is(err, ErrBadSavepoint) {
			t.Errorf("%s: %v, want ErrBadSavepoint", name, err)
		}
		if c, err := s.NamespaceKeys(dst, s.NextTs()); c != 0 || err != nil {
			t.Errorf("%s: %d keys visible after a failed import (%v)", name, c, err)
		}
	}
}
