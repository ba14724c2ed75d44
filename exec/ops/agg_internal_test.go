package ops

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

func TestDivRound(t *testing.T) {
	for _, c := range []struct {
		sum, n int64
		shift  int
		want   int64
		ok     bool
	}{
		{5, 2, 0, 3, true},    // 2.5 → 3
		{-5, 2, 0, -3, true},  // -2.5 → -3: half away from zero
		{-4, 3, 0, -1, true},  // -1.33 → -1
		{1, 3, 4, 3333, true}, // 0.33333 → 0.3333
		{2, 3, 4, 6667, true}, // 0.66667 → 0.6667
		{-2, 3, 4, -6667, true},
		{1, 32, 4, 313, true}, // 0.03125 → 0.0313
		{-1, 32, 4, -313, true},
		{math.MaxInt64, 1, 0, math.MaxInt64, true},
		{math.MinInt64, 1, 0, math.MinInt64, true},
		{math.MinInt64, 2, 0, math.MinInt64 / 2, true},
		{math.MaxInt64, 1, 4, 0, false},                // needs more than 64 bits
		{math.MaxInt64, 10000, 4, math.MaxInt64, true}, // 128-bit intermediate
		{15, 1, -1, 2, true},                           // 1.5 → 2
		{-15, 1, -1, -2, true},                         // rescale down
		{math.MaxInt64, math.MaxInt64, -18, 0, true},   // divisor beyond 64 bits
		{1, 0, 0, 0, false},                            // no rows
		{1, 1, 19, 0, false},                           // shift out of range
		{999999999999999999, 3, 0, 333333333333333333, true},
	} {
		got, ok := divRound(c.sum, c.n, c.shift)
		if got != c.want || ok != c.ok {
			t.Errorf("divRound(%d, %d, %d) = %d, %v; want %d, %v", c.sum, c.n, c.shift, got, ok, c.want, c.ok)
		}
	}
}

func TestValueSet(t *testing.T) {
	s := newValueSet(types.ClassF64)
	s.addFloat(2, 1)
	s.addFloat(math.Copysign(0, -1), 1) // -0 is +0
	s.addFloat(0, 1)
	s.addFloat(math.NaN(), 1)
	s.addFloat(-1, 1)
	if want := []float64{-1, 0, 2}; !reflect.DeepEqual(s.floats[:3], want) || !math.IsNaN(s.floats[3]) {
		t.Fatalf("floats %v", s.floats)
	}
	if s.counts[1] != 2 {
		t.Fatalf("counts %v", s.counts)
	}
	// Retractions before additions (inconsistent input) leave negative
	// counts that a later addition balances; prune drops the rest.
	si := newValueSet(types.ClassI64)
	if b, a := si.addInt(5, -1); b != 0 || a != -1 || si.negs != 1 {
		t.Fatalf("before %d after %d negs %d", b, a, si.negs)
	}
	si.addInt(7, -1)
	si.addInt(6, 1)
	if b, a := si.addInt(5, 1); b != -1 || a != 0 || si.len() != 2 || si.negs != 1 {
		t.Fatalf("before %d after %d len %d negs %d", b, a, si.len(), si.negs)
	}
	si.prune()
	if !reflect.DeepEqual(si.ints, []int64{6}) || !reflect.DeepEqual(si.counts, []int64{1}) || si.negs != 0 {
		t.Fatalf("after prune %v %v %d", si.ints, si.counts, si.negs)
	}
	ss := newValueSet(types.ClassStr)
	buf := []byte("abc")
	ss.addStr(string(buf[:2]), 1)
	ss.addStr("B", 1)
	if ss.value(0).s != "B" || ss.value(1).s != "ab" {
		t.Fatalf("strs %v", ss.strs)
	}
	ss.reset()
	if ss.len() != 0 || len(ss.strs) != 0 {
		t.Fatal("reset")
	}
}

// codecSpec has one call of every mode and argument class.
func codecSpec() []callPlan {
	in := []types.Type{types.BigInt, types.Double, types.String, types.Decimal(10, 2)}
	var calls []callPlan
	add := func(c AggCall, insertOnly bool) {
		if c.Filter == 0 {
			c.Filter = -1
		}
		p, err := compileCall(c, in, insertOnly)
		if err != nil {
			panic(err)
		}
		calls = append(calls, p)
	}
	add(AggCall{Kind: AggCountStar, Arg: -1, OutType: types.BigInt}, false)
	add(AggCall{Kind: AggSum, Arg: 0, OutType: types.BigInt}, false)
	add(AggCall{Kind: AggAvg, Arg: 1, OutType: types.Double}, false)
	add(AggCall{Kind: AggMin, Arg: 2, OutType: types.String}, false)
	add(AggCall{Kind: AggMax, Arg: 1, OutType: types.Double}, false)
	add(AggCall{Kind: AggSum, Arg: 3, Distinct: true, OutType: types.Decimal(18, 2)}, false)
	add(AggCall{Kind: AggSum, Arg: 1, Distinct: true, OutType: types.Double}, false)
	add(AggCall{Kind: AggMax, Arg: 2, OutType: types.String}, true)
	add(AggCall{Kind: AggMin, Arg: 1, OutType: types.Double}, true)
	add(AggCall{Kind: AggMin, Arg: 0, OutType: types.BigInt}, true)
	return calls
}

func TestAccCodecRoundTrip(t *testing.T) {
	calls := codecSpec()
	codec := accCodec{calls: calls}
	r := newAccRecord(len(calls))
	r.rows = 42
	v := r.vals
	v[0] = accVal{n: 40}
	v[1] = accVal{n: 3, i: -1 << 40}
	v[2] = accVal{n: 2, f: 2.5}
	v[3].set = newValueSet(types.ClassStr)
	v[3].set.addStr("", 2)
	v[3].set.addStr("b\x00c", 1)
	v[4].set = newValueSet(types.ClassF64)
	v[4].set.addFloat(1.5, 3)
	v[4].set.addFloat(-2, 1)
	v[5] = accVal{n: 2, i: 301, set: newValueSet(types.ClassI64)}
	v[5].set.addInt(1, 1)
	v[5].set.addInt(300, 4)
	v[6] = accVal{n: 0, set: newValueSet(types.ClassF64)}
	v[7] = accVal{n: 5, s: "zz"}
	v[8] = accVal{n: 1, f: math.Inf(-1)}
	v[9] = accVal{n: 9, i: math.MinInt64}
	enc := codec.Encode(nil, r)
	dec, err := codec.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if dec.rows != r.rows || len(dec.vals) != len(r.vals) {
		t.Fatalf("decoded %+v", dec)
	}
	for c := range r.vals {
		a, b := dec.vals[c], r.vals[c]
		if a.n != b.n || a.i != b.i || a.f != b.f || a.s != b.s || !sameSet(a.set, b.set) {
			t.Errorf("call %d: decoded %+v (set %+v), want %+v (set %+v)", c, a, a.set, b, b.set)
		}
	}
	// Truncated or corrupted input fails with state.ErrCorrupt, never
	// panics.
	for cut := range len(enc) {
		if _, err := codec.Decode(enc[:cut]); !errors.Is(err, state.ErrCorrupt) {
			t.Fatalf("cut at %d: err = %v", cut, err)
		}
	}
	for i := range enc {
		bad := append([]byte(nil), enc...)
		bad[i] ^= 0xFF
		_, _ = codec.Decode(bad)
	}
	if _, err := codec.Decode(append(enc, 0)); !errors.Is(err, state.ErrCorrupt) {
		t.Fatalf("trailing byte: err = %v", err)
	}
	if _, err := (accCodec{calls: calls[:3]}).Decode(enc); !errors.Is(err, state.ErrCorrupt) {
		t.Fatalf("other plan: err = %v", err)
	}
}

func TestCompileCallModes(t *testing.T) {
	in := []types.Type{types.BigInt, types.Double, types.String}
	for _, c := range []struct {
		call       AggCall
		insertOnly bool
		mode       accMode
		fastSum    bool
	}{
		{AggCall{Kind: AggCount, Arg: 2, Filter: -1, OutType: types.BigInt}, false, modeCount, false},
		{AggCall{Kind: AggSum, Arg: 0, Filter: -1, OutType: types.BigInt}, false, modeSumI, true},
		{AggCall{Kind: AggSum, Arg: 0, Filter: -1, OutType: types.Decimal(18, 0)}, false, modeSumI, false},
		{AggCall{Kind: AggAvg, Arg: 1, Filter: -1, OutType: types.Double}, false, modeSumF, false},
		{AggCall{Kind: AggMin, Arg: 2, Filter: -1, OutType: types.String}, false, modeSet, false},
		{AggCall{Kind: AggMin, Arg: 2, Filter: -1, OutType: types.String}, true, modeExtremum, false},
		{AggCall{Kind: AggMax, Arg: 2, Distinct: true, Filter: -1, OutType: types.String}, true, modeExtremum, false},
		{AggCall{Kind: AggCount, Arg: 2, Distinct: true, Filter: -1, OutType: types.BigInt}, true, modeSet, false},
	} {
		p, err := compileCall(c.call, in, c.insertOnly)
		if err != nil || p.mode != c.mode || p.fastSum != c.fastSum {
			t.Errorf("%+v: mode %d fast %v err %v", c.call, p.mode, p.fastSum, err)
		}
	}
}

func sameSet(a, b *valueSet) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.class != b.class || a.len() != b.len() || a.negs != b.negs {
		return false
	}
	for k := range a.counts {
		va, vb := a.value(k), b.value(k)
		if a.counts[k] != b.counts[k] || !va.equal(&vb) {
			return false
		}
	}
	return true
}

// TestMapStoreCollisions stores keys that share a hash.
func TestMapStoreCollisions(t *testing.T) {
	s := newMapStore()
	const h = 42
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("a-key-longer-than-the-inline-buffer"), nil}
	recs := make([]*accRecord, len(keys))
	for i, k := range keys {
		if r, _ := s.get(0, h, k); r != nil {
			t.Fatalf("key %q found before put", k)
		}
		recs[i] = s.create(1)
		recs[i].rows = int64(i + 1)
		if err := s.put(0, h, k, recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	check := func(live ...int) {
		t.Helper()
		ents := make([]aggEntry, len(keys))
		var buf []byte
		for i, k := range keys {
			ents[i] = aggEntry{hash: h, keyStart: int32(len(buf))}
			buf = append(buf, k...)
			ents[i].keyEnd = int32(len(buf))
		}
		if err := s.getAll(ents, buf); err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			want := (*accRecord)(nil)
			if slices.Contains(live, i) {
				want = recs[i]
			}
			if r, _ := s.get(0, h, k); r != want || ents[i].rec != want {
				t.Fatalf("key %q: get %p, getAll %p, want %p", k, r, ents[i].rec, want)
			}
		}
	}
	check(0, 1, 2, 3)
	if err := s.del(0, h, keys[0], recs[0]); err != nil { // the one indexed by hash
		t.Fatal(err)
	}
	check(1, 2, 3)
	if err := s.del(0, h, keys[2], recs[2]); err != nil {
		t.Fatal(err)
	}
	check(1, 3)
	// A new key takes the free hash slot; a recycled record is reused.
	r := s.create(1)
	if r != recs[2] || r.rows != 0 || r.stored {
		t.Fatalf("create after del: %p %+v", r, r)
	}
	recs[0] = r
	if err := s.put(0, h, keys[0], r); err != nil {
		t.Fatal(err)
	}
	check(0, 1, 3)
}
