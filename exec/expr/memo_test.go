package expr

import (
	"fmt"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/sluicesql/sluice/exec/types"
)

// memoInput draws test strings: mostly from a pool of repeated values
// (URLs with and without a channel_id, empty strings, strings longer than
// memoMaxKey), some never seen before, some NULL. distinct makes every
// string new.
type memoInput struct {
	rng      *rand.Rand
	pool     []string
	distinct bool
	next     int
}

func newMemoInput(seed int64, poolSize int, distinct bool) *memoInput {
	in := &memoInput{rng: rand.New(rand.NewSource(seed)), distinct: distinct}
	for i := 0; i < poolSize; i++ {
		in.pool = append(in.pool, in.fresh())
	}
	return in
}

// fresh returns a string unlike the previous ones.
func (in *memoInput) fresh() string {
	in.next++
	k := in.next
	switch in.rng.Intn(10) {
	case 0:
		return ""
	case 1: // longer than anything cached
		return strings.Repeat("p", memoMaxKey) + "&channel_id=" + strconv.Itoa(k)
	case 2:
		return fmt.Sprintf("https://x.org/%d/item.htm?query=1", k)
	case 3:
		return fmt.Sprintf("channel_id=%d&b=%d", k, k%7)
	case 4:
		return fmt.Sprintf("a%db&channel_id=&x", k)
	default:
		return fmt.Sprintf("https://x.org/%d/item.htm?query=1&channel_id=%d", k%97, k)
	}
}

// value returns the next string, ok=false for NULL.
func (in *memoInput) value() (string, bool) {
	switch r := in.rng.Intn(100); {
	case r < 3:
		return "", false
	case in.distinct || r < 13:
		return in.fresh(), true
	default:
		// Skewed towards the start of the pool.
		i := in.rng.Intn(len(in.pool))
		return in.pool[in.rng.Intn(i+1)], true
	}
}

// batch fills a one-column STRING batch with n values. The strings view
// buf, which the next call overwrites, as a connector's reused buffer would.
func (in *memoInput) batch(b *types.Batch, buf *[]byte, n int) (vals []string, nulls []bool) {
	vals, nulls = make([]string, n), make([]bool, n)
	total := 0
	for i := range vals {
		s, ok := in.value()
		vals[i], nulls[i] = strings.Clone(s), !ok
		total += len(s)
	}
	if cap(*buf) < total {
		*buf = make([]byte, total)
	}
	b.Reset([]types.Type{types.String})
	v := &b.Cols[0]
	v.Resize(n)
	off := 0
	for i, s := range vals {
		if !nulls[i] {
			copy((*buf)[off:], s)
			if len(s) > 0 {
				v.Str[i] = unsafe.String(&(*buf)[off], len(s))
			}
			off += len(s)
			continue
		}
		v.SetNull(i)
	}
	for range vals {
		b.Ops = append(b.Ops, types.Insert)
	}
	return vals, nulls
}

func TestRegexpMemoMatchesDirect(t *testing.T) {
	type call struct {
		fn      string
		pattern string
		extra   []any // group, or replacement
	}
	calls := []call{
		{"REGEXP_EXTRACT", `(&|^)channel_id=([^&]*)`, []any{2}},
		{"REGEXP_EXTRACT", `channel_id=([0-9]*)(&b)?`, []any{0}},
		{"REGEXP_EXTRACT", `channel_id=([0-9]*)(&b)?`, []any{2}}, // may not take part
		{"REGEXP_EXTRACT", `channel_id=([0-9]*)(&b)?`, []any{3}}, // no such group
		{"REGEXP_EXTRACT", `[0-9]+`, nil},
		{"REGEXP_EXTRACT", `x*`, nil}, // empty matches
		{"REGEXP_REPLACE", `[0-9]+`, []any{"#"}},
		{"REGEXP_REPLACE", `channel_id=([0-9]*)`, []any{"c=$1$1"}},
		{"REGEXP", `item\.htm.*channel_id=[0-9]{3}`, nil},
		{"NOT REGEXP", `^https`, nil},
	}
	cases := []struct {
		name     string
		pool     int
		distinct bool
		batches  int
	}{
		{"repeated", 300, false, 40},
		{"evicting", 40000, false, 60},
		{"distinct", 10, true, 140}, // switches the memo off
	}
	for _, c := range calls {
		re := regexp.MustCompile(c.pattern)
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s %s %v %s", c.fn, c.pattern, c.extra, tc.name), func(t *testing.T) {
				if testing.Short() && tc.name != "repeated" {
					t.Skip("long: over 60 000 rows")
				}
				args := []any{Col(0, types.String, "s"), c.pattern}
				args = append(args, c.extra...)
				e := mustBuild(t, C(c.fn, args...))
				in := newMemoInput(int64(len(c.pattern)+tc.pool), tc.pool, tc.distinct)
				var b types.Batch
				var buf []byte
				var out types.Vector
				for k := 0; k < tc.batches; k++ {
					vals, nulls := in.batch(&b, &buf, types.DefaultBatchSize)
					if err := e.Eval(&b, &out); err != nil {
						t.Fatal(err)
					}
					for i, s := range vals {
						want, wantNull := directRegexp(re, c.fn, c.extra, s)
						if nulls[i] {
							want, wantNull = "", true
						}
						got := out.Get(i)
						if got.Null != wantNull || (!wantNull && got.String() != want) {
							t.Fatalf("batch %d row %d: %s on %q = %v, want %q (null %v)", k, i, e, s, got, want, wantNull)
						}
					}
				}
				if skip := memoSkip(e); skip < 0 || (skip > 0) != tc.distinct {
					t.Fatalf("memo skips %d lookups, want it off (> 0) only for distinct input", skip)
				}
			})
		}
	}
}

// directRegexp evaluates fn without a memo.
func directRegexp(re *regexp.Regexp, fn string, extra []any, s string) (string, bool) {
	switch fn {
	case "REGEXP_EXTRACT":
		group := 0
		if len(extra) == 1 {
			group = extra[0].(int)
		}
		m := re.FindStringSubmatchIndex(s)
		if m == nil || group > re.NumSubexp() || m[2*group] < 0 {
			return "", true
		}
		return s[m[2*group]:m[2*group+1]], false
	case "REGEXP_REPLACE":
		return re.ReplaceAllString(s, extra[0].(string)), false
	case "REGEXP":
		return strings.ToUpper(strconv.FormatBool(re.MatchString(s))), false
	default:
		return strings.ToUpper(strconv.FormatBool(!re.MatchString(s))), false
	}
}

// memoSkip returns the lookups e's memo will bypass, -1 when e has none.
func memoSkip(e Expr) int {
	switch x := e.(type) {
	case *regexpExpr:
		if x.memo != nil {
			return x.memo.skip
		}
	case *fnExpr:
		switch m := x.cache.(type) {
		case *memo[span]:
			return m.skip
		case *memo[replaced]:
			return m.skip
		}
	}
	return -1
}

func TestMemoAdaptive(t *testing.T) {
	m := newMemo[int]()
	lookup := func(k string) (int, bool, bool) {
		v, h, ok := m.get(k)
		if !ok {
			m.put(h, k, len(k))
		}
		return v, ok, h != 0
	}
	// Distinct keys: the hit rate is 0, so the memo turns off after one
	// window, dropping its table.
	for i := 0; i < memoWindow; i++ {
		if _, ok, _ := lookup("k" + strconv.Itoa(i)); ok {
			t.Fatalf("hit on a new key %d", i)
		}
	}
	if m.skip != memoFirstOff || m.tags != nil {
		t.Fatalf("after a poor window: skip %d, table %v; want off for %d, no table", m.skip, m.tags != nil, memoFirstOff)
	}
	for i := 0; i < memoFirstOff; i++ {
		if _, ok, cache := lookup("x"); ok || cache {
			t.Fatalf("lookup %d while off: hit %v, cacheable %v", i, ok, cache)
		}
	}
	// Back on, another poor window doubles the off period.
	for i := 0; i < memoWindow; i++ {
		lookup("j" + strconv.Itoa(i))
	}
	if m.skip != 2*memoFirstOff {
		t.Fatalf("after a second poor window: skip %d, want %d", m.skip, 2*memoFirstOff)
	}
	m.skip = 0
	// Repeated keys: it stays on and the off period resets.
	for i := 0; i < 3*memoWindow; i++ {
		k := "r" + strconv.Itoa(i%1000)
		v, ok, _ := lookup(k)
		if i >= 1000 && (!ok || v != len(k)) {
			t.Fatalf("lookup %d of %q = %d, %v; want a hit of %d", i, k, v, ok, len(k))
		}
	}
	if m.skip != 0 || m.offLen != memoFirstOff {
		t.Fatalf("with repeated keys: skip %d, next off %d", m.skip, m.offLen)
	}
}

func TestMemoBoundsAndCopies(t *testing.T) {
	m := newMemo[int]()
	// A key too long is never cached.
	long := strings.Repeat("z", memoMaxKey+1)
	if _, h, _ := m.get(long); h != 0 {
		t.Fatal("a key longer than memoMaxKey is cacheable")
	}
	// Keys are copied: changing the bytes a cached key came from changes
	// nothing.
	buf := []byte("mutable-key")
	k := unsafe.String(&buf[0], len(buf))
	_, h, _ := m.get(k)
	m.put(h, k, 7)
	copy(buf, "XXXXXXXXXXX")
	if v, _, ok := m.get("mutable-key"); !ok || v != 7 {
		t.Fatalf("get after the input buffer changed = %d, %v; want 7, true", v, ok)
	}
	// Many distinct keys: the table stops at its bound and what it holds
	// is right.
	for i := 0; i < 5*memoMaxSets*memoWays; i++ {
		k := "key-" + strconv.Itoa(i)
		v, h, ok := m.get(k)
		if ok && v != i {
			t.Fatalf("key %q = %d, want %d", k, v, i)
		}
		if !ok {
			m.put(h, k, i)
		}
		m.lookups = 0 // keep it on
	}
	if len(m.tags) != memoMaxSets*memoWays || len(m.slots) != len(m.tags) {
		t.Fatalf("table of %d entries, want %d", len(m.tags), memoMaxSets*memoWays)
	}
	hits := 0
	for i := 0; i < 5*memoMaxSets*memoWays; i++ {
		if v, _, ok := m.get("key-" + strconv.Itoa(i)); ok {
			if v != i {
				t.Fatalf("key %d = %d", i, v)
			}
			hits++
		}
		m.lookups = 0
	}
	if hits == 0 || hits > memoMaxSets*memoWays {
		t.Fatalf("%d keys cached, want 1..%d", hits, memoMaxSets*memoWays)
	}
}

// TestRegexpMemoClones evaluates clones concurrently (run with -race): each
// has its own memo.
func TestRegexpMemoClones(t *testing.T) {
	e := mustBuild(t, C("REGEXP_EXTRACT", Col(0, types.String, "s"), `channel_id=([0-9]+)`, 1))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range errs {
		c := e.Clone()
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := newMemoInput(int64(g), 200, false)
			re := regexp.MustCompile(`channel_id=([0-9]+)`)
			var b types.Batch
			var buf []byte
			var out types.Vector
			for k := 0; k < 20; k++ {
				vals, nulls := in.batch(&b, &buf, 256)
				if err := c.Eval(&b, &out); err != nil {
					errs[g] = err
					return
				}
				for i, s := range vals {
					want, wantNull := directRegexp(re, "REGEXP_EXTRACT", []any{1}, s)
					wantNull = wantNull || nulls[i]
					if got := out.Get(i); got.Null != wantNull || (!wantNull && got.S != want) {
						errs[g] = fmt.Errorf("clone %d: %q gave %v, want %q", g, s, got, want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkRegexpExtract runs REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)',
// 2) as Nexmark q21 does, over URLs drawn from 10 000 that repeat (half the
// rows from 4 hot ones without a channel_id), and over URLs never repeated.
func BenchmarkRegexpExtract(b *testing.B) {
	const n = types.DefaultBatchSize
	rng := rand.New(rand.NewSource(1))
	urls := make([]string, 10_004)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://www.nexmark.com/%s/%s/item.htm?query=1", word(rng), word(rng))
		if i >= 4 && i%10 != 0 {
			urls[i] += "&channel_id=" + strconv.Itoa(int(rng.Int31()))
		}
	}
	repeated := func() string {
		if rng.Intn(2) == 0 {
			return urls[rng.Intn(4)]
		}
		return urls[4+rng.Intn(len(urls)-4)]
	}
	next := 0
	distinct := func() string {
		next++
		return fmt.Sprintf("https://www.nexmark.com/%d/item.htm?query=1&channel_id=%d", next, next)
	}
	for _, c := range []struct {
		name string
		gen  func() string
	}{{"repeated", repeated}, {"distinct", distinct}} {
		b.Run(c.name, func(b *testing.B) {
			// Enough batches that the distinct ones do not repeat within
			// a memo window.
			batches := make([]*types.Batch, 256)
			for k := range batches {
				bt := &types.Batch{}
				bt.Reset([]types.Type{types.String})
				for i := 0; i < n; i++ {
					bt.AppendRow(types.Insert, []types.Datum{types.StringDatum(c.gen())})
				}
				batches[k] = bt
			}
			e := mustBuild(b, C("REGEXP_EXTRACT", Col(0, types.String, "url"), `(&|^)channel_id=([^&]*)`, 2))
			var out types.Vector
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := e.Eval(batches[i%len(batches)], &out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}

func word(rng *rand.Rand) string {
	b := make([]byte, 3+rng.Intn(6))
	for i := range b {
		b[i] = byte('a' + rng.Intn(26))
	}
	return string(b)
}

// TestRegexpExtractColumnGroup: with the group from a column the result
// does not depend on the string alone, so nothing may be memoized by it.
func TestRegexpExtractColumnGroup(t *testing.T) {
	e := mustBuild(t, C("REGEXP_EXTRACT", Col(0, types.String, "s"), `(a+)(b+)`, Col(1, types.Int, "g")))
	b := &types.Batch{}
	b.Reset([]types.Type{types.String, types.Int})
	for i := 0; i < 600; i++ {
		b.AppendRow(types.Insert, []types.Datum{types.StringDatum("xaabbby"), {Type: types.Int, I: int64(i % 3)}})
	}
	var out types.Vector
	if err := e.Eval(b, &out); err != nil {
		t.Fatal(err)
	}
	want := []string{"aabbb", "aa", "bbb"}
	for i := 0; i < b.Len(); i++ {
		if out.Str[i] != want[i%3] {
			t.Fatalf("row %d (group %d) = %q, want %q", i, i%3, out.Str[i], want[i%3])
		}
	}
}
