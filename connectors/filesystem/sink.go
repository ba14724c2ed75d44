package filesystem

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// writeBufferSize is the buffer in front of each part file.
const writeBufferSize = 256 << 10

// sink is the filesystem sink operator of one subtask. It writes its rows,
// encoded as JSON lines or CSV records, into part files of the directory
// cfg.path:
//
//	.part-<id>-<subtask>-<n>.<ext>.inprogress   being written (hidden: readers skip it)
//	part-<id>-<subtask>-<n>.<ext>               committed by roll()
//
// <id> is the job id (or a random id for an ad-hoc query) and n counts the
// subtask's parts; names already taken are skipped, so a rerun of the same
// job never overwrites committed files. roll() flushes, fsyncs and closes
// the in-progress file and renames it; it runs when a part reaches
// 'sink.rolling-policy.file-size', at Finish and at Close. So the data is
// visible once the job has finished or stopped.
//
// Exactly-once (design §5) comes with checkpoints: at barrier n the sink
// will roll the part into a pending state (flushed and fsynced, not yet
// renamed) and record it in checkpoint n; NotifyCheckpointComplete(n) will
// rename the pending parts of n, and recovery will commit the pending parts
// of the last completed checkpoint and delete in-progress leftovers. Until
// then Close commits what was written, also when the job failed.
//
// Contract: exec.Operator's; the sink accepts +I rows only and releases the
// batches it is given.
type sink struct {
	cfg     *config
	schema  types.Schema
	enc     rowEncoder
	ext     string
	jobID   string
	subtask int

	dir    string
	prefix string // "part-<id>-<subtask>-"
	next   int    // number of the next part
	cur    *partFile
	w      *bufio.Writer // reused across parts
	buf    []byte
	closed bool
}

// partFile is the open in-progress part.
type partFile struct {
	f          *os.File
	tmp, final string
	size       int64
}

var (
	_ exec.Operator = (*sink)(nil)
	_ exec.Opener   = (*sink)(nil)
	_ exec.Finisher = (*sink)(nil)
	_ exec.Closer   = (*sink)(nil)
)

func newSink(cfg *config, schema types.Schema, jobID string, subtask int) *sink {
	s := &sink{cfg: cfg, schema: schema, jobID: jobID, subtask: subtask, ext: cfg.format}
	if cfg.format == formatCSV {
		s.enc = newCSVEncoder(cfg.csv)
	} else {
		s.enc = newJSONEncoder(schema, cfg.json.isoTimestamps)
	}
	return s
}

// Open implements exec.Opener: it creates the directory.
func (s *sink) Open(tc *exec.TaskContext) error {
	s.dir = s.cfg.path
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("filesystem sink of table %s: %w", s.cfg.table, err)
	}
	id := s.jobID // from the SinkRequest; the task's when unset
	if id == "" {
		id = tc.JobID
	}
	id = sanitize(id)
	if id == "" {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return fmt.Errorf("filesystem sink of table %s: %w", s.cfg.table, err)
		}
		id = hex.EncodeToString(r[:])
	}
	s.subtask = tc.Subtask
	s.prefix = fmt.Sprintf("part-%s-%d-", id, s.subtask)
	return nil
}

// sanitize keeps a job id usable in a file name.
func sanitize(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, id)
}

// Process implements exec.Operator.
func (s *sink) Process(b *types.Batch, _ exec.Collector) error {
	defer b.Release()
	if s.closed {
		return fmt.Errorf("filesystem sink of table %s: write after close", s.cfg.table)
	}
	if len(b.Cols) != len(s.schema) {
		return fmt.Errorf("filesystem sink of table %s: batch has %d columns, table has %d", s.cfg.table, len(b.Cols), len(s.schema))
	}
	s.buf = s.buf[:0]
	for i, op := range b.Ops {
		if op != types.Insert {
			return fmt.Errorf("filesystem sink of table %s accepts only inserts (+I), got %s", s.cfg.table, op)
		}
		s.buf = s.enc.appendRow(s.buf, b, i)
	}
	if len(s.buf) == 0 {
		return nil
	}
	if s.cur == nil {
		if err := s.openPart(); err != nil {
			return err
		}
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return fmt.Errorf("filesystem sink '%s': %w", s.cur.tmp, err)
	}
	s.cur.size += int64(len(s.buf))
	if s.cur.size >= s.cfg.rollSize {
		return s.roll()
	}
	return nil
}

// openPart creates the next in-progress part file.
func (s *sink) openPart() error {
	for {
		name := fmt.Sprintf("%s%d.%s", s.prefix, s.next, s.ext)
		s.next++
		final := filepath.Join(s.dir, name)
		tmp := filepath.Join(s.dir, "."+name+".inprogress")
		if _, err := os.Lstat(final); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("filesystem sink '%s': %w", final, err)
		}
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("filesystem sink: %w", err)
		}
		s.cur = &partFile{f: f, tmp: tmp, final: final}
		if s.w == nil {
			s.w = bufio.NewWriterSize(f, writeBufferSize)
		} else {
			s.w.Reset(f)
		}
		return nil
	}
}

// roll commits the current part, if any: flush, fsync, close, rename to
// its final name, fsync the directory. The next row opens a new part.
// Checkpoints will split it into "make pending" (at the barrier) and
// "commit" (when the checkpoint completes).
func (s *sink) roll() error {
	p := s.cur
	if p == nil {
		return nil
	}
	s.cur = nil
	err := s.w.Flush()
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.tmp, p.final)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("filesystem sink '%s': %w", p.final, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Finish implements exec.Finisher: the input has ended, commit the part.
func (s *sink) Finish(exec.Collector) error { return s.roll() }

// Close implements exec.Closer. It commits the open part (see the type's
// comment) and is idempotent.
func (s *sink) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.roll()
}
