package checkpoint

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Mode is the checkpointing guarantee (execution.checkpointing.mode).
type Mode uint8

// Checkpointing modes.
const (
	// ExactlyOnce aligns barriers: an operator with several inputs stops
	// reading an input once barrier n arrived on it until it arrived on all.
	ExactlyOnce Mode = iota
	// AtLeastOnce does not block inputs; records may be replayed after a
	// restore.
	AtLeastOnce
)

func (m Mode) String() string {
	if m == AtLeastOnce {
		return "AT_LEAST_ONCE"
	}
	return "EXACTLY_ONCE"
}

// Retention says what happens to a job's checkpoints when the job is
// cancelled (execution.checkpointing.externalized-checkpoint-retention).
type Retention uint8

// Retention policies.
const (
	// DeleteOnCancellation deletes the checkpoints of a cancelled job; they
	// are kept when the job fails.
	DeleteOnCancellation Retention = iota
	// RetainOnCancellation keeps them, so the job can be started again
	// from its last checkpoint (execution.state-recovery.path).
	RetainOnCancellation
)

func (r Retention) String() string {
	if r == RetainOnCancellation {
		return "RETAIN_ON_CANCELLATION"
	}
	return "DELETE_ON_CANCELLATION"
}

// Restart strategy names, as RestartConfig.Type holds them after Parse.
const (
	RestartNone             = "none"
	RestartFixedDelay       = "fixed-delay"
	RestartFailureRate      = "failure-rate"
	RestartExponentialDelay = "exponential-delay"
)

// MinInterval is the smallest checkpoint interval and timeout accepted, as
// in Flink.
const MinInterval = 10 * time.Millisecond

// Config configures checkpointing and restarts of one job. DefaultConfig
// gives Sluice's defaults (stated beside each field); Parse applies
// configuration keys over a Config. The zero value is not valid: start from
// DefaultConfig.
type Config struct {
	// Interval between periodic checkpoints (execution.checkpointing.interval,
	// default 10 s; unlike Flink, checkpointing is on by default). 0
	// disables periodic checkpoints; otherwise at least MinInterval.
	Interval time.Duration
	// Mode (execution.checkpointing.mode, default ExactlyOnce).
	Mode Mode
	// Timeout after which a pending checkpoint is aborted
	// (execution.checkpointing.timeout, default 10 min, at least MinInterval).
	Timeout time.Duration
	// MinPause between the end of one checkpoint and the trigger of the next
	// periodic one (execution.checkpointing.min-pause, default 0). When
	// positive, periodic checkpoints never overlap.
	MinPause time.Duration
	// MaxConcurrent pending checkpoints
	// (execution.checkpointing.max-concurrent-checkpoints, default 1, >= 1).
	MaxConcurrent int
	// TolerableFailed consecutive checkpoint failures before the job fails
	// (execution.checkpointing.tolerable-failed-checkpoints, default 0, >= 0).
	TolerableFailed int
	// Retention of checkpoints on cancellation
	// (execution.checkpointing.externalized-checkpoint-retention, default
	// DeleteOnCancellation).
	Retention Retention
	// NumRetained completed checkpoints kept on disk
	// (execution.checkpointing.num-retained, default 1, >= 1).
	NumRetained int
	// Dir is the root directory of checkpoint metadata
	// (state.checkpoints.dir, default "": <state dir>/checkpoints, resolved
	// by the caller). A "file://" prefix is removed.
	Dir string
	// Restart is the restart strategy (restart-strategy.*). Its default
	// depends on Interval, as in Flink: exponential-delay when periodic
	// checkpointing is enabled, none when it is not. Parse applies that rule
	// unless restart-strategy.type was set (in its settings or, through an
	// earlier Parse, in its base).
	Restart RestartConfig

	restartTypeSet bool // restart-strategy.type was set explicitly
}

// RestartConfig configures the restart strategy (restart-strategy.*); see
// Restarter for the semantics.
type RestartConfig struct {
	// Type is one of RestartNone, RestartFixedDelay, RestartFailureRate,
	// RestartExponentialDelay (restart-strategy.type); default
	// exponential-delay (see Config.Restart). "" is accepted in a Config
	// built by hand and means the default for its Interval
	// (Config.RestartStrategy resolves it; NewRestarter treats it as none).
	Type string
	// Attempts before a fixed-delay strategy gives up
	// (restart-strategy.fixed-delay.attempts, default 1, >= 0).
	Attempts int
	// Delay between fixed-delay restarts
	// (restart-strategy.fixed-delay.delay, default 1 s).
	Delay time.Duration
	// MaxFailuresPerInterval tolerated by failure-rate
	// (restart-strategy.failure-rate.max-failures-per-interval, default 1, >= 1).
	MaxFailuresPerInterval int
	// FailureRateInterval over which failures are counted
	// (restart-strategy.failure-rate.failure-rate-interval, default 1 min, > 0).
	FailureRateInterval time.Duration
	// FailureRateDelay between failure-rate restarts
	// (restart-strategy.failure-rate.delay, default 1 s).
	FailureRateDelay time.Duration
	// InitialBackoff of exponential-delay
	// (restart-strategy.exponential-delay.initial-backoff, default 1 s, > 0).
	InitialBackoff time.Duration
	// MaxBackoff of exponential-delay
	// (restart-strategy.exponential-delay.max-backoff, default 1 min,
	// >= InitialBackoff).
	MaxBackoff time.Duration
	// BackoffMultiplier applied after each failure
	// (restart-strategy.exponential-delay.backoff-multiplier, default 1.5, >= 1).
	BackoffMultiplier float64
	// ResetBackoffThreshold: a job that ran this long since its last restart
	// starts again from InitialBackoff
	// (restart-strategy.exponential-delay.reset-backoff-threshold, default 1 h, > 0).
	ResetBackoffThreshold time.Duration
	// JitterFactor: each delay is moved by up to ± JitterFactor × delay
	// (restart-strategy.exponential-delay.jitter-factor, default 0.1, in [0, 1]).
	JitterFactor float64
	// AttemptsBeforeReset: restarts allowed between two backoff resets
	// before exponential-delay gives up
	// (restart-strategy.exponential-delay.attempts-before-reset-backoff,
	// default 0 = infinite, else >= 1).
	AttemptsBeforeReset int
}

// Configuration keys owned by this package.
const (
	KeyInterval            = "execution.checkpointing.interval"
	KeyMode                = "execution.checkpointing.mode"
	KeyTimeout             = "execution.checkpointing.timeout"
	KeyMinPause            = "execution.checkpointing.min-pause"
	KeyMaxConcurrent       = "execution.checkpointing.max-concurrent-checkpoints"
	KeyTolerableFailed     = "execution.checkpointing.tolerable-failed-checkpoints"
	KeyRetention           = "execution.checkpointing.externalized-checkpoint-retention"
	KeyNumRetained         = "execution.checkpointing.num-retained"
	KeyDir                 = "state.checkpoints.dir"
	KeyRestartType         = "restart-strategy.type"
	KeyFixedAttempts       = "restart-strategy.fixed-delay.attempts"
	KeyFixedDelay          = "restart-strategy.fixed-delay.delay"
	KeyRateMaxFailures     = "restart-strategy.failure-rate.max-failures-per-interval"
	KeyRateInterval        = "restart-strategy.failure-rate.failure-rate-interval"
	KeyRateDelay           = "restart-strategy.failure-rate.delay"
	KeyExpInitialBackoff   = "restart-strategy.exponential-delay.initial-backoff"
	KeyExpMaxBackoff       = "restart-strategy.exponential-delay.max-backoff"
	KeyExpMultiplier       = "restart-strategy.exponential-delay.backoff-multiplier"
	KeyExpResetThreshold   = "restart-strategy.exponential-delay.reset-backoff-threshold"
	KeyExpJitter           = "restart-strategy.exponential-delay.jitter-factor"
	KeyExpAttemptsBeforeRs = "restart-strategy.exponential-delay.attempts-before-reset-backoff"
)

// aliases maps Flink's older (deprecated) key names to the current ones.
// When both are set, the current name wins.
var aliases = map[string]string{
	"state.checkpoints.num-retained": KeyNumRetained,
	"execution.checkpointing.dir":    KeyDir,
}

// ownedPrefixes are the key prefixes this package owns: an unknown key with
// one of them is an error rather than somebody else's key.
var ownedPrefixes = []string{"execution.checkpointing.", "restart-strategy.", "state.checkpoints."}

// setter applies one value to a Config; it returns the message of a
// ConfigError (without the key) or "".
type setter func(c *Config, v string) string

var setters = map[string]setter{
	KeyInterval: func(c *Config, v string) string {
		d, msg := parseDur(v)
		if msg == "" && d != 0 && d < MinInterval {
			msg = fmt.Sprintf("interval '%s' is below the minimum of %s (use 0 to disable periodic checkpoints)", v, FormatDuration(MinInterval))
		}
		c.Interval = d
		return msg
	},
	KeyMode: func(c *Config, v string) string {
		switch normEnum(v) {
		case "EXACTLY_ONCE":
			c.Mode = ExactlyOnce
		case "AT_LEAST_ONCE":
			c.Mode = AtLeastOnce
		default:
			return fmt.Sprintf("invalid mode '%s' (expected EXACTLY_ONCE or AT_LEAST_ONCE)", v)
		}
		return ""
	},
	KeyTimeout: func(c *Config, v string) string {
		d, msg := parseDur(v)
		if msg == "" && d < MinInterval {
			msg = fmt.Sprintf("timeout '%s' is below the minimum of %s", v, FormatDuration(MinInterval))
		}
		c.Timeout = d
		return msg
	},
	KeyMinPause: func(c *Config, v string) string {
		d, msg := parseDur(v)
		c.MinPause = d
		return msg
	},
	KeyMaxConcurrent: func(c *Config, v string) string {
		n, msg := parseInt(v, 1)
		c.MaxConcurrent = n
		return msg
	},
	KeyTolerableFailed: func(c *Config, v string) string {
		n, msg := parseInt(v, 0)
		c.TolerableFailed = n
		return msg
	},
	KeyRetention: func(c *Config, v string) string {
		switch normEnum(v) {
		case "DELETE_ON_CANCELLATION":
			c.Retention = DeleteOnCancellation
		case "RETAIN_ON_CANCELLATION":
			c.Retention = RetainOnCancellation
		default:
			return fmt.Sprintf("invalid retention '%s' (expected RETAIN_ON_CANCELLATION or DELETE_ON_CANCELLATION)", v)
		}
		return ""
	},
	KeyNumRetained: func(c *Config, v string) string {
		n, msg := parseInt(v, 1)
		c.NumRetained = n
		return msg
	},
	KeyDir: func(c *Config, v string) string {
		p := strings.TrimSpace(v)
		if rest, ok := strings.CutPrefix(p, "file://"); ok {
			p = rest
		} else if i := strings.Index(p, "://"); i > 0 {
			return fmt.Sprintf("unsupported file system '%s' in '%s' (expected a local path, optionally with file://)", p[:i], v)
		}
		c.Dir = p
		return ""
	},
	KeyRestartType: func(c *Config, v string) string {
		t, ok := restartTypes[strings.ToLower(strings.TrimSpace(v))]
		if !ok {
			return fmt.Sprintf("invalid restart strategy '%s' (expected none, fixed-delay, failure-rate or exponential-delay)", v)
		}
		c.Restart.Type = t
		c.restartTypeSet = true
		return ""
	},
	KeyFixedAttempts: func(c *Config, v string) string {
		n, msg := parseInt(v, 0)
		c.Restart.Attempts = n
		return msg
	},
	KeyFixedDelay: func(c *Config, v string) string {
		d, msg := parseDur(v)
		c.Restart.Delay = d
		return msg
	},
	KeyRateMaxFailures: func(c *Config, v string) string {
		n, msg := parseInt(v, 1)
		c.Restart.MaxFailuresPerInterval = n
		return msg
	},
	KeyRateInterval: func(c *Config, v string) string {
		d, msg := parsePositiveDur(v)
		c.Restart.FailureRateInterval = d
		return msg
	},
	KeyRateDelay: func(c *Config, v string) string {
		d, msg := parseDur(v)
		c.Restart.FailureRateDelay = d
		return msg
	},
	KeyExpInitialBackoff: func(c *Config, v string) string {
		d, msg := parsePositiveDur(v)
		c.Restart.InitialBackoff = d
		return msg
	},
	KeyExpMaxBackoff: func(c *Config, v string) string {
		d, msg := parsePositiveDur(v)
		c.Restart.MaxBackoff = d
		return msg
	},
	KeyExpMultiplier: func(c *Config, v string) string {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 1 {
			return fmt.Sprintf("invalid multiplier '%s' (expected a number >= 1, e.g. 1.5)", v)
		}
		c.Restart.BackoffMultiplier = f
		return ""
	},
	KeyExpResetThreshold: func(c *Config, v string) string {
		d, msg := parsePositiveDur(v)
		c.Restart.ResetBackoffThreshold = d
		return msg
	},
	KeyExpJitter: func(c *Config, v string) string {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return fmt.Sprintf("invalid jitter factor '%s' (expected a number between 0 and 1, e.g. 0.1)", v)
		}
		c.Restart.JitterFactor = f
		return ""
	},
	KeyExpAttemptsBeforeRs: func(c *Config, v string) string {
		n, msg := parseInt(v, 1)
		c.Restart.AttemptsBeforeReset = n
		return msg
	},
}

// restartTypes maps every accepted spelling of restart-strategy.type (lower
// case) to its canonical name.
var restartTypes = map[string]string{
	"none": RestartNone, "off": RestartNone, "disable": RestartNone,
	"fixed-delay": RestartFixedDelay, "fixeddelay": RestartFixedDelay,
	"failure-rate": RestartFailureRate, "failurerate": RestartFailureRate,
	"exponential-delay": RestartExponentialDelay, "exponentialdelay": RestartExponentialDelay,
}

func parseDur(v string) (time.Duration, string) {
	d, err := ParseDuration(v)
	if err != nil {
		return 0, err.Error()
	}
	return d, ""
}

func parsePositiveDur(v string) (time.Duration, string) {
	d, msg := parseDur(v)
	if msg == "" && d == 0 {
		msg = fmt.Sprintf("duration '%s' must be positive (expected e.g. '10 s', '500 ms', '1 min')", v)
	}
	return d, msg
}

func parseInt(v string, lowest int) (int, string) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lowest {
		return 0, fmt.Sprintf("invalid value '%s' (expected a whole number >= %d)", v, lowest)
	}
	return n, ""
}

// normEnum upper-cases an enum value and accepts '-' for '_'.
func normEnum(v string) string {
	return strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(v)), "-", "_")
}

// DefaultConfig returns Sluice's defaults (see the fields of Config and
// RestartConfig).
func DefaultConfig() Config {
	return Config{
		Interval:        10 * time.Second,
		Mode:            ExactlyOnce,
		Timeout:         10 * time.Minute,
		MaxConcurrent:   1,
		TolerableFailed: 0,
		Retention:       DeleteOnCancellation,
		NumRetained:     1,
		Restart: RestartConfig{
			Type:                   RestartExponentialDelay,
			Attempts:               1,
			Delay:                  time.Second,
			MaxFailuresPerInterval: 1,
			FailureRateInterval:    time.Minute,
			FailureRateDelay:       time.Second,
			InitialBackoff:         time.Second,
			MaxBackoff:             time.Minute,
			BackoffMultiplier:      1.5,
			ResetBackoffThreshold:  time.Hour,
			JitterFactor:           0.1,
		},
	}
}

// RestartStrategy returns c.Restart with Type resolved: an empty Type is
// exponential-delay when periodic checkpointing is enabled and none when it
// is not.
func (c Config) RestartStrategy() RestartConfig {
	r := c.Restart
	if r.Type == "" {
		r.Type = RestartNone
		if c.Interval > 0 {
			r.Type = RestartExponentialDelay
		}
	}
	return r
}

// IsKey reports whether key belongs to this package: one of the Key*
// constants, a deprecated Flink alias of one, or any other key under
// "execution.checkpointing.", "restart-strategy." or "state.checkpoints."
// (which Validate rejects, listing the valid keys). A SET of such a key
// should be checked with Validate.
func IsKey(key string) bool {
	if _, ok := setters[key]; ok {
		return true
	}
	if _, ok := aliases[key]; ok {
		return true
	}
	for _, p := range ownedPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// Validate checks one key and value as SET would store them. It returns a
// *ConfigError for a bad value or for an unknown key (whose message lists
// the valid keys with the same prefix). Checks that involve two keys (e.g.
// max-backoff >= initial-backoff) are left to Parse.
func Validate(key, value string) error {
	c := DefaultConfig()
	return apply(&c, key, value)
}

// apply sets one key on c.
func apply(c *Config, key, value string) error {
	if canon, ok := aliases[key]; ok {
		key = canon
	}
	set, ok := setters[key]
	if !ok {
		return &ConfigError{Key: key, Value: value, Msg: unknownKeyMsg(key)}
	}
	if msg := set(c, value); msg != "" {
		return &ConfigError{Key: key, Value: value, Msg: msg}
	}
	return nil
}

func unknownKeyMsg(key string) string {
	prefix := ""
	for _, p := range ownedPrefixes {
		if strings.HasPrefix(key, p) {
			prefix = p
		}
	}
	var valid []string
	for k := range setters {
		if strings.HasPrefix(k, prefix) {
			valid = append(valid, k)
		}
	}
	sort.Strings(valid)
	return "unknown key (valid keys: " + strings.Join(valid, ", ") + ")"
}

// Parse applies every key of settings that IsKey recognises over base and
// returns the result; other keys are ignored. Unless restart-strategy.type
// was set, the restart strategy follows the resulting Interval (see
// Config.Restart). Deprecated aliases are applied
// before current names, so the current name wins when both are set. It
// returns every bad key or value (a *ConfigError each, joined with
// errors.Join, in key order) and then the cross-field checks of
// Config.Validate.
func Parse(settings map[string]string, base Config) (Config, error) {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		if IsKey(k) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		_, ai := aliases[keys[i]]
		_, aj := aliases[keys[j]]
		if ai != aj {
			return ai
		}
		return keys[i] < keys[j]
	})
	c := base
	var errs []error
	for _, k := range keys {
		if err := apply(&c, k, settings[k]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return base, errors.Join(errs...)
	}
	if !c.restartTypeSet {
		c.Restart.Type = ""
		c.Restart = c.RestartStrategy()
	}
	if err := c.Validate(); err != nil {
		return base, err
	}
	return c, nil
}

// Validate checks every field of c, including the checks that involve two
// fields; errors are *ConfigError naming the key of the offending field.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, value any, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Value: fmt.Sprint(value), Msg: fmt.Sprintf(format, args...)})
	}
	dur := FormatDuration
	if c.Interval < 0 || (c.Interval > 0 && c.Interval < MinInterval) {
		bad(KeyInterval, dur(c.Interval), "interval '%s' must be 0 (disabled) or at least %s", dur(c.Interval), dur(MinInterval))
	}
	if c.Mode > AtLeastOnce {
		bad(KeyMode, c.Mode, "invalid mode %d", c.Mode)
	}
	if c.Timeout < MinInterval {
		bad(KeyTimeout, dur(c.Timeout), "timeout '%s' is below the minimum of %s", dur(c.Timeout), dur(MinInterval))
	}
	if c.MinPause < 0 {
		bad(KeyMinPause, dur(c.MinPause), "negative duration '%s'", dur(c.MinPause))
	}
	if c.MaxConcurrent < 1 {
		bad(KeyMaxConcurrent, c.MaxConcurrent, "invalid value '%d' (expected a whole number >= 1)", c.MaxConcurrent)
	}
	if c.TolerableFailed < 0 {
		bad(KeyTolerableFailed, c.TolerableFailed, "invalid value '%d' (expected a whole number >= 0)", c.TolerableFailed)
	}
	if c.Retention > RetainOnCancellation {
		bad(KeyRetention, c.Retention, "invalid retention %d", c.Retention)
	}
	if c.NumRetained < 1 {
		bad(KeyNumRetained, c.NumRetained, "invalid value '%d' (expected a whole number >= 1)", c.NumRetained)
	}
	r := c.Restart
	switch r.Type {
	case "", RestartNone, RestartFixedDelay, RestartFailureRate, RestartExponentialDelay:
	default:
		bad(KeyRestartType, r.Type, "invalid restart strategy '%s' (expected none, fixed-delay, failure-rate or exponential-delay)", r.Type)
	}
	if r.Attempts < 0 {
		bad(KeyFixedAttempts, r.Attempts, "invalid value '%d' (expected a whole number >= 0)", r.Attempts)
	}
	if r.Delay < 0 {
		bad(KeyFixedDelay, dur(r.Delay), "negative duration '%s'", dur(r.Delay))
	}
	if r.MaxFailuresPerInterval < 1 {
		bad(KeyRateMaxFailures, r.MaxFailuresPerInterval, "invalid value '%d' (expected a whole number >= 1)", r.MaxFailuresPerInterval)
	}
	if r.FailureRateInterval <= 0 {
		bad(KeyRateInterval, dur(r.FailureRateInterval), "duration '%s' must be positive", dur(r.FailureRateInterval))
	}
	if r.FailureRateDelay < 0 {
		bad(KeyRateDelay, dur(r.FailureRateDelay), "negative duration '%s'", dur(r.FailureRateDelay))
	}
	if r.InitialBackoff <= 0 {
		bad(KeyExpInitialBackoff, dur(r.InitialBackoff), "duration '%s' must be positive", dur(r.InitialBackoff))
	}
	if r.MaxBackoff < r.InitialBackoff {
		bad(KeyExpMaxBackoff, dur(r.MaxBackoff), "max-backoff '%s' is below initial-backoff '%s'", dur(r.MaxBackoff), dur(r.InitialBackoff))
	}
	if r.BackoffMultiplier < 1 || math.IsNaN(r.BackoffMultiplier) || math.IsInf(r.BackoffMultiplier, 0) {
		bad(KeyExpMultiplier, r.BackoffMultiplier, "invalid multiplier '%g' (expected a number >= 1, e.g. 1.5)", r.BackoffMultiplier)
	}
	if r.ResetBackoffThreshold <= 0 {
		bad(KeyExpResetThreshold, dur(r.ResetBackoffThreshold), "duration '%s' must be positive", dur(r.ResetBackoffThreshold))
	}
	if !(r.JitterFactor >= 0 && r.JitterFactor <= 1) {
		bad(KeyExpJitter, r.JitterFactor, "invalid jitter factor '%g' (expected a number between 0 and 1, e.g. 0.1)", r.JitterFactor)
	}
	if r.AttemptsBeforeReset < 0 {
		bad(KeyExpAttemptsBeforeRs, r.AttemptsBeforeReset, "invalid value '%d' (expected a whole number >= 1, or 0 for infinite)", r.AttemptsBeforeReset)
	}
	return errors.Join(errs...)
}
