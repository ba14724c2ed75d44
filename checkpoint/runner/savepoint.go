package runner

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluicesql/sluice/checkpoint"
	"github.com/sluicesql/sluice/state"
)

// A savepoint directory is self-contained: _metadata (checkpoint.Store's
// format: source positions, parallelism, the old job id) and state.bin
// (state.Store.ExportNamespace of the job's keyed state as of the
// savepoint). It does not depend on the state dir it was taken from.
const savepointStateFile = "state.bin"

// writeSavepoint exports md's state and metadata into dir.
func writeSavepoint(st *state.Store, dir string, md *checkpoint.Metadata) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	tmp := filepath.Join(dir, "."+savepointStateFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = st.ExportNamespace(state.JobNamespace(md.JobID), md.WriteTs, w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, savepointStateFile))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("savepoint: write state: %w", err)
	}
	cp := *md
	cp.Savepoint = true
	if err := (&checkpoint.Store{}).WriteDir(dir, &cp); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	return nil
}

// loadSavepoint reads the savepoint in dir and imports its state as the
// state of job newJob. It returns the savepoint's metadata.
func loadSavepoint(st *state.Store, dir, newJob string) (*checkpoint.Metadata, error) {
	md, err := (&checkpoint.Store{}).Load(dir)
	if err != nil {
		return nil, fmt.Errorf("execution.state-recovery.path '%s': %w", dir, err)
	}
	f, err := os.Open(filepath.Join(dir, savepointStateFile))
	if err != nil {
		return nil, fmt.Errorf("execution.state-recovery.path '%s' is not a savepoint directory: %w", dir, err)
	}
	defer f.Close()
	if _, err := st.DeletePrefix(state.JobNamespace(newJob)); err != nil {
		return nil, err
	}
	if _, _, err := st.ImportNamespace(bufio.NewReaderSize(f, 1<<20), state.JobNamespace(md.JobID), state.JobNamespace(newJob)); err != nil {
		return nil, fmt.Errorf("execution.state-recovery.path '%s': %w", dir, err)
	}
	return md, nil
}
