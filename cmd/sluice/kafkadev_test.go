package main

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// startKafkaDev runs `sluice kafka-dev` on a free port with dataDir and
// returns its address and the command.
func startKafkaDev(t *testing.T, dataDir string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(binary, "kafka-dev", "--port", "0", "--data-dir", dataDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "kafka-dev listening on ")
	if err != nil || !ok {
		t.Fatalf("kafka-dev printed %q (%v)", line, err)
	}
	return addr, cmd
}

// TestKafkaDevPersistsAndStopsCleanly produces to an auto-created topic,
// stops the broker with SIGTERM (exit 0), starts it again on the same data
// dir and reads the record back.
func TestKafkaDevPersistsAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	addr, cmd := startKafkaDev(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "greetings", Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kafka-dev after SIGTERM: %v", err)
	}

	addr, _ = startKafkaDev(t, dir)
	cl, err = kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("greetings"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fs := cl.PollFetches(ctx)
	if err := fs.Err0(); err != nil {
		t.Fatal(err)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "hello" {
		t.Fatalf("after restart read %d records", len(recs))
	}
}

func TestKafkaDevUsage(t *testing.T) {
	var stderr strings.Builder
	cmd := exec.Command(binary, "kafka-dev", "--sync")
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitUsage || !strings.Contains(stderr.String(), "--sync needs --data-dir") {
		t.Fatalf("err %v, stderr %q", err, stderr.String())
	}
}
