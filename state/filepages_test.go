package state

import (
	"strings"
	"testing"
)

func TestTrimmableMappings(t *testing.T) {
	maps := strings.Join([]string{
		"7f0000000000-7f0000100000 r--s 00000000 08:01 11 /data/st/badger-state/000001.sst",
		"7f0000100000-7f0000200000 rw-s 00000000 08:01 12 /data/st/badger-state/000001.vlog",
		"7f0000200000-7f0000300000 rw-s 00000000 08:01 13 /data/st/badger-state/000002.vlog",
		"7f0000300000-7f0000400000 rw-s 00000000 08:01 14 /data/st/badger-state/00005.mem",
		"7f0000400000-7f0000500000 r--p 00000000 08:01 15 /data/st/badger-state/000003.sst",
		"7f0000500000-7f0000600000 r--s 00000000 08:01 16 /data/other/000004.sst",
		"7f0000600000-7f0000700000 rw-p 00000000 00:00 0 ",
		"7f0000700000-7f0000800000 r--s 00000000 08:01 17 /data/st/badger/000009.sst",
		"7f0000800000-7f0000900000 rw-s 00000000 08:01 18 /data/st/badger/000007.vlog",
		"garbage line",
	}, "\n")
	got := trimmable(strings.NewReader(maps), []string{"/data/st/badger-state", "/data/st/badger"})
	var paths []string
	for _, m := range got {
		paths = append(paths, m.path)
		if m.end <= m.start {
			t.Errorf("%s: bad range %x-%x", m.path, m.start, m.end)
		}
	}
	want := []string{
		"/data/st/badger-state/00005.mem",   // write-ahead files first
		"/data/st/badger-state/000001.sst",  // then by number
		"/data/st/badger-state/000001.vlog", // (value logs and tables)
		"/data/st/badger-state/000002.vlog",
		"/data/st/badger/000007.vlog",
		"/data/st/badger/000009.sst",
	}
	// Not: a private mapping, another directory, anonymous memory.
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Fatalf("trimmable = %v, want %v", paths, want)
	}
	if got[1].start != 0x7f0000000000 || got[1].end != 0x7f0000100000 {
		t.Fatalf("range = %x-%x", got[1].start, got[1].end)
	}
}

func TestTrimFilePagesKeepsData(t *testing.T) {
	// A store whose files were trimmed reads back what it wrote.
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ks := NewKeyedState[[]byte](st, OperatorNamespace("job", 1, 1), bytesCodec{}, 16)
	val := strings.Repeat("v", 3000) // beyond the value threshold: value log
	for i := 0; i < 2000; i++ {
		if err := ks.Put(i%MaxKeyGroups, []byte{byte(i >> 8), byte(i)}, []byte(val)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ks.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := st.sdb.Flatten(1); err != nil {
		t.Fatal(err)
	}
	dirs := mappedDirs(dir+"/badger", dir+"/badger-state")
	if pageoutSupported() && !trimFilePages(dirs, 0) { // budget 0: trim all
		t.Fatal("trimFilePages failed")
	}
	ks2 := NewKeyedState[[]byte](st, OperatorNamespace("job", 1, 1), bytesCodec{}, 16)
	for i := 0; i < 2000; i++ {
		v, ok, err := ks2.Get(i%MaxKeyGroups, []byte{byte(i >> 8), byte(i)})
		if err != nil || !ok || string(v) != val {
			t.Fatalf("key %d: ok=%v err=%v len=%d", i, ok, err, len(v))
		}
	}
}

// bytesCodec stores byte slices as they are.
type bytesCodec struct{}

func (bytesCodec) Encode(dst []byte, v []byte) []byte { return append(dst, v...) }
func (bytesCodec) Decode(b []byte) ([]byte, error)    { return append([]byte(nil), b...), nil }

func TestFileRSS(t *testing.T) {
	status := "Name:\tsluice\nVmRSS:\t  900000 kB\nRssAnon:\t  700000 kB\nRssFile:\t  123456 kB\nRssShmem:\t 0 kB\n"
	got, ok := fileRSS(strings.NewReader(status))
	if !ok || got != 123456<<10 {
		t.Fatalf("fileRSS = %d, %v; want %d", got, ok, 123456<<10)
	}
	if _, ok := fileRSS(strings.NewReader("Name:\tx\nRssFile:\t12 MB\n")); ok {
		t.Fatal("fileRSS accepted a unit other than kB")
	}
	if _, ok := fileRSS(strings.NewReader("Name:\tx\n")); ok {
		t.Fatal("fileRSS without an RssFile line")
	}
}

func TestTrimOldestFirst(t *testing.T) {
	ms := []fileMapping{
		{path: "/d/badger-state/000012.sst"},
		{path: "/d/badger/000003.vlog"},
		{path: "/d/badger-state/000002.sst"},
		{path: "/d/badger-state/000007.vlog"},
		{path: "/d/badger-state/000009.mem"},
	}
	trimOrder(ms)
	var got []string
	for _, m := range ms {
		got = append(got, m.path)
	}
	want := "/d/badger-state/000009.mem,/d/badger-state/000002.sst,/d/badger/000003.vlog,/d/badger-state/000007.vlog,/d/badger-state/000012.sst"
	if strings.Join(got, ",") != want {
		t.Fatalf("order = %v, want %s", got, want)
	}
}
