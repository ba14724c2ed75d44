// Package format decodes the record formats the connectors share (JSON
// objects today) straight into the typed vectors of a *types.Batch, with no
// intermediate map and no allocation per value.
//
// A decoder is built from a list of Fields, each a record field name and
// the batch column it fills, and a SetText function that belongs to the
// connector: it parses the text of a non-NULL value into a vector slot and
// copies strings into the connector's own storage, so each connector keeps
// its value syntax and its string arena. Columns of the batch that no Field
// names are left alone (a Kafka batch also holds key and metadata columns).
//
// Records are filled in place: AddSlot appends a row slot to every vector,
// the decoder fills row r, and on an error DropSlot removes the slot again
// (Append does the three steps). Errors carry no position in the input
// stream: they are a *SyntaxError (malformed JSON, with a byte offset in the
// record) or a *FieldError (a well-formed value that does not fit its column,
// or a missing field), and the connector wraps them with its own position
// (file and line for the filesystem connector; topic, partition and offset
// for Kafka). The decoders keep no reference to the input record.
//
// A decoder is not safe for concurrent use; one belongs to one source
// subtask.
package format
