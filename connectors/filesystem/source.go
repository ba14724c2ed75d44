package filesystem

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// ParseError is a record the source could not decode, in fail mode. Its
// message names the file and line: "filesystem source 'dir/a.json' line 17:
// invalid JSON: ...".
type ParseError struct {
	File string
	Line int64
	// Format is "JSON" or "CSV".
	Format string
	Err    error
}

func (e *ParseError) Error() string {
	var fe *fieldError
	if errors.As(e.Err, &fe) {
		return fmt.Sprintf("filesystem source '%s' line %d: invalid %s record: %v", e.File, e.Line, e.Format, e.Err)
	}
	return fmt.Sprintf("filesystem source '%s' line %d: invalid %s: %v", e.File, e.Line, e.Format, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Position is where a source subtask continues reading: the next record
// starts at byte Offset (line Line+1) of file File, one of the subtask's
// files; the files before it are done. File == "" means that all are done.
type Position struct {
	File   string
	Offset int64
	Line   int64
}

// readBufferSize is the read buffer of each open file.
const readBufferSize = 256 << 10

// Source reads the files of one subtask: with p subtasks, subtask s reads
// files s, s+p, s+2p, ... of the sorted list, one after the other, each
// from start to end. It is bounded.
//
// Contract: as exec.Source. Position and SeekTo are called from the
// subtask's goroutine (SeekTo before the first Next).
type Source struct {
	cfg *config
	all []string // every file of the table, sorted
	// work lists this subtask's files, each with where reading starts in
	// it (offset 0 unless the source was restored).
	work []Position
	dec  recordDecoder
	ctx  context.Context

	fileIdx int // index in work of the open (or next) file
	f       *os.File
	r       *bufio.Reader
	offset  int64 // of the next record in the open file
	line    int64 // lines consumed in the open file
	seek    *Position
	rec     []byte // record assembled from several reads
	skipped int64
}

var _ exec.Source = (*Source)(nil)

// Open implements exec.Source.
func (s *Source) Open(tc *exec.TaskContext) error {
	p := max(tc.Parallelism, 1)
	if tc.Ctx != nil {
		s.ctx = tc.Ctx
	}
	s.work = s.work[:0]
	for i := tc.Subtask; i < len(s.all); i += p {
		s.work = append(s.work, Position{File: s.all[i]})
	}
	if s.seek != nil {
		s.fileIdx = len(s.work)
		for i, w := range s.work {
			if w.File == s.seek.File {
				s.fileIdx = i
				s.offset, s.line = s.seek.Offset, s.seek.Line
			}
		}
	}
	return nil
}

// Next implements exec.Source: it fills b with up to types.DefaultBatchSize
// records, crossing file boundaries, and reports the end after the last
// record of the last file.
func (s *Source) Next(b *types.Batch) (bool, error) {
	if err := s.ctx.Err(); err != nil {
		return false, err
	}
	for b.Len() < types.DefaultBatchSize {
		if s.f == nil {
			if s.fileIdx >= len(s.work) {
				return true, nil
			}
			if err := s.openFile(); err != nil {
				return false, err
			}
		}
		rec, line, err := s.readRecord()
		if err == io.EOF {
			s.closeFile()
			s.startFile(s.fileIdx + 1)
			continue
		}
		if err != nil {
			return false, fmt.Errorf("filesystem source '%s': %w", s.work[s.fileIdx].File, err)
		}
		if err := decode(s.dec, rec, b); err != nil {
			if s.cfg.ignoreErrors() {
				s.skipped++
				continue
			}
			return false, &ParseError{File: s.work[s.fileIdx].File, Line: line, Format: s.formatName(), Err: err}
		}
	}
	return false, nil
}

// startFile makes work[i] the next file to read, from its start position.
func (s *Source) startFile(i int) {
	s.fileIdx = i
	s.offset, s.line = 0, 0
	if i < len(s.work) {
		s.offset, s.line = s.work[i].Offset, s.work[i].Line
	}
}

func (s *Source) formatName() string {
	if s.cfg.format == formatCSV {
		return "CSV"
	}
	return "JSON"
}

func (s *Source) openFile() error {
	name := s.work[s.fileIdx].File
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("filesystem source: %w", err)
	}
	if s.offset > 0 {
		if _, err := f.Seek(s.offset, io.SeekStart); err != nil {
			f.Close()
			return fmt.Errorf("filesystem source '%s': %w", name, err)
		}
	}
	s.f = f
	if s.r == nil {
		s.r = bufio.NewReaderSize(f, readBufferSize)
	} else {
		s.r.Reset(f)
	}
	return nil
}

func (s *Source) closeFile() {
	if s.f != nil {
		s.f.Close() // read-only: nothing to lose
		s.f = nil
	}
}

// readRecord returns the next non-empty record of the open file without
// its line break, and the line it starts on. The slice is valid until the
// next call. CSV records continue over line breaks inside quotes (kept as
// they are, "\r\n" or "\n").
func (s *Source) readRecord() ([]byte, int64, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			return nil, 0, err
		}
		start := s.line
		if s.cfg.format == formatCSV && s.cfg.csv.quote != 0 && oddQuotes(line, s.cfg.csv.quote) {
			// A quoted field spans lines: gather them into s.rec.
			s.rec = append(s.rec[:0], line...)
			for open := true; open; {
				more, err := s.readLine()
				if err == io.EOF {
					break // the decoder reports the unterminated field
				}
				if err != nil {
					return nil, 0, err
				}
				s.rec = append(s.rec, '\n')
				s.rec = append(s.rec, more...)
				open = !oddQuotes(more, s.cfg.csv.quote)
			}
			line = s.rec
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if s.cfg.format == formatCSV && s.cfg.csv.allowComments && line[0] == '#' {
			continue
		}
		return line, start, nil
	}
}

// readLine returns the next physical line without its "\n", advancing
// offset and line. A last line without a line break counts.
func (s *Source) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = s.r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil && (err != io.EOF || len(line) == 0) {
		return nil, err
	}
	s.offset += int64(len(line))
	s.line++
	return bytes.TrimSuffix(line, []byte{'\n'}), nil
}

func oddQuotes(b []byte, q byte) bool { return bytes.Count(b, []byte{q})%2 == 1 }

// Close implements exec.Source; it is idempotent.
func (s *Source) Close() error {
	s.closeFile()
	return nil
}

// Skipped returns how many malformed records the source skipped
// ('<format>.ignore-parse-errors' = 'true').
func (s *Source) Skipped() int64 { return s.skipped }

// Position returns where the subtask continues reading.
func (s *Source) Position() Position {
	if s.fileIdx >= len(s.work) {
		return Position{}
	}
	return Position{File: s.work[s.fileIdx].File, Offset: s.offset, Line: s.line}
}

// SeekTo makes the subtask continue at p, a position this subtask returned
// before (same files and parallelism); call it before Open. A file not in
// the subtask's list means that all its files are done.
func (s *Source) SeekTo(p Position) { s.seek = &p }
