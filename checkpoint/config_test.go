package checkpoint

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"10 s": 10 * time.Second, "10s": 10 * time.Second, " 10  S ": 10 * time.Second,
		"500 ms": 500 * time.Millisecond, "500": 500 * time.Millisecond, "0": 0,
		"1 min": time.Minute, "1m": time.Minute, "3 minutes": 3 * time.Minute,
		"2 h": 2 * time.Hour, "1 hour": time.Hour, "1 d": 24 * time.Hour, "2 days": 48 * time.Hour,
		"7 milli": 7 * time.Millisecond, "7 millis": 7 * time.Millisecond, "7 milliseconds": 7 * time.Millisecond,
		"4 sec": 4 * time.Second, "4 secs": 4 * time.Second, "1 second": time.Second,
		"5 us": 5 * time.Microsecond, "5 µs": 5 * time.Microsecond, "5 ns": 5,
	}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"abc":                  "invalid duration 'abc' (expected e.g. '10 s', '500 ms', '1 min')",
		"":                     "invalid duration '' (expected e.g. '10 s', '500 ms', '1 min')",
		"1.5 s":                "invalid duration '1.5 s': fractions are not supported (expected a whole number with a unit, e.g. '1500 ms')",
		"10 parsecs":           "invalid duration '10 parsecs': unknown unit 'parsecs' (expected ms, s, min, h or d, e.g. '10 s', '500 ms', '1 min')",
		"-1 s":                 "negative duration '-1 s' (expected a duration >= 0, e.g. '10 s', '500 ms', '1 min')",
		"9999999999 d":         "duration '9999999999 d' is too large",
		"99999999999999999999": "duration '99999999999999999999' is too large",
	}
	for in, want := range bad {
		if _, err := ParseDuration(in); err == nil || err.Error() != want {
			t.Errorf("ParseDuration(%q) error = %v; want %q", in, err, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 ms", 10 * time.Second: "10 s", 500 * time.Millisecond: "500 ms", time.Minute: "1 min",
		90 * time.Second: "90 s", 2 * time.Hour: "2 h", 48 * time.Hour: "2 d", 1500 * time.Microsecond: "1500 us", 7: "7 ns",
	} {
		got := FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q; want %q", d, got, want)
		}
		if back, err := ParseDuration(got); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	want := Config{
		Interval: 10 * time.Second, Mode: ExactlyOnce, Timeout: 10 * time.Minute, MinPause: 0,
		MaxConcurrent: 1, TolerableFailed: 0, Retention: DeleteOnCancellation, NumRetained: 1,
		Restart: RestartConfig{
			Type: RestartExponentialDelay, Attempts: 1, Delay: time.Second,
			MaxFailuresPerInterval: 1, FailureRateInterval: time.Minute, FailureRateDelay: time.Second,
			InitialBackoff: time.Second, MaxBackoff: time.Minute, BackoffMultiplier: 1.5,
			ResetBackoffThreshold: time.Hour, JitterFactor: 0.1, AttemptsBeforeReset: 0,
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("DefaultConfig() =\n%+v\nwant\n%+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

// TestParseKeys checks that every key, with every accepted spelling of its
// value, has its effect and nothing else.
func TestParseKeys(t *testing.T) {
	cases := []struct {
		settings map[string]string
		want     func(c *Config)
	}{
		{map[string]string{KeyInterval: "30 s"}, func(c *Config) { c.Interval = 30 * time.Second }},
		{map[string]string{KeyInterval: "500"}, func(c *Config) { c.Interval = 500 * time.Millisecond }},
		{map[string]string{KeyInterval: "10 ms"}, func(c *Config) { c.Interval = 10 * time.Millisecond }},
		// Disabling checkpointing also changes the default restart strategy.
		{map[string]string{KeyInterval: "0"}, func(c *Config) { c.Interval = 0; c.Restart.Type = RestartNone }},
		{map[string]string{KeyInterval: "0 s", KeyRestartType: "fixed-delay"}, func(c *Config) {
			c.Interval = 0
			c.Restart.Type = RestartFixedDelay
		}},
		{map[string]string{KeyMode: "at_least_once"}, func(c *Config) { c.Mode = AtLeastOnce }},
		{map[string]string{KeyMode: "AT-LEAST-ONCE"}, func(c *Config) { c.Mode = AtLeastOnce }},
		{map[string]string{KeyMode: "Exactly_Once"}, func(c *Config) { c.Mode = ExactlyOnce }},
		{map[string]string{KeyTimeout: "1 min"}, func(c *Config) { c.Timeout = time.Minute }},
		{map[string]string{KeyMinPause: "5 s"}, func(c *Config) { c.MinPause = 5 * time.Second }},
		{map[string]string{KeyMaxConcurrent: "3"}, func(c *Config) { c.MaxConcurrent = 3 }},
		{map[string]string{KeyTolerableFailed: "2"}, func(c *Config) { c.TolerableFailed = 2 }},
		{map[string]string{KeyRetention: "retain_on_cancellation"}, func(c *Config) { c.Retention = RetainOnCancellation }},
		{map[string]string{KeyRetention: "DELETE_ON_CANCELLATION"}, func(c *Config) { c.Retention = DeleteOnCancellation }},
		{map[string]string{KeyNumRetained: "4"}, func(c *Config) { c.NumRetained = 4 }},
		{map[string]string{"state.checkpoints.num-retained": "5"}, func(c *Config) { c.NumRetained = 5 }},
		{map[string]string{"state.checkpoints.num-retained": "5", KeyNumRetained: "6"}, func(c *Config) { c.NumRetained = 6 }},
		{map[string]string{KeyDir: "/tmp/ck"}, func(c *Config) { c.Dir = "/tmp/ck" }},
		{map[string]string{KeyDir: "file:///tmp/ck"}, func(c *Config) { c.Dir = "/tmp/ck" }},
		{map[string]string{"execution.checkpointing.dir": "/a", KeyDir: "/b"}, func(c *Config) { c.Dir = "/b" }},
		{map[string]string{KeyRestartType: "none"}, func(c *Config) { c.Restart.Type = RestartNone }},
		{map[string]string{KeyRestartType: "off"}, func(c *Config) { c.Restart.Type = RestartNone }},
		{map[string]string{KeyRestartType: "Disable"}, func(c *Config) { c.Restart.Type = RestartNone }},
		{map[string]string{KeyRestartType: "fixed-delay"}, func(c *Config) { c.Restart.Type = RestartFixedDelay }},
		{map[string]string{KeyRestartType: "fixeddelay"}, func(c *Config) { c.Restart.Type = RestartFixedDelay }},
		{map[string]string{KeyRestartType: "failure-rate"}, func(c *Config) { c.Restart.Type = RestartFailureRate }},
		{map[string]string{KeyRestartType: "FailureRate"}, func(c *Config) { c.Restart.Type = RestartFailureRate }},
		{map[string]string{KeyRestartType: "exponential-delay"}, func(c *Config) { c.Restart.Type = RestartExponentialDelay }},
		{map[string]string{KeyRestartType: "exponentialdelay"}, func(c *Config) { c.Restart.Type = RestartExponentialDelay }},
		{map[string]string{KeyFixedAttempts: "7"}, func(c *Config) { c.Restart.Attempts = 7 }},
		{map[string]string{KeyFixedAttempts: "0"}, func(c *Config) { c.Restart.Attempts = 0 }},
		{map[string]string{KeyFixedDelay: "3 s"}, func(c *Config) { c.Restart.Delay = 3 * time.Second }},
		{map[string]string{KeyRateMaxFailures: "4"}, func(c *Config) { c.Restart.MaxFailuresPerInterval = 4 }},
		{map[string]string{KeyRateInterval: "5 min"}, func(c *Config) { c.Restart.FailureRateInterval = 5 * time.Minute }},
		{map[string]string{KeyRateDelay: "2 s"}, func(c *Config) { c.Restart.FailureRateDelay = 2 * time.Second }},
		{map[string]string{KeyExpInitialBackoff: "200 ms"}, func(c *Config) { c.Restart.InitialBackoff = 200 * time.Millisecond }},
		{map[string]string{KeyExpMaxBackoff: "5 min"}, func(c *Config) { c.Restart.MaxBackoff = 5 * time.Minute }},
		{map[string]string{KeyExpMultiplier: "2"}, func(c *Config) { c.Restart.BackoffMultiplier = 2 }},
		{map[string]string{KeyExpResetThreshold: "10 min"}, func(c *Config) { c.Restart.ResetBackoffThreshold = 10 * time.Minute }},
		{map[string]string{KeyExpJitter: "0"}, func(c *Config) { c.Restart.JitterFactor = 0 }},
		{map[string]string{KeyExpJitter: "1"}, func(c *Config) { c.Restart.JitterFactor = 1 }},
		{map[string]string{KeyExpAttemptsBeforeRs: "3"}, func(c *Config) { c.Restart.AttemptsBeforeReset = 3 }},
		// Keys of other packages are ignored.
		{map[string]string{"parallelism.default": "4", "execution.state-recovery.path": "/x"}, func(*Config) {}},
	}
	for _, tc := range cases {
		got, err := Parse(tc.settings, DefaultConfig())
		if err != nil {
			t.Errorf("Parse(%v): %v", tc.settings, err)
			continue
		}
		want := DefaultConfig()
		tc.want(&want)
		got.restartTypeSet, want.restartTypeSet = false, false
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%v) =\n%+v\nwant\n%+v", tc.settings, got, want)
		}
	}
}

func TestParseRestartDefaultFollowsInterval(t *testing.T) {
	off, err := Parse(map[string]string{KeyInterval: "0"}, DefaultConfig())
	if err != nil || off.Restart.Type != RestartNone {
		t.Fatalf("interval 0: restart %q, %v; want none", off.Restart.Type, err)
	}
	on, err := Parse(map[string]string{KeyInterval: "1 min"}, off)
	if err != nil || on.Restart.Type != RestartExponentialDelay {
		t.Fatalf("interval back on: restart %q, %v; want exponential-delay", on.Restart.Type, err)
	}
	fixed, err := Parse(map[string]string{KeyRestartType: "fixed-delay"}, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	// An explicit type set by an earlier Parse survives a later one.
	later, err := Parse(map[string]string{KeyInterval: "0"}, fixed)
	if err != nil || later.Restart.Type != RestartFixedDelay {
		t.Fatalf("explicit type after interval 0: %q, %v; want fixed-delay", later.Restart.Type, err)
	}
	hand := DefaultConfig()
	hand.Restart.Type = ""
	if got := hand.RestartStrategy().Type; got != RestartExponentialDelay {
		t.Errorf("RestartStrategy with interval on = %q", got)
	}
	hand.Interval = 0
	if got := hand.RestartStrategy().Type; got != RestartNone {
		t.Errorf("RestartStrategy with interval off = %q", got)
	}
}

func TestBadValues(t *testing.T) {
	const dur = "(expected e.g. '10 s', '500 ms', '1 min')"
	cases := []struct{ key, value, want string }{
		{KeyInterval, "abc", "'execution.checkpointing.interval': invalid duration 'abc' " + dur},
		{KeyInterval, "-5 s", "'execution.checkpointing.interval': negative duration '-5 s' (expected a duration >= 0, e.g. '10 s', '500 ms', '1 min')"},
		{KeyInterval, "5 ms", "'execution.checkpointing.interval': interval '5 ms' is below the minimum of 10 ms (use 0 to disable periodic checkpoints)"},
		{KeyMode, "twice", "'execution.checkpointing.mode': invalid mode 'twice' (expected EXACTLY_ONCE or AT_LEAST_ONCE)"},
		{KeyTimeout, "0", "'execution.checkpointing.timeout': timeout '0' is below the minimum of 10 ms"},
		{KeyTimeout, "soon", "'execution.checkpointing.timeout': invalid duration 'soon' " + dur},
		{KeyMinPause, "-1", "'execution.checkpointing.min-pause': negative duration '-1' (expected a duration >= 0, e.g. '10 s', '500 ms', '1 min')"},
		{KeyMaxConcurrent, "0", "'execution.checkpointing.max-concurrent-checkpoints': invalid value '0' (expected a whole number >= 1)"},
		{KeyMaxConcurrent, "two", "'execution.checkpointing.max-concurrent-checkpoints': invalid value 'two' (expected a whole number >= 1)"},
		{KeyTolerableFailed, "-1", "'execution.checkpointing.tolerable-failed-checkpoints': invalid value '-1' (expected a whole number >= 0)"},
		{KeyRetention, "KEEP", "'execution.checkpointing.externalized-checkpoint-retention': invalid retention 'KEEP' (expected RETAIN_ON_CANCELLATION or DELETE_ON_CANCELLATION)"},
		{KeyNumRetained, "0", "'execution.checkpointing.num-retained': invalid value '0' (expected a whole number >= 1)"},
		{"state.checkpoints.num-retained", "0", "'execution.checkpointing.num-retained': invalid value '0' (expected a whole number >= 1)"},
		{KeyDir, "s3://bucket/ck", "'state.checkpoints.dir': unsupported file system 's3' in 's3://bucket/ck' (expected a local path, optionally with file://)"},
		{KeyRestartType, "sometimes", "'restart-strategy.type': invalid restart strategy 'sometimes' (expected none, fixed-delay, failure-rate or exponential-delay)"},
		{KeyFixedAttempts, "-1", "'restart-strategy.fixed-delay.attempts': invalid value '-1' (expected a whole number >= 0)"},
		{KeyFixedDelay, "1.5 s", "'restart-strategy.fixed-delay.delay': invalid duration '1.5 s': fractions are not supported (expected a whole number with a unit, e.g. '1500 ms')"},
		{KeyRateMaxFailures, "0", "'restart-strategy.failure-rate.max-failures-per-interval': invalid value '0' (expected a whole number >= 1)"},
		{KeyRateInterval, "0 s", "'restart-strategy.failure-rate.failure-rate-interval': duration '0 s' must be positive " + dur},
		{KeyRateDelay, "x", "'restart-strategy.failure-rate.delay': invalid duration 'x' " + dur},
		{KeyExpInitialBackoff, "0", "'restart-strategy.exponential-delay.initial-backoff': duration '0' must be positive " + dur},
		{KeyExpMaxBackoff, "never", "'restart-strategy.exponential-delay.max-backoff': invalid duration 'never' " + dur},
		{KeyExpMultiplier, "0.5", "'restart-strategy.exponential-delay.backoff-multiplier': invalid multiplier '0.5' (expected a number >= 1, e.g. 1.5)"},
		{KeyExpMultiplier, "NaN", "'restart-strategy.exponential-delay.backoff-multiplier': invalid multiplier 'NaN' (expected a number >= 1, e.g. 1.5)"},
		{KeyExpResetThreshold, "0", "'restart-strategy.exponential-delay.reset-backoff-threshold': duration '0' must be positive " + dur},
		{KeyExpJitter, "1.5", "'restart-strategy.exponential-delay.jitter-factor': invalid jitter factor '1.5' (expected a number between 0 and 1, e.g. 0.1)"},
		{KeyExpJitter, "-0.1", "'restart-strategy.exponential-delay.jitter-factor': invalid jitter factor '-0.1' (expected a number between 0 and 1, e.g. 0.1)"},
		{KeyExpAttemptsBeforeRs, "0", "'restart-strategy.exponential-delay.attempts-before-reset-backoff': invalid value '0' (expected a whole number >= 1)"},
	}
	for _, tc := range cases {
		for name, err := range map[string]error{
			"Validate": Validate(tc.key, tc.value),
			"Parse":    func() error { _, err := Parse(map[string]string{tc.key: tc.value}, DefaultConfig()); return err }(),
		} {
			if err == nil || err.Error() != tc.want {
				t.Errorf("%s(%q, %q) = %v\nwant %s", name, tc.key, tc.value, err, tc.want)
				continue
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Value != tc.value {
				t.Errorf("%s(%q, %q): error %#v is not a *ConfigError with the value", name, tc.key, tc.value, err)
			}
		}
		if !IsKey(tc.key) {
			t.Errorf("IsKey(%q) = false", tc.key)
		}
	}
}

func TestParseKeepsBaseOnError(t *testing.T) {
	base := DefaultConfig()
	got, err := Parse(map[string]string{KeyMaxConcurrent: "0", KeyInterval: "soon", KeyTimeout: "1 min"}, base)
	if err == nil {
		t.Fatal("no error")
	}
	want := "'execution.checkpointing.interval': invalid duration 'soon' (expected e.g. '10 s', '500 ms', '1 min')\n" +
		"'execution.checkpointing.max-concurrent-checkpoints': invalid value '0' (expected a whole number >= 1)"
	if err.Error() != want {
		t.Errorf("error = %q\nwant %q", err, want)
	}
	if !reflect.DeepEqual(got, base) {
		t.Errorf("Parse returned %+v on error; want the base", got)
	}
}

func TestParseCrossField(t *testing.T) {
	_, err := Parse(map[string]string{KeyExpMaxBackoff: "500 ms"}, DefaultConfig())
	want := "'restart-strategy.exponential-delay.max-backoff': max-backoff '500 ms' is below initial-backoff '1 s'"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v; want %s", err, want)
	}
	if _, err := Parse(map[string]string{KeyExpMaxBackoff: "500 ms", KeyExpInitialBackoff: "100 ms"}, DefaultConfig()); err != nil {
		t.Errorf("consistent backoffs rejected: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Timeout = 0
	c.MaxConcurrent = 0
	c.TolerableFailed = -1
	c.NumRetained = 0
	c.MinPause = -time.Second
	c.Restart.BackoffMultiplier = 0.5
	c.Restart.JitterFactor = 2
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{KeyTimeout, KeyMaxConcurrent, KeyTolerableFailed, KeyNumRetained, KeyMinPause, KeyExpMultiplier, KeyExpJitter} {
		if !strings.Contains(err.Error(), "'"+key+"'") {
			t.Errorf("Validate error does not name %s:\n%v", key, err)
		}
	}
}

func TestUnknownKeys(t *testing.T) {
	err := Validate("execution.checkpointing.intervall", "10 s")
	want := "'execution.checkpointing.intervall': unknown key (valid keys: " +
		"execution.checkpointing.externalized-checkpoint-retention, execution.checkpointing.interval, " +
		"execution.checkpointing.max-concurrent-checkpoints, execution.checkpointing.min-pause, " +
		"execution.checkpointing.mode, execution.checkpointing.num-retained, execution.checkpointing.timeout, " +
		"execution.checkpointing.tolerable-failed-checkpoints)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	err = Validate("restart-strategy.fixed-delay.attempt", "3")
	if err == nil || !strings.Contains(err.Error(), "unknown key (valid keys: restart-strategy.exponential-delay.attempts-before-reset-backoff,") ||
		!strings.Contains(err.Error(), "restart-strategy.fixed-delay.attempts,") || strings.Contains(err.Error(), "execution.") {
		t.Errorf("error = %v", err)
	}
	if _, err := Parse(map[string]string{"state.checkpoints.dirr": "/x"}, DefaultConfig()); err == nil ||
		!strings.Contains(err.Error(), "valid keys: state.checkpoints.dir") {
		t.Errorf("Parse of an unknown owned key: %v", err)
	}
	for key, want := range map[string]bool{
		KeyInterval: true, KeyDir: true, KeyExpJitter: true, "state.checkpoints.num-retained": true,
		"execution.checkpointing.dir": true, "execution.checkpointing.unaligned": true, "restart-strategy.x": true,
		"parallelism.default": false, "execution.state-recovery.path": false, "state.backend": false, "execution.runtime-mode": false,
	} {
		if IsKey(key) != want {
			t.Errorf("IsKey(%q) = %v", key, !want)
		}
	}
}
