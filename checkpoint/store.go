package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Snapshot is the opaque state one operator of one subtask put into a
// checkpoint (source positions, sink transactions, ...).
type Snapshot struct {
	Vertex, Subtask, Op int
	Data                []byte
}

// Metadata describes a completed checkpoint or savepoint: what a restore
// needs besides the keyed state in the state store.
type Metadata struct {
	JobID     string
	ID        int64 // >= 1
	Savepoint bool
	Final     bool
	// WriteTs is the state store version the checkpoint's keyed state was
	// written at.
	WriteTs     uint64
	TriggerTime time.Time
	Duration    time.Duration
	Alignment   time.Duration
	StateBytes  int64
	Parallelism map[int]int // vertex → parallelism
	Snapshots   []Snapshot
	Extra       map[string]string
}

// MetadataFile is the name of the metadata file in a checkpoint or
// savepoint directory.
const MetadataFile = "_metadata"

// FormatVersion is the version of the metadata file format this package
// writes; it reads this version and older ones.
const FormatVersion = 1

// File layout (integers big-endian):
//
//	magic "SLCKMETA" (8) | format version uint32 | payload length uint64 |
//	payload (JSON of wireMetadata) | CRC-32C (Castagnoli) uint32 of all
//	preceding bytes
const (
	magic      = "SLCKMETA"
	headerLen  = 8 + 4 + 8
	trailerLen = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// wireMetadata is the JSON payload; its tags are the stable format.
type wireMetadata struct {
	JobID       string            `json:"job_id"`
	ID          int64             `json:"id"`
	Savepoint   bool              `json:"savepoint,omitempty"`
	Final       bool              `json:"final,omitempty"`
	WriteTs     uint64            `json:"write_ts"`
	TriggerTime time.Time         `json:"trigger_time"`
	DurationNs  int64             `json:"duration_ns"`
	AlignmentNs int64             `json:"alignment_ns"`
	StateBytes  int64             `json:"state_bytes"`
	Parallelism map[int]int       `json:"parallelism,omitempty"`
	Snapshots   []wireSnapshot    `json:"snapshots,omitempty"`
	Extra       map[string]string `json:"extra,omitempty"`
}

type wireSnapshot struct {
	Vertex  int    `json:"vertex"`
	Subtask int    `json:"subtask"`
	Op      int    `json:"op"`
	Data    []byte `json:"data,omitempty"`
}

// Encode returns the metadata file contents for md.
func (md *Metadata) Encode() ([]byte, error) {
	w := wireMetadata{JobID: md.JobID, ID: md.ID, Savepoint: md.Savepoint, Final: md.Final,
		WriteTs: md.WriteTs, TriggerTime: md.TriggerTime, DurationNs: int64(md.Duration),
		AlignmentNs: int64(md.Alignment), StateBytes: md.StateBytes, Parallelism: md.Parallelism,
		Extra: md.Extra}
	for _, s := range md.Snapshots {
		w.Snapshots = append(w.Snapshots, wireSnapshot(s))
	}
	payload, err := json.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: encode metadata of checkpoint %d: %w", md.ID, err)
	}
	buf := make([]byte, headerLen, headerLen+len(payload)+trailerLen)
	copy(buf, magic)
	binary.BigEndian.PutUint32(buf[8:], FormatVersion)
	binary.BigEndian.PutUint64(buf[12:], uint64(len(payload)))
	buf = append(buf, payload...)
	return binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli)), nil
}

// DecodeMetadata parses a metadata file. Every error wraps ErrCorrupt.
func DecodeMetadata(b []byte) (*Metadata, error) {
	if len(b) < headerLen+trailerLen {
		return nil, fmt.Errorf("%w: truncated: %d bytes, less than the %d of header and checksum", ErrCorrupt, len(b), headerLen+trailerLen)
	}
	if string(b[:8]) != magic {
		return nil, fmt.Errorf("%w: not a Sluice checkpoint metadata file (bad magic %q)", ErrCorrupt, b[:8])
	}
	n := binary.BigEndian.Uint64(b[12:])
	if have := uint64(len(b) - headerLen - trailerLen); n != have {
		return nil, fmt.Errorf("%w: truncated or extended: header says %d payload bytes, file holds %d", ErrCorrupt, n, have)
	}
	body := b[:len(b)-trailerLen]
	stored, computed := binary.BigEndian.Uint32(b[len(body):]), crc32.Checksum(body, castagnoli)
	if stored != computed {
		return nil, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, stored, computed)
	}
	if v := binary.BigEndian.Uint32(b[8:]); v == 0 || v > FormatVersion {
		return nil, fmt.Errorf("%w: format version %d not supported (this build reads 1 to %d)", ErrCorrupt, v, FormatVersion)
	}
	var w wireMetadata
	dec := json.NewDecoder(bytes.NewReader(body[headerLen:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrCorrupt, err)
	}
	if w.ID < 1 {
		return nil, fmt.Errorf("%w: checkpoint id %d", ErrCorrupt, w.ID)
	}
	md := &Metadata{JobID: w.JobID, ID: w.ID, Savepoint: w.Savepoint, Final: w.Final,
		WriteTs: w.WriteTs, TriggerTime: w.TriggerTime, Duration: time.Duration(w.DurationNs),
		Alignment: time.Duration(w.AlignmentNs), StateBytes: w.StateBytes, Parallelism: w.Parallelism,
		Extra: w.Extra}
	for _, s := range w.Snapshots {
		md.Snapshots = append(md.Snapshots, Snapshot(s))
	}
	return md, nil
}

// Store keeps checkpoint metadata under a root directory
// (state.checkpoints.dir):
//
//	<Dir>/<job>/chk-<id>/_metadata
//
// where <job> is the job id made safe for file names (see JobDirName).
// Savepoints go to directories of the caller's choosing (SavepointDir,
// WriteDir). The methods of a Store may be called concurrently, but not for
// the same job.
type Store struct {
	Dir string
}

// JobDirName returns the directory name of a job id: letters, digits, '-',
// '_' and '.' are kept (except a leading '_' or '.'), every other byte is
// written %XX; a name longer than 120 bytes is cut and suffixed with "~"
// and a hash of the id. Distinct ids get distinct names.
func JobDirName(job string) string {
	var b strings.Builder
	for i := 0; i < len(job); i++ {
		c := job[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' ||
			(c == '_' || c == '.') && i > 0
		if ok {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	name := b.String()
	if len(name) > 120 {
		sum := sha256.Sum256([]byte(job))
		name = name[:100] + "~" + hex.EncodeToString(sum[:8])
	}
	return name
}

// JobDir returns <Dir>/<JobDirName(job)>.
func (s *Store) JobDir(job string) string { return filepath.Join(s.Dir, JobDirName(job)) }

// CheckpointDir returns the directory of checkpoint id of job.
func (s *Store) CheckpointDir(job string, id int64) string {
	return filepath.Join(s.JobDir(job), "chk-"+strconv.FormatInt(id, 10))
}

// SavepointDir returns <base>/savepoint-<job>-<id>, the directory a
// savepoint of job is written to; base "" means <Dir>/_savepoints (which
// no job directory can be confused with).
func (s *Store) SavepointDir(base, job string, id int64) string {
	if base == "" {
		base = filepath.Join(s.Dir, "_savepoints")
	}
	return filepath.Join(base, fmt.Sprintf("savepoint-%s-%d", JobDirName(job), id))
}

// Write stores md as checkpoint md.ID of job md.JobID (see WriteDir).
func (s *Store) Write(md *Metadata) error {
	if md.JobID == "" {
		return fmt.Errorf("checkpoint: write checkpoint %d: empty job id", md.ID)
	}
	return s.WriteDir(s.CheckpointDir(md.JobID, md.ID), md)
}

// WriteDir writes md to <dir>/_metadata atomically and durably: the
// directories are created (and their parents synced), the file is written
// to a temporary name, synced, renamed over _metadata, and dir is synced.
// When WriteDir returns nil the metadata survives a crash; when it fails,
// dir holds the previous _metadata if there was one.
func (s *Store) WriteDir(dir string, md *Metadata) error {
	if md.ID < 1 {
		return fmt.Errorf("checkpoint: write %s: invalid checkpoint id %d", dir, md.ID)
	}
	b, err := md.Encode()
	if err != nil {
		return err
	}
	if err := mkdirAllSynced(dir); err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".metadata-*.tmp")
	if err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", dir, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, MetadataFile))
	}
	if err != nil {
		_ = os.Remove(tmp.Name()) // best effort; the error below is the one that matters
		return fmt.Errorf("checkpoint: write %s: %w", filepath.Join(dir, MetadataFile), err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", dir, err)
	}
	return nil
}

// Load reads the metadata of a checkpoint or savepoint from path, a chk-N
// or savepoint directory or its _metadata file
// (execution.state-recovery.path). A damaged file gives an error wrapping
// ErrCorrupt; a missing one an error wrapping fs.ErrNotExist.
func (s *Store) Load(path string) (*Metadata, error) {
	file := path
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		file = filepath.Join(path, MetadataFile)
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("checkpoint: load %s: no %s file, not a completed checkpoint or savepoint: %w", path, MetadataFile, err)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: load %s: %w", path, err)
	}
	md, err := DecodeMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: load %s: %w", file, err)
	}
	return md, nil
}

// List returns the ids of job's checkpoint directories (complete or not),
// ascending; none when the job has no directory.
func (s *Store) List(job string) ([]int64, error) {
	entries, err := os.ReadDir(s.JobDir(job))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list checkpoints of job %q: %w", job, err)
	}
	var ids []int64
	for _, e := range entries {
		num, ok := strings.CutPrefix(e.Name(), "chk-")
		if !ok || !e.IsDir() {
			continue
		}
		if id, err := strconv.ParseInt(num, 10, 64); err == nil && id > 0 && strconv.FormatInt(id, 10) == num {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// loadChecked loads checkpoint id of job and checks that it is the one its
// directory name says.
func (s *Store) loadChecked(job string, id int64) (*Metadata, error) {
	dir := s.CheckpointDir(job, id)
	md, err := s.Load(dir)
	if err != nil {
		return nil, err
	}
	if md.ID != id || md.JobID != job {
		return nil, fmt.Errorf("checkpoint: load %s: %w: holds checkpoint %d of job %q", dir, ErrCorrupt, md.ID, md.JobID)
	}
	return md, nil
}

// Latest returns the newest checkpoint of job whose metadata is intact,
// with an error for each newer checkpoint directory it skipped (damaged or
// incomplete), newest first. It returns nil, nil, nil when job has no
// checkpoint directory, and nil, skipped, nil when none is intact. The
// last error is for failures to list the job's directory.
func (s *Store) Latest(job string) (*Metadata, []error, error) {
	ids, err := s.List(job)
	if err != nil {
		return nil, nil, err
	}
	var skipped []error
	for i := len(ids) - 1; i >= 0; i-- {
		md, err := s.loadChecked(job, ids[i])
		if err == nil {
			return md, skipped, nil
		}
		skipped = append(skipped, err)
	}
	return nil, skipped, nil
}

// Retain keeps the newest n intact checkpoints of job (n < 1 means 1) and
// deletes every checkpoint directory older than the oldest of them, and
// damaged ones between them. Damaged or incomplete directories newer than
// the newest intact checkpoint are left alone (one may be being written),
// so the newest intact checkpoint is never deleted.
func (s *Store) Retain(job string, n int) error {
	n = max(n, 1)
	ids, err := s.List(job)
	if err != nil {
		return err
	}
	kept := 0
	var errs []error
	for i := len(ids) - 1; i >= 0; i-- {
		if kept < n {
			if _, err := s.loadChecked(job, ids[i]); err == nil {
				kept++
				continue
			}
			if kept == 0 {
				continue
			}
		}
		if err := os.RemoveAll(s.CheckpointDir(job, ids[i])); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: delete checkpoint %d of job %q: %w", ids[i], job, err))
		}
	}
	return errors.Join(errs...)
}

// DeleteJob deletes every checkpoint of job; a job without checkpoints is
// not an error.
func (s *Store) DeleteJob(job string) error {
	if err := os.RemoveAll(s.JobDir(job)); err != nil {
		return fmt.Errorf("checkpoint: delete checkpoints of job %q: %w", job, err)
	}
	return nil
}

// mkdirAllSynced creates dir and its missing parents, syncing the parent of
// every directory it creates so that the new entries survive a crash.
func mkdirAllSynced(dir string) error {
	dir = filepath.Clean(dir)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSynced(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
