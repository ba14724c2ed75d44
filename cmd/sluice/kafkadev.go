package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicesql/sluice/connectors/kafka/devbroker"
)

// cmdKafkaDev runs a local Kafka-protocol broker until SIGINT or SIGTERM:
//
//	sluice kafka-dev [--port 9092] [--data-dir ./kafka-data] [--sync] [--partitions 1]
//
// It prints "kafka-dev listening on <host:port>" on stdout once it accepts
// connections. A first signal stops it cleanly (state written to the data
// dir) and exits 0; a second one exits at once.
func cmdKafkaDev(args []string, std stdio) int {
	fs := flag.NewFlagSet("kafka-dev", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() {
		fmt.Fprintf(std.err, "Usage:\n  sluice kafka-dev [--port P] [--data-dir D] [--sync]\n\n"+
			"A local Kafka-protocol broker (franz-go's kfake) for trying Sluice; not for\n"+
			"production data. Topics are created on first use.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var cfg devbroker.Config
	fs.IntVar(&cfg.Port, "port", 9092, "TCP `port` to listen on (0: any free port)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "`directory` to persist topics, groups and transactions in (empty: memory only)")
	fs.BoolVar(&cfg.Sync, "sync", false, "fsync every produced batch (with --data-dir)")
	fs.IntVar(&cfg.Partitions, "partitions", 1, "partition `count` of topics created on first use")
	fs.StringVar(&cfg.LogLevel, "log-level", "none", "broker log `level` on stderr: none, error, warn, info, debug")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(std.err, "sluice kafka-dev: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if cfg.Sync && cfg.DataDir == "" {
		fmt.Fprintln(std.err, "sluice kafka-dev: --sync needs --data-dir")
		return exitUsage
	}
	cfg.Log = std.err

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	b, err := devbroker.Start(cfg)
	if err != nil {
		fmt.Fprintf(std.err, "sluice kafka-dev: %v\n", err)
		return exitError
	}
	fmt.Fprintf(std.out, "kafka-dev listening on %s\n", b.Addr())
	if cfg.DataDir != "" {
		fmt.Fprintf(std.out, "data dir: %s\n", cfg.DataDir)
	}
	<-sigs
	done := make(chan struct{})
	go func() {
		b.Close()
		close(done)
	}()
	select {
	case <-done:
		fmt.Fprintln(std.err, "kafka-dev stopped")
		return exitOK
	case sig := <-sigs:
		fmt.Fprintln(std.err, "kafka-dev: forced stop")
		return exitCodeFor(sig)
	}
}
