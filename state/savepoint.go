package state

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/dgraph-io/badger/v4"
)

// Savepoint stream format (ExportNamespace, ImportNamespace): everything is
// covered by a CRC-32C (Castagnoli) trailer, so a truncated or damaged
// stream is rejected as a whole.
//
//	magic    "SLUICEST" (8 bytes)
//	version  1 (uvarint)
//	ts       the timestamp the namespace was read at (uvarint)
//	prefix   uvarint length, bytes: the exported namespace
//	records  per key: 0x01, uvarint key length, key (the full key, which
//	         starts with prefix), uvarint value length, value
//	end      0x00, number of records (uvarint)
//	crc      CRC-32C of every byte above (4 bytes big-endian)
//
// Keys come in key order.
const (
	streamMagic   = "SLUICEST"
	streamVersion = 1
	recordTag     = 0x01
	endTag        = 0x00
	// maxStreamField bounds the length of one key or value read from a
	// stream, so a corrupt length is an error rather than a huge
	// allocation. Badger itself refuses keys above 64 KB and values above
	// 1 GB.
	maxStreamField = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ExportNamespace writes every key under prefix (an NSOperator prefix,
// e.g. JobNamespace) that has a value at timestamp ts, with its value, to
// w in the self-describing savepoint format above, and returns the number
// of keys. The versions needed to read at ts must still exist (Pin).
// w is written sequentially; the caller closes it and fsyncs it if needed.
func (s *Store) ExportNamespace(prefix []byte, ts uint64, w io.Writer) (keys int64, err error) {
	if err := checkStatePrefix(prefix); err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(bw, crc)
	var buf []byte
	buf = append(buf, streamMagic...)
	buf = binary.AppendUvarint(buf, streamVersion)
	buf = binary.AppendUvarint(buf, ts)
	buf = binary.AppendUvarint(buf, uint64(len(prefix)))
	buf = append(buf, prefix...)
	if _, err := out.Write(buf); err != nil {
		return 0, fmt.Errorf("state: export %x: %w", prefix, err)
	}
	err = s.viewState(ts, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = prefix
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			buf = append(buf[:0], recordTag)
			buf = binary.AppendUvarint(buf, uint64(len(item.Key())))
			buf = append(buf, item.Key()...)
			if err := item.Value(func(v []byte) error {
				buf = binary.AppendUvarint(buf, uint64(len(v)))
				buf = append(buf, v...)
				_, err := out.Write(buf)
				return err
			}); err != nil {
				return err
			}
			keys++
		}
		return nil
	})
	if err != nil {
		return keys, fmt.Errorf("state: export %x: %w", prefix, err)
	}
	buf = append(buf[:0], endTag)
	buf = binary.AppendUvarint(buf, uint64(keys))
	if _, err := out.Write(buf); err != nil {
		return keys, fmt.Errorf("state: export %x: %w", prefix, err)
	}
	if _, err := bw.Write(crc.Sum(nil)); err != nil {
		return keys, fmt.Errorf("state: export %x: %w", prefix, err)
	}
	if err := bw.Flush(); err != nil {
		return keys, fmt.Errorf("state: export %x: %w", prefix, err)
	}
	return keys, nil
}

// ErrBadSavepoint is returned (wrapped) by ImportNamespace for a stream that
// is not a complete, intact savepoint stream.
var ErrBadSavepoint = errors.New("state: bad savepoint stream")

// ImportNamespace reads a stream written by ExportNamespace, replaces the
// prefix oldPrefix of every key with newPrefix (both NSOperator prefixes;
// every key must start with oldPrefix) and writes the keys at one fresh
// timestamp ts, which it returns with the number of keys: the importing
// job starts its epochs after ts (NextTs). The stream is verified as a
// whole (magic, version, record syntax, count, CRC-32C); a stream that is
// corrupt or truncated is rejected with an error wrapping ErrBadSavepoint,
// and nothing of it stays visible: what was already written is rolled
// back (RestoreNamespace(newPrefix, ts-1)) before the error is returned.
// Keys already under newPrefix are overwritten by the import, not deleted;
// importing into an empty namespace is the intended use.
func (s *Store) ImportNamespace(r io.Reader, oldPrefix, newPrefix []byte) (ts uint64, keys int64, err error) {
	if err := checkStatePrefix(oldPrefix); err != nil {
		return 0, 0, err
	}
	if err := checkStatePrefix(newPrefix); err != nil {
		return 0, 0, err
	}
	ts = s.NextTs()
	wb := s.sdb.NewWriteBatchAt(ts)
	keys, err = readStream(r, oldPrefix, newPrefix, wb)
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
	}
	if err != nil {
		err = fmt.Errorf("state: import %x as %x: %w", oldPrefix, newPrefix, err)
		if _, _, rerr := s.RestoreNamespace(newPrefix, ts-1); rerr != nil {
			err = errors.Join(err, fmt.Errorf("state: roll back failed import: %w", rerr))
		}
		return 0, 0, err
	}
	return ts, keys, nil
}

// streamReader reads a savepoint stream and hashes what it reads.
type streamReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	one [1]byte
}

func (sr *streamReader) ReadByte() (byte, error) {
	b, err := sr.r.ReadByte()
	if err == nil {
		sr.one[0] = b
		sr.crc.Write(sr.one[:])
	}
	return b, err
}

func (sr *streamReader) Read(p []byte) (int, error) {
	n, err := sr.r.Read(p)
	sr.crc.Write(p[:n])
	return n, err
}

func (sr *streamReader) uvarint(what string) (uint64, error) {
	v, err := binary.ReadUvarint(sr)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrBadSavepoint, what, noEOF(err))
	}
	return v, nil
}

// bytes reads a length-prefixed field into a new slice.
func (sr *streamReader) bytes(what string) ([]byte, error) {
	n, err := sr.uvarint(what + " length")
	if err != nil {
		return nil, err
	}
	if n > maxStreamField {
		return nil, fmt.Errorf("%w: %s of %d bytes", ErrBadSavepoint, what, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(sr, b); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadSavepoint, what, noEOF(err))
	}
	return b, nil
}

// noEOF turns the EOF of a truncated stream into ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readStream parses and verifies a savepoint stream, adding its records,
// with prefixes rewritten, to wb.
func readStream(r io.Reader, oldPrefix, newPrefix []byte, wb *badger.WriteBatch) (int64, error) {
	sr := &streamReader{r: bufio.NewReaderSize(r, 64<<10), crc: crc32.New(castagnoli)}
	magic := make([]byte, len(streamMagic))
	if _, err := io.ReadFull(sr, magic); err != nil {
		return 0, fmt.Errorf("%w: header: %w", ErrBadSavepoint, noEOF(err))
	}
	if string(magic) != streamMagic {
		return 0, fmt.Errorf("%w: not a savepoint stream (magic %q)", ErrBadSavepoint, magic)
	}
	version, err := sr.uvarint("version")
	if err != nil {
		return 0, err
	}
	if version != streamVersion {
		return 0, fmt.Errorf("%w: version %d, this build reads %d", ErrBadSavepoint, version, streamVersion)
	}
	if _, err := sr.uvarint("timestamp"); err != nil {
		return 0, err
	}
	if _, err := sr.bytes("prefix"); err != nil {
		return 0, err
	}
	var n int64
	for {
		tag, err := sr.ReadByte()
		if err != nil {
			return n, fmt.Errorf("%w: record tag: %w", ErrBadSavepoint, noEOF(err))
		}
		if tag == endTag {
			break
		}
		if tag != recordTag {
			return n, fmt.Errorf("%w: record tag %#x", ErrBadSavepoint, tag)
		}
		k, err := sr.bytes("key")
		if err != nil {
			return n, err
		}
		v, err := sr.bytes("value")
		if err != nil {
			return n, err
		}
		if !bytes.HasPrefix(k, oldPrefix) {
			return n, fmt.Errorf("%w: key %x is not under %x", ErrBadSavepoint, k, oldPrefix)
		}
		nk := append(append(make([]byte, 0, len(newPrefix)+len(k)-len(oldPrefix)), newPrefix...), k[len(oldPrefix):]...)
		if err := wb.Set(nk, v); err != nil {
			return n, err
		}
		n++
	}
	count, err := sr.uvarint("record count")
	if err != nil {
		return n, err
	}
	if count != uint64(n) {
		return n, fmt.Errorf("%w: %d records, trailer says %d", ErrBadSavepoint, n, count)
	}
	want := sr.crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(sr.r, sum[:]); err != nil {
		return n, fmt.Errorf("%w: checksum: %w", ErrBadSavepoint, noEOF(err))
	}
	if got := binary.BigEndian.Uint32(sum[:]); got != want {
		return n, fmt.Errorf("%w: checksum %08x, computed %08x", ErrBadSavepoint, got, want)
	}
	switch _, err := sr.r.ReadByte(); {
	case err == nil:
		return n, fmt.Errorf("%w: data after the checksum", ErrBadSavepoint)
	case err != io.EOF:
		return n, fmt.Errorf("%w: after the checksum: %w", ErrBadSavepoint, err)
	}
	return n, nil
}
