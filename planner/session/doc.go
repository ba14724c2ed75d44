// Package session is the engine a user talks to: it parses scripts, runs
// DDL against the catalog, plans queries and INSERT jobs, runs them on the
// exec runtime and hands results back as row iterators.
//
// One Session owns one state directory (Badger store, catalog, built-in
// tables). The shell, `sluice run` and the sqllogictest runner all drive a
// Session through Execute:
//
//	s, _ := session.Open(session.Config{StateDir: "./sluice-data"})
//	defer s.Close()
//	err := s.Execute(ctx, "CREATE TABLE t (a INT); INSERT INTO t VALUES (1); FLUSH; SELECT * FROM t;",
//		func(r *session.Result) error { ...read r.Rows... })
package session
