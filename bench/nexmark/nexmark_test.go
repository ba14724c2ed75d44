package nexmark

import (
	"strings"
	"testing"
)

func TestEveryQueryHasAFile(t *testing.T) {
	for _, q := range append(Queries(), "generator") {
		text, err := Query(q)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "INSERT INTO") {
			t.Errorf("%s.sql has no INSERT INTO", q)
		}
		if q != "generator" && !strings.Contains(text, "INSERT INTO nexmark_"+q+"\n") &&
			!strings.Contains(text, "INSERT INTO nexmark_"+q+" ") {
			t.Errorf("%s.sql does not write nexmark_%s", q, q)
		}
	}
	if len(Queries()) != 23 || Known("q23") || !Known("generator") || !Known("q0") {
		t.Error("the suite is q0 … q22 plus generator")
	}
	if _, err := Query("q99"); err == nil {
		t.Error("Query(q99) succeeded")
	}
}

func TestDDLPlaceholders(t *testing.T) {
	ddl, err := DDL(Params{Events: 12345, OutputDir: "/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ddl, "${") {
		t.Error("a placeholder is left in the DDL")
	}
	for _, want := range []string{"'events.num' = '12345'", "'first-event.rate' = '10000000'", "'/tmp/x/q10'",
		"'scan.watermark.alignment.max-drift' = '10 ms'"} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %s", want)
		}
	}
	for _, p := range []Params{{Events: 0}, {Events: 1, Rate: -1}, {Events: 1, OutputDir: "a'b"}} {
		if _, err := DDL(p); err == nil {
			t.Errorf("DDL(%+v) succeeded", p)
		}
	}
	s, err := Script("q2", Params{Events: 1, Rate: 5})
	if err != nil || !strings.Contains(s, "'first-event.rate' = '5'") || !strings.Contains(s, "max-drift' = '20000000 ms'") || !strings.HasSuffix(strings.TrimSpace(s), "= 0;") {
		t.Errorf("Script(q2) = %q, %v", s, err)
	}
}
