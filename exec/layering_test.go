package exec

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayering fails if a package under exec/ imports the planner, the
// parser or the catalog: plans arrive compiled into a JobGraph.
func TestLayering(t *testing.T) {
	forbidden := []string{"planner", "parser", "catalog"}
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		imports := append(append(pkg.Imports, pkg.TestImports...), pkg.XTestImports...)
		for _, imp := range imports {
			for _, f := range forbidden {
				if p := "github.com/sluicesql/sluice/" + f; imp == p || strings.HasPrefix(imp, p+"/") {
					t.Errorf("exec/%s imports %s", dir, imp)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
