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
// rather than with what is in use. The store therefore tells the kernel,
// once a second, to reclaim the pages of its tables and of all but the
// newest value-log file (madvise MADV_PAGEOUT, Linux 5.4 and later; a
// no-op elsewhere). The data stays on disk and in the page cache as the
// kernel sees fit; a later read of a dropped page faults it back in. The
// memtables' write-ahead files, written all the time, are left alone.

// trimInterval is how often the store drops its mapped file pages.
const trimInterval = time.Second

// fileMapping is one mapping of /proc/self/maps.
type fileMapping struct {
	start, end uintptr
	path       string
}

// trimmable returns the shared file mappings of .sst and .vlog files under
// the directories dirs, except each directory's newest value-log file
// (being appended to), read from maps (the format of /proc/self/maps).
func trimmable(maps io.Reader, dirs []string) []fileMapping {
	var found []fileMapping
	newest := map[string]int{} // dir → highest value-log file number
	sc := bufio.NewScanner(maps)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		m, ok := parseMapping(sc.Bytes())
		if !ok {
			continue
		}
		dir, base := filepath.Split(m.path)
		dir = filepath.Clean(dir)
		if !slices.Contains(dirs, dir) {
			continue
		}
		switch filepath.Ext(base) {
		case ".sst":
		case ".vlog":
			if n, err := strconv.Atoi(strings.TrimSuffix(base, ".vlog")); err == nil {
				if cur, ok := newest[dir]; !ok || n > cur {
					newest[dir] = n
				}
			}
		default:
			continue
		}
		found = append(found, m)
	}
	kept := found[:0]
	for _, m := range found {
		dir, base := filepath.Split(m.path)
		if filepath.Ext(base) == ".vlog" {
			n, err := strconv.Atoi(strings.TrimSuffix(base, ".vlog"))
			if err != nil || n == newest[filepath.Clean(dir)] {
				continue
			}
		}
		kept = append(kept, m)
	}
	return kept
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

// trimLoop drops the store's mapped file pages every trimInterval until
// stop is closed; it closes done when it returns.
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
			if !trimFilePages(dirs) {
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
