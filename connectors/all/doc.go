// Package all links every connector into a program. Import it for its side
// effects; each connector registers itself under its 'connector' name (the
// built-in table connector when the engine starts, see connectors/builtin).
//
//	import _ "github.com/sluicesql/sluice/connectors/all"
package all
