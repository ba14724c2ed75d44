package faulttest

import (
	"context"
	"testing"
	"time"

	"github.com/sluicesql/sluice/planner/session"
)

// TestPipelineInProcess runs the pipeline through planner/session in this
// process, without failures.
func TestPipelineInProcess(t *testing.T) {
	addr := startBroker(t)
	const n = 3000
	produceInput(t, addr, n)
	s, err := session.Open(session.Config{StateDir: t.TempDir(), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Execute(ctx, pipelineScript(addr, "200 ms"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitJobs(ctx); err != nil {
		t.Fatal(err)
	}
	checkFiltered(t, addr, n)
	checkAgg(t, addr, n)
}
