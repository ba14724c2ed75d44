package checkpoint

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testMetadata(job string, id int64) *Metadata {
	return &Metadata{
		JobID: job, ID: id, WriteTs: uint64(id) * 100, TriggerTime: t0.Add(time.Duration(id) * time.Second),
		Duration: 1500 * time.Millisecond, Alignment: 3 * time.Millisecond, StateBytes: 4096,
		Parallelism: map[int]int{0: 2, 1: 4},
		Snapshots: []Snapshot{
			{Vertex: 0, Subtask: 0, Op: 0, Data: []byte(`{"partition":0,"offset":42}`)},
			{Vertex: 0, Subtask: 1, Op: 0, Data: []byte{0, 1, 2, 255}},
			{Vertex: 1, Subtask: 3, Op: 2},
		},
		Extra: map[string]string{"sql": "INSERT INTO s SELECT * FROM t"},
	}
}

func writeAll(t *testing.T, s *Store, job string, ids ...int64) {
	t.Helper()
	for _, id := range ids {
		if err := s.Write(testMetadata(job, id)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "ck")}
	if md, skipped, err := s.Latest("job-1"); md != nil || skipped != nil || err != nil {
		t.Fatalf("Latest of an unknown job = %v, %v, %v", md, skipped, err)
	}
	writeAll(t, s, "job-1", 1, 2)
	md, skipped, err := s.Latest("job-1")
	if err != nil || len(skipped) != 0 {
		t.Fatalf("Latest: %v, %v", skipped, err)
	}
	if want := testMetadata("job-1", 2); !reflect.DeepEqual(md, want) {
		t.Fatalf("Latest =\n%+v\nwant\n%+v", md, want)
	}
	for _, p := range []string{s.CheckpointDir("job-1", 1), filepath.Join(s.CheckpointDir("job-1", 1), MetadataFile)} {
		md, err := s.Load(p)
		if err != nil || !reflect.DeepEqual(md, testMetadata("job-1", 1)) {
			t.Errorf("Load(%s) = %+v, %v", p, md, err)
		}
	}
	// Rewriting a checkpoint replaces it and leaves no temporary file.
	md2 := testMetadata("job-1", 2)
	md2.Final = true
	if err := s.Write(md2); err != nil {
		t.Fatal(err)
	}
	if md, _, _ := s.Latest("job-1"); md == nil || !md.Final {
		t.Errorf("rewritten checkpoint not read back: %+v", md)
	}
	entries, _ := os.ReadDir(s.CheckpointDir("job-1", 2))
	if len(entries) != 1 || entries[0].Name() != MetadataFile {
		t.Errorf("checkpoint directory holds %v", entries)
	}
	if _, err := s.Load(filepath.Join(s.Dir, "nope")); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "not a completed checkpoint or savepoint") {
		t.Errorf("Load of a missing directory: %v", err)
	}
	if err := s.Write(&Metadata{ID: 1}); err == nil {
		t.Error("Write without a job id succeeded")
	}
	if err := s.Write(&Metadata{JobID: "j", ID: 0}); err == nil {
		t.Error("Write of id 0 succeeded")
	}
}

func TestStoreList(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	writeAll(t, s, "j", 10, 9, 2)
	jd := s.JobDir("j")
	for _, d := range []string{"chk-abc", "chk-007", "chk-0", "chk--1", "other"} {
		if err := os.Mkdir(filepath.Join(jd, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(jd, "chk-11"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ids, err := s.List("j")
	if err != nil || !reflect.DeepEqual(ids, []int64{2, 9, 10}) {
		t.Errorf("List = %v, %v", ids, err)
	}
}

// TestStoreTornAndCorrupt truncates the newest checkpoint's file at every
// length and flips every byte of it: Latest must fall back to the previous
// checkpoint and report the skipped one, and Load must fail with ErrCorrupt.
func TestStoreTornAndCorrupt(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	writeAll(t, s, "job-7", 1, 2)
	file := filepath.Join(s.CheckpointDir("job-7", 2), MetadataFile)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, b []byte) {
		t.Helper()
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		md, skipped, err := s.Latest("job-7")
		if err != nil || md == nil || md.ID != 1 || len(skipped) != 1 || !errors.Is(skipped[0], ErrCorrupt) {
			t.Fatalf("%s: Latest = %v, %v, %v; want checkpoint 1 and one corrupt skipped", what, md, skipped, err)
		}
		if _, err := s.Load(s.CheckpointDir("job-7", 2)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), file) {
			t.Fatalf("%s: Load error %v; want ErrCorrupt naming %s", what, err, file)
		}
	}
	for n := 0; n < len(good); n++ {
		check("truncated", good[:n])
	}
	for i := range good {
		b := append([]byte(nil), good...)
		b[i] ^= 0x20
		check("flipped", b)
	}
	check("extended", append(append([]byte(nil), good...), 0))

	// Error texts for the common kinds of damage.
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{good[:10], "truncated: 10 bytes"},
		{good[:len(good)-1], "truncated or extended: header says"},
		{append([]byte("XXXXXXXX"), good[8:]...), "bad magic"},
		{flip(good, len(good)-10), "checksum mismatch"},
		{withVersion(good, 2), "format version 2 not supported"},
	} {
		_, err := DecodeMetadata(tc.b)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeMetadata error %v; want %q", err, tc.want)
		}
	}

	// An incomplete checkpoint directory (no _metadata) is skipped too.
	if err := os.WriteFile(file, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.CheckpointDir("job-7", 3), 0o755); err != nil {
		t.Fatal(err)
	}
	md, skipped, err := s.Latest("job-7")
	if err != nil || md == nil || md.ID != 2 || len(skipped) != 1 || !errors.Is(skipped[0], fs.ErrNotExist) {
		t.Fatalf("Latest with an incomplete chk-3 = %v, %v, %v", md, skipped, err)
	}
	// A checkpoint directory holding another checkpoint's file is skipped.
	if err := os.WriteFile(filepath.Join(s.CheckpointDir("job-7", 3), MetadataFile), good, 0o644); err != nil {
		t.Fatal(err)
	}
	md, skipped, _ = s.Latest("job-7")
	if md == nil || md.ID != 2 || len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "holds checkpoint 2") {
		t.Fatalf("Latest with a misplaced chk-3 = %v, %v", md, skipped)
	}
	// Nothing intact: nil metadata and every directory reported.
	for _, id := range []int64{1, 2} {
		if err := os.WriteFile(filepath.Join(s.CheckpointDir("job-7", id), MetadataFile), good[:5], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	md, skipped, err = s.Latest("job-7")
	if md != nil || len(skipped) != 3 || err != nil {
		t.Fatalf("Latest with nothing intact = %v, %v, %v", md, skipped, err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}

// withVersion rewrites the format version and fixes the checksum.
func withVersion(b []byte, v uint32) []byte {
	c := append([]byte(nil), b...)
	binary.BigEndian.PutUint32(c[8:], v)
	body := c[:len(c)-4]
	binary.BigEndian.PutUint32(c[len(body):], crc32.Checksum(body, castagnoli))
	return c
}

func TestStoreRetain(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	writeAll(t, s, "j", 1, 2, 3, 4, 5)
	if err := s.Retain("j", 2); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.List("j"); !reflect.DeepEqual(ids, []int64{4, 5}) {
		t.Errorf("after Retain(2): %v", ids)
	}
	if err := s.Retain("j", 0); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.List("j"); !reflect.DeepEqual(ids, []int64{5}) {
		t.Errorf("after Retain(0): %v", ids)
	}

	// Damaged checkpoints: the newest (6) is left alone, 5 and 3 are kept,
	// the damaged 4 between them and everything older than 3 are deleted.
	writeAll(t, s, "j", 1, 2, 3, 4, 6)
	for _, id := range []int64{4, 6} {
		if err := os.WriteFile(filepath.Join(s.CheckpointDir("j", id), MetadataFile), []byte("torn"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Retain("j", 2); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.List("j"); !reflect.DeepEqual(ids, []int64{3, 5, 6}) {
		t.Errorf("after Retain(2) with damage: %v", ids)
	}
	// Nothing intact: nothing deleted.
	for _, id := range []int64{3, 5} {
		if err := os.WriteFile(filepath.Join(s.CheckpointDir("j", id), MetadataFile), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Retain("j", 1); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.List("j"); !reflect.DeepEqual(ids, []int64{3, 5, 6}) {
		t.Errorf("after Retain(1) with nothing intact: %v", ids)
	}
	if err := s.Retain("unknown", 1); err != nil {
		t.Errorf("Retain of an unknown job: %v", err)
	}
}

func TestStoreDeleteJob(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	writeAll(t, s, "a", 1)
	writeAll(t, s, "b", 1)
	if err := s.DeleteJob("a"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.List("a"); len(ids) != 0 {
		t.Errorf("job a still has %v", ids)
	}
	if ids, _ := s.List("b"); len(ids) != 1 {
		t.Errorf("job b lost its checkpoint: %v", ids)
	}
	if err := s.DeleteJob("never"); err != nil {
		t.Errorf("DeleteJob of an unknown job: %v", err)
	}
}

func TestStoreSavepoint(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	base := filepath.Join(t.TempDir(), "savepoints", "nested")
	dir := s.SavepointDir(base, "job/1", 7)
	if want := filepath.Join(base, "savepoint-job%2F1-7"); dir != want {
		t.Errorf("SavepointDir = %s; want %s", dir, want)
	}
	if got, want := s.SavepointDir("", "j", 3), filepath.Join(s.Dir, "_savepoints", "savepoint-j-3"); got != want {
		t.Errorf("SavepointDir with no base = %s; want %s", got, want)
	}
	md := testMetadata("job/1", 7)
	md.Savepoint = true
	if err := s.WriteDir(dir, md); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(dir)
	if err != nil || !reflect.DeepEqual(got, md) {
		t.Fatalf("Load(savepoint) = %+v, %v", got, err)
	}
	// A savepoint is not one of the job's checkpoints.
	if ids, _ := s.List("job/1"); len(ids) != 0 {
		t.Errorf("savepoint listed as checkpoint: %v", ids)
	}
}

func TestJobDirName(t *testing.T) {
	for job, want := range map[string]string{
		"job-12": "job-12", "Job_1.x": "Job_1.x", "a/b": "a%2Fb", "..": "%2E.", ".": "%2E",
		"_x": "%5Fx", "a b%": "a%20b%25", `c:\d`: "c%3A%5Cd", "é": "%C3%A9",
	} {
		if got := JobDirName(job); got != want {
			t.Errorf("JobDirName(%q) = %q; want %q", job, got, want)
		}
	}
	long1, long2 := strings.Repeat("x", 300)+"1", strings.Repeat("x", 300)+"2"
	n1, n2 := JobDirName(long1), JobDirName(long2)
	if len(n1) > 120 || n1 == n2 {
		t.Errorf("long names: %q (%d), %q", n1, len(n1), n2)
	}
	seen := map[string]string{}
	for _, job := range []string{"a/b", "a%2Fb", "a_b", "_ab", "%5Fab", "a.b", ".ab", "ab", "AB", long1, long2} {
		n := JobDirName(job)
		if other, ok := seen[n]; ok {
			t.Errorf("%q and %q both map to %q", job, other, n)
		}
		seen[n] = job
	}
}
