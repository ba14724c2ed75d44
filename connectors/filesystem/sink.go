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
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// writeBufferSize is the buffer in front of each part file.
const writeBufferSize = 256 << 10

// sink is the filesystem sink operator of one subtask. It writes its rows,
// encoded as JSON lines or CSV records, into part files of the directory
// cfg.path, named after the job id and the subtask so that parallel
// subtasks never collide:
//
//	.part-<id>-<subtask>-<n>.<ext>.inprogress          being written, or rolled and waiting for a checkpoint
//	.part-<id>-<subtask>-<n>.<ext>.ckpt-<c>.pending    complete, belongs to checkpoint c, not committed
//	part-<id>-<subtask>-<n>.<ext>                      committed (visible)
//
// Hidden names start with '.', so readers (this connector's source, Flink,
// most tools) skip them. <id> is the job id (or a random id for an ad-hoc
// query) and n counts the subtask's parts; a final name already taken is
// skipped, so a rerun of the same job never overwrites committed files. A
// part is opened by the first row written to it: an empty part produces
// no file. A part rolls (is closed, after a flush and an fsync) when it
// reaches 'sink.rolling-policy.file-size', when a row arrives after it has
// been open 'sink.rolling-policy.rollover-interval', and at each checkpoint.
//
// Without checkpoints (TaskContext.Checkpointing false) a rolled part is
// committed at once (renamed to its final name, directory fsynced), and
// Finish and Close commit the open part: the data is visible once the job
// has finished or stopped, and a rerun after a failure writes it again
// (at-least-once).
//
// With checkpoints the sink is exactly-once, a two-phase commit:
//
//   - Snapshot(c) rolls the open part and renames every rolled part to its
//     pending name for c (directory fsynced), then returns the list of all
//     pending parts not committed yet (of c and of earlier checkpoints that
//     never completed) with the part counter.
//   - NotifyCheckpointComplete(c) renames the pending parts of checkpoints
//     ≤ c to their final names and fsyncs the directory.
//   - Restore(c, snaps) commits the pending parts the snapshots list (a
//     part whose pending file is gone was committed already), then deletes
//     every hidden file left by the subtasks it takes over (in-progress
//     parts and parts pending for checkpoints after c): their rows are
//     replayed. A subtask that starts fresh does the same cleanup before it
//     writes. Cleanup only touches files whose names carry this job's id
//     and a subtask mapped to this one (j mod parallelism = subtask, so
//     also after a rescale), never other jobs' files.
//   - Finish commits nothing (the job's final checkpoint does), and Close
//     leaves what is not committed hidden, for a restore to settle.
//
// Contract: exec.Operator's; the sink accepts +I rows only and releases the
// batches it is given. All methods run on the subtask's goroutine.
type sink struct {
	cfg     *config
	schema  types.Schema
	enc     rowEncoder
	ext     string
	jobID   string
	subtask int

	dir           string
	id            string // sanitised job id used in names
	parallelism   int
	prefix        string // "part-<id>-<subtask>-"
	next          int    // number of the next part
	cur           *partFile
	opened        time.Time // when cur was opened
	now           func() time.Time
	w             *bufio.Writer // reused across parts
	buf           []byte
	closed        bool
	checkpointing bool
	// ready is set once leftovers of earlier attempts are settled (by
	// Restore, or by the first write of a fresh start).
	ready bool
	// rolled are closed, fsynced in-progress parts waiting for the next
	// snapshot (checkpointing only).
	rolled []*partFile
	// pending are the parts made pending by snapshots and not committed
	// yet, by increasing checkpoint id.
	pending []pendingPart
}

// partFile is an in-progress part.
type partFile struct {
	f          *os.File
	tmp, final string // full paths
	size       int64
}

// pendingPart is a part that belongs to checkpoint ckpt.
type pendingPart struct {
	ckpt  int64
	final string // base name in the directory
}

var (
	_ exec.Operator           = (*sink)(nil)
	_ exec.Opener             = (*sink)(nil)
	_ exec.Finisher           = (*sink)(nil)
	_ exec.Closer             = (*sink)(nil)
	_ exec.Snapshotter        = (*sink)(nil)
	_ exec.Restorer           = (*sink)(nil)
	_ exec.CheckpointListener = (*sink)(nil)
)

func newSink(cfg *config, schema types.Schema, jobID string, subtask int) *sink {
	s := &sink{cfg: cfg, schema: schema, jobID: jobID, subtask: subtask, ext: cfg.format, now: time.Now}
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
	s.id = id
	s.subtask = tc.Subtask
	s.parallelism = max(tc.Parallelism, 1)
	s.prefix = partPrefix(id, s.subtask)
	s.checkpointing = tc.Checkpointing
	return nil
}

func partPrefix(id string, subtask int) string { return fmt.Sprintf("part-%s-%d-", id, subtask) }

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
	if err := s.settle(); err != nil {
		return err
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
	if s.cur.size >= s.cfg.rollSize || s.now().Sub(s.opened) >= s.cfg.rollInterval {
		return s.roll()
	}
	return nil
}

// settle cleans up after earlier attempts of this job before a fresh start
// (no Restore) writes anything, when the job takes checkpoints.
func (s *sink) settle() error {
	if s.ready || !s.checkpointing {
		return nil
	}
	if err := s.cleanup(nil); err != nil {
		return err
	}
	s.ready = true
	return nil
}

// openPart creates the next in-progress part file.
func (s *sink) openPart() error {
	for {
		name := fmt.Sprintf("%s%d.%s", s.prefix, s.next, s.ext)
		s.next++
		final := filepath.Join(s.dir, name)
		tmp := filepath.Join(s.dir, inProgressName(name))
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
		s.opened = s.now()
		if s.w == nil {
			s.w = bufio.NewWriterSize(f, writeBufferSize)
		} else {
			s.w.Reset(f)
		}
		return nil
	}
}

func inProgressName(final string) string { return "." + final + ".inprogress" }

func pendingName(final string, ckpt int64) string {
	return fmt.Sprintf(".%s.ckpt-%d.pending", final, ckpt)
}

// closePart flushes, fsyncs and closes the open part, if any, and returns
// it (nil when none was open). The next row opens a new part.
func (s *sink) closePart() (*partFile, error) {
	p := s.cur
	if p == nil {
		return nil, nil
	}
	s.cur = nil
	err := s.w.Flush()
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("filesystem sink '%s': %w", p.tmp, err)
	}
	return p, nil
}

// roll closes the open part. Without checkpoints it commits it at once;
// with checkpoints it waits in s.rolled for the next snapshot.
func (s *sink) roll() error {
	p, err := s.closePart()
	if err != nil || p == nil {
		return err
	}
	if s.checkpointing {
		s.rolled = append(s.rolled, p)
		return nil
	}
	if err := os.Rename(p.tmp, p.final); err != nil {
		return fmt.Errorf("filesystem sink '%s': %w", p.final, err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("filesystem sink '%s': %w", s.dir, err)
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

// Finish implements exec.Finisher: the input has ended. Without
// checkpoints it commits everything written; with checkpoints the job's
// final checkpoint commits it.
func (s *sink) Finish(exec.Collector) error {
	if s.checkpointing {
		return nil
	}
	return s.commitAll()
}

// commitAll commits the open, rolled and pending parts (no checkpoints).
func (s *sink) commitAll() error {
	if err := s.roll(); err != nil {
		return err
	}
	for _, p := range s.rolled {
		if err := os.Rename(p.tmp, p.final); err != nil {
			return fmt.Errorf("filesystem sink '%s': %w", p.final, err)
		}
	}
	s.rolled = nil
	if len(s.pending) > 0 {
		return s.commitPending(s.pending[len(s.pending)-1].ckpt)
	}
	return nil
}

// Close implements exec.Closer and is idempotent. Without checkpoints it
// commits what was written (see the type's comment); with checkpoints it
// closes the open part and leaves every uncommitted part hidden.
func (s *sink) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if !s.checkpointing {
		return s.commitAll()
	}
	p := s.cur
	s.cur = nil
	if p != nil {
		if err := p.f.Close(); err != nil {
			return fmt.Errorf("filesystem sink '%s': %w", p.tmp, err)
		}
	}
	return nil
}
