package state

import (
	"bufio"
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mapped file pages.
//
// Badger maps its SSTables and value-log files into memory and writes new
// tables through those maps, so every page of every table the store has
// written or read stays in the process's resident set (as file pages)
// until the file is deleted, though the kernel could drop it at any time:
// on a long job the resident set grows with the size of the state on disk
// rather than with what is in use. The store therefore checks the
// process's resident file pages (RssFile) once a second and, when they
// exceed fileRSSBudget, tells the kernel to reclaim the pages of its
// files (madvise MADV_PAGEOUT, Linux 5.4 and later; a no-op elsewhere) in
// the order of trimOrder, until they are back under three quarters of the
// budget. The data stays on disk; a later read of a dropped page faults it
// back in from there. The memtables' write-ahead files are included: the
// store's three 32 MB memtables alone would otherwise keep about 100 MB of
// written pages resident, most of the budget, so that every check trimmed
// the tables' pages and reads faulted them back in.
//
// Reclaiming every mapped page every second, whatever the total, made
// reads of state beyond the operators' caches fault most pages back in
// from disk: Nexmark q7 (a join reading cold keys' entries) took 40 CPU
// s for 2 M events instead of 29, with 19 700 major page faults instead
// of 73. Under the budget the pages Badger reads repeatedly (table
// indexes, bloom filters, hot blocks) stay mapped.

// trimInterval is how often the store checks its mapped file pages.
const trimInterval = time.Second

// fileRSSBudget is the resident file pages (RssFile: the store's mapped
// tables and value logs, its write-ahead files, the binary) above which
// the store reclaims mapped pages of its tables and value logs. With the
// 768 MiB Go memory limit of sluice bench it keeps a process within
// about 1 GiB.
const fileRSSBudget = 192 << 20

// fileMapping is one mapping of /proc/self/maps.
type fileMapping struct {
	start, end uintptr
	path       string
}

// trimmable returns the shared file mappings of the store's Badger files
// under the directories dirs (tables .sst, value logs .vlog, memtable
// write-ahead files .mem), read from maps (the format of /proc/self/maps),
// in the order to reclaim them (trimOrder).
func trimmable(maps io.Reader, dirs []string) []fileMapping {
	var found []fileMapping
	sc := bufio.NewScanner(maps)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		m, ok := parseMapping(sc.Bytes())
		if !ok {
			continue
		}
		dir, base := filepath.Split(m.path)
		if !slices.Contains(dirs, filepath.Clean(dir)) {
			continue
		}
		switch filepath.Ext(base) {
		case ".sst", ".vlog", ".mem":
			found = append(found, m)
		}
	}
	trimOrder(found)
	return found
}

// trimOrder orders mappings for reclaiming: first the memtables'
// write-ahead files (written once and read only when recovering), then
// tables and value logs by the number in their file name, oldest first
// (Badger numbers them in the order it creates them), so that the pages
// of long-lived files (the lower levels, the bulk of the data) go before
// those of files just written.
func trimOrder(ms []fileMapping) {
	key := func(m fileMapping) (int, int) {
		base := filepath.Base(m.path)
		ext := filepath.Ext(base)
		n, err := strconv.Atoi(strings.TrimSuffix(base, ext))
		if err != nil {
			n = -1
		}
		if ext == ".mem" {
			return 0, n
		}
		return 1, n
	}
	slices.SortStableFunc(ms, func(a, b fileMapping) int {
		ca, na := key(a)
		cb, nb := key(b)
		if ca != cb {
			return ca - cb
		}
		return na - nb
	})
}

// fileRSS returns the RssFile figure (bytes) of a /proc/PID/status file.
func fileRSS(status io.Reader) (int64, bool) {
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("RssFile:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

// parseMapping parses one line of /proc/self/maps, accepting only shared
// mappings of a named file ("start-end perms offset dev inode path").
func parseMapping(line []byte) (fileMapping, bool) {
	fields := bytes.Fields(line)
	if len(fields) < 6 || len(fields[1]) != 4 || fields[1][3] != 's' {
		return fileMapping{}, false
	}
	addr := string(fields[0])
	dash := strings.IndexByte(addr, '-')
	if dash < 0 {
		return fileMapping{}, false
	}
	start, err1 := strconv.ParseUint(addr[:dash], 16, 64)
	end, err2 := strconv.ParseUint(addr[dash+1:], 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return fileMapping{}, false
	}
	// The path is the rest of the line after the inode (it may hold spaces).
	path := string(bytes.Join(fields[5:], []byte(" ")))
	if !strings.HasPrefix(path, "/") {
		return fileMapping{}, false
	}
	return fileMapping{start: uintptr(start), end: uintptr(end), path: path}, true
}

// trimLoop checks the store's mapped file pages every trimInterval, and
// reclaims them when over fileRSSBudget, until stop is closed; it closes
// done when it returns.
func trimLoop(dirs []string, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if !pageoutSupported() {
		return
	}
	t := time.NewTicker(trimInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if !trimFilePages(dirs, fileRSSBudget) {
				return
			}
		}
	}
}

// mappedDirs returns dirs as /proc/self/maps names them: absolute, with
// symbolic links resolved.
func mappedDirs(dirs ...string) []string {
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if a, err := filepath.Abs(d); err == nil {
			d = a
		}
		if r, err := filepath.EvalSymlinks(d); err == nil {
			d = r
		}
		out = append(out, filepath.Clean(d))
	}
	return out
}
