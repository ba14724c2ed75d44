package filesystem

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// hidden reports whether a file or directory name is skipped when reading a
// directory: names starting with '.' or '_', as in Flink (in-progress part
// files are hidden this way).
func hidden(name string) bool { return name != "" && (name[0] == '.' || name[0] == '_') }

// listFiles returns the files a source reads: path itself when it is a
// file, otherwise every regular, non-hidden file below the directory path
// (recursively, skipping hidden directories) in lexical order.
func listFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("filesystem source path '%s': %w", path, err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == path {
			return nil
		}
		if hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() { // a symlink, perhaps to a regular file
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("filesystem source path '%s': %w", path, err)
	}
	return files, nil
}
