package kafka

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// clientOpts returns the franz-go options for the table's properties.*
// settings common to consumers and producers.
func (c *config) clientOpts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.bootstrap...)}
	if v, ok := c.props["client.id"]; ok {
		opts = append(opts, kgo.ClientID(v))
	}
	if v, ok := c.props["request.timeout.ms"]; ok {
		ms, err := c.intProp("request.timeout.ms", v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.RequestTimeoutOverhead(time.Duration(ms)*time.Millisecond))
	}
	return opts, nil
}

// consumerOpts adds the consumer settings: read_committed, control records
// kept (so that positions move past transaction markers), fetch sizes.
func (c *config) consumerOpts() ([]kgo.Opt, error) {
	opts, err := c.clientOpts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.FetchMaxWait(500*time.Millisecond))
	for _, p := range []struct {
		key string
		set func(int64) kgo.Opt
	}{
		{"fetch.max.bytes", func(n int64) kgo.Opt { return kgo.FetchMaxBytes(int32(n)) }},
		{"max.partition.fetch.bytes", func(n int64) kgo.Opt { return kgo.FetchMaxPartitionBytes(int32(n)) }},
		{"fetch.max.wait.ms", func(n int64) kgo.Opt { return kgo.FetchMaxWait(time.Duration(n) * time.Millisecond) }},
	} {
		if v, ok := c.props[p.key]; ok {
			n, err := c.intProp(p.key, v)
			if err != nil {
				return nil, err
			}
			opts = append(opts, p.set(n))
		}
	}
	return opts, nil
}

// producerOpts adds the producer settings.
func (c *config) producerOpts() ([]kgo.Opt, error) {
	opts, err := c.clientOpts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ProducerLinger(5*time.Millisecond))
	if v, ok := c.props["allow.auto.create.topics"]; !ok || strings.EqualFold(v, "true") {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	if v, ok := c.props["linger.ms"]; ok {
		n, err := c.intProp("linger.ms", v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.ProducerLinger(time.Duration(n)*time.Millisecond))
	}
	if v, ok := c.props["batch.size"]; ok {
		n, err := c.intProp("batch.size", v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.ProducerBatchMaxBytes(int32(n)))
	}
	if v, ok := c.props["compression.type"]; ok {
		var codec kgo.CompressionCodec
		switch strings.ToLower(v) {
		case "none":
			codec = kgo.NoCompression()
		case "gzip":
			codec = kgo.GzipCompression()
		case "snappy":
			codec = kgo.SnappyCompression()
		case "lz4":
			codec = kgo.Lz4Compression()
		case "zstd":
			codec = kgo.ZstdCompression()
		default:
			return nil, optionError(c.table, "properties.compression.type", "invalid value '%s' (none, gzip, snappy, lz4, zstd)", v)
		}
		opts = append(opts, kgo.ProducerBatchCompression(codec))
	}
	if v, ok := c.props["acks"]; ok && c.delivery != deliveryExactlyOnce {
		switch strings.ToLower(v) {
		case "all", "-1":
			opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
		case "1":
			opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		case "0":
			opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
		default:
			return nil, optionError(c.table, "properties.acks", "invalid value '%s' (all, 1, 0)", v)
		}
	}
	return opts, nil
}

func (c *config) intProp(key, v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("table %s: option 'properties.%s': invalid number '%s'", c.table, key, v)
	}
	return n, nil
}
