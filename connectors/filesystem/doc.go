// Package filesystem implements the 'filesystem' connector: a bounded source
// and an append-only sink of files in JSON-lines or CSV format, with Flink's
// option names.
//
//	CREATE TABLE events (id BIGINT, name STRING, ts TIMESTAMP(3), amount DECIMAL(10, 2))
//	WITH ('connector' = 'filesystem', 'path' = '/data/events', 'format' = 'json');
//
// # Source
//
// 'path' is a file or a directory. A directory is read recursively; names
// starting with '.' or '_' (in-progress part files, for one) are skipped.
// The files are listed when the job is planned and sorted; subtask s of p
// reads files s, s+p, ... so MaxParallelism is the number of files. Each
// file is read once, start to end: the source is bounded.
//
//	path/                        subtask 0 of 2: a.json, c.json
//	  a.json  b.json  c.json     subtask 1 of 2: b.json
//	  .part-x-0-1.json.inprogress   (skipped)
//
// JSON: one object per line, blank lines skipped. Field names match columns
// case-insensitively; unknown fields are ignored; a missing field is NULL
// ('json.fail-on-missing-field' = 'true' makes it an error). Numbers,
// strings, booleans and null convert to the column type; numbers may also
// be quoted; DECIMAL values are parsed exactly from their text; a nested
// object or array in a string column is kept as JSON text; BYTES are base64;
// timestamps are 'yyyy-MM-dd HH:mm:ss[.fff]' or ISO-8601 'yyyy-MM-ddTHH:mm:ss[.fff]'
// (either is read whatever 'json.timestamp-format.standard' says; that
// option picks the form written), with an optional 'Z'.
//
// CSV (RFC 4180): fields map to columns by position, a record has exactly
// one field per column, quoted fields may hold delimiters, doubled quotes and
// line breaks. NULL is an unquoted field equal to 'csv.null-literal' when it
// is set; an empty unquoted field is NULL in non-string columns and the
// empty string in string columns. 'csv.allow-comments' skips lines starting
// with '#'.
//
// A malformed record fails the job with a *ParseError naming the file and
// line ("filesystem source 'dir/a.json' line 17: invalid JSON: ...") unless
// '<format>.ignore-parse-errors' = 'true', which skips it and counts it
// (Source.Skipped).
//
// A source subtask is an exec.Snapshotter and exec.Restorer: its snapshot
// is the work it has left (the file it is reading with the byte offset and
// line of its next record, then its files not started), so a job recovered
// from checkpoint n reads every record once. Work is recorded by file name,
// so the source can also be restored at another parallelism (a subtask
// takes over the work of the old subtasks mapped to it). The files are
// those of the first listing: files added later are not read.
//
// # Sink
//
// Each sink subtask writes part files 'part-<job id>-<subtask>-<n>.<format>'
// into the 'path' directory (created when missing), through hidden
// (dot-prefixed) in-progress files. A part rolls at
// 'sink.rolling-policy.file-size' (default 128MB), when a row arrives after
// it has been open 'sink.rolling-policy.rollover-interval' (default 30 min),
// and at every checkpoint. The sink takes inserts only (AcceptsUpdates is
// false). JSON: {"a":1,"b":"x","c":null}, columns in schema order; CSV: RFC
// 4180 with the csv.* options.
//
// With checkpoints the sink is exactly-once: at a checkpoint's barrier the
// rolled parts are fsynced and renamed to hidden pending names recording
// the checkpoint id, and they are renamed to their final names when the
// checkpoint completes; a restore commits the pending parts of the
// checkpoint it resumes from and deletes the hidden leftovers of the job's
// crashed attempt, so committed files hold each row once. Without
// checkpoints a part is committed when it rolls, at the end of input and
// when the job stops (at-least-once across reruns). The sink type's comment
// has the file life cycle.
package filesystem
