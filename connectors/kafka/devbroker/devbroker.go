package devbroker

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Config configures a dev broker.
type Config struct {
	// Port to listen on, on all interfaces; 0 picks a free port.
	Port int
	// DataDir makes the broker persistent: the log, groups and transaction
	// state are written there and reloaded on the next start. Empty keeps
	// everything in memory.
	DataDir string
	// Sync fsyncs every produced batch (durable through a machine crash,
	// slower). Without it, data reaches the disk through the page cache and
	// at a clean stop.
	Sync bool
	// Partitions is the partition count of topics created on demand (by a
	// metadata request or a CreateTopics with -1 partitions); default 1, as
	// Kafka's num.partitions.
	Partitions int
	// Log receives the broker's log lines at LogLevel; nil discards them.
	Log io.Writer
	// LogLevel: "none" (default), "error", "warn", "info" or "debug".
	LogLevel string
	// BrokerConfigs are broker configs such as
	// "transaction.max.timeout.ms" (see kfake.BrokerConfigs).
	BrokerConfigs map[string]string
}

// Broker is a running dev broker.
type Broker struct {
	c *kfake.Cluster
}

// Start starts a broker. The caller must Close it.
func Start(cfg Config) (*Broker, error) {
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("dev broker: invalid port %d", cfg.Port)
	}
	parts := cfg.Partitions
	if parts == 0 {
		parts = 1
	}
	if parts < 0 {
		return nil, fmt.Errorf("dev broker: invalid partition count %d", parts)
	}
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	var logw io.Writer = io.Discard
	if cfg.Log != nil {
		logw = cfg.Log
	}
	opts := []kfake.Opt{
		kfake.Ports(cfg.Port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(parts),
		kfake.WithLogger(kfake.BasicLogger(logw, level)),
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("dev broker: create data dir: %w", err)
		}
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if cfg.Sync {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	if len(cfg.BrokerConfigs) > 0 {
		opts = append(opts, kfake.BrokerConfigs(cfg.BrokerConfigs))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		where := "port " + strconv.Itoa(cfg.Port)
		if cfg.DataDir != "" {
			where += ", data dir " + cfg.DataDir
		}
		return nil, fmt.Errorf("dev broker (%s): %w", where, err)
	}
	return &Broker{c: c}, nil
}

// Addr returns the broker's host:port.
func (b *Broker) Addr() string {
	addrs := b.c.ListenAddrs()
	if len(addrs) == 0 {
		return ""
	}
	return addrs[0]
}

// Close stops the broker, writing its state to the data directory when it
// has one. It is idempotent.
func (b *Broker) Close() { b.c.Close() }

func parseLevel(s string) (kfake.LogLevel, error) {
	switch s {
	case "", "none":
		return kfake.LogLevelNone, nil
	case "error":
		return kfake.LogLevelError, nil
	case "warn":
		return kfake.LogLevelWarn, nil
	case "info":
		return kfake.LogLevelInfo, nil
	case "debug":
		return kfake.LogLevelDebug, nil
	}
	return 0, fmt.Errorf("dev broker: unknown log level %q (none, error, warn, info, debug)", s)
}
