package pgtest

import (
	"context"
	"os"
	"testing"
)

func TestConnect(t *testing.T) {
	c := Connect(t)
	ctx := context.Background()
	if _, err := c.Exec(ctx, "CREATE TABLE t (a INT)"); err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := c.QueryRow(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 't' AND table_schema = current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if schema != c.Schema {
		t.Fatalf("table created in %q, want %q", schema, c.Schema)
	}
	// A second connection has its own schema.
	c2 := Connect(t)
	if c2.Schema == c.Schema {
		t.Fatal("two connections share a schema")
	}
	var n int
	if err := c2.QueryRow(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("new schema holds %d tables", n)
	}
}

// TestPrivateCluster starts a private cluster from the installed binaries
// (slow: a few seconds); run it with -run PrivateCluster or PGTEST_PRIVATE=1.
func TestPrivateCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if os.Getenv("PGTEST_PRIVATE") == "" {
		t.Setenv("PGTEST_PRIVATE", "1")
	}
	c := Connect(t)
	var one int
	if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	t.Logf("private cluster at %s", c.DSN)
}
