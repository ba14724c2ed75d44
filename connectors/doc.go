// Package connectors defines how tables bound to external systems become
// sources and sinks, and keeps the registry of connectors by the name users
// write in 'connector' = '...'.
//
// A connector validates a table's options at CREATE TABLE time and later
// builds exec.Source and sink operators for jobs. Implementations live in
// sub-packages (datagen, filesystem, print, blackhole, builtin) and register
// themselves from init; a program links them with a blank import of
// connectors/all.
package connectors
