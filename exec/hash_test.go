package exec

import (
	"math"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

func TestHashColumnsMatchesHashDatums(t *testing.T) {
	ts := []types.Type{types.BigInt, types.Double, types.String}
	rows := [][]types.Datum{
		{types.IntDatum(1), types.DoubleDatum(1.5), types.StringDatum("a")},
		{types.IntDatum(-7), types.DoubleDatum(math.Copysign(0, -1)), types.StringDatum("a longer string, over 8 bytes")},
		{types.NullDatum(types.BigInt), types.DoubleDatum(math.NaN()), types.StringDatum("")},
		{types.IntDatum(3), types.NullDatum(types.Double), types.NullDatum(types.String)},
	}
	b := types.NewBatch(ts)
	for _, r := range rows {
		b.AppendRow(types.Insert, r)
	}
	for _, cols := range [][]int{{0}, {1}, {2}, {0, 1, 2}, {2, 0}} {
		hs := HashColumns(b, cols, nil)
		for i, r := range rows {
			key := make([]types.Datum, len(cols))
			for k, c := range cols {
				key[k] = r[c]
			}
			if want := HashDatums(key); hs[i] != want {
				t.Errorf("cols %v row %d: HashColumns %x, HashDatums %x", cols, i, hs[i], want)
			}
		}
	}
}

func TestHashEqualValues(t *testing.T) {
	eq := [][2]types.Datum{
		{types.DoubleDatum(0), types.DoubleDatum(math.Copysign(0, -1))},
		{types.DoubleDatum(math.NaN()), types.DoubleDatum(-math.NaN())},
		{types.NullDatum(types.BigInt), types.NullDatum(types.String)},
		{types.IntDatum(5), {Type: types.Int, I: 5}},
	}
	for _, p := range eq {
		if HashDatums(p[:1]) != HashDatums(p[1:]) {
			t.Errorf("%v and %v hash differently", p[0], p[1])
		}
	}
	if HashDatums([]types.Datum{types.StringDatum("ab")}) == HashDatums([]types.Datum{types.StringDatum("ba")}) {
		t.Error("ab and ba collide")
	}
	// Pinned values: key groups are persisted, the hash must never change.
	if got := HashDatums([]types.Datum{types.IntDatum(42), types.StringDatum("sluice")}); got != pinnedHash {
		t.Errorf("hash of (42, 'sluice') = %#x, want %#x: the key hash changed", got, uint64(pinnedHash))
	}
}

const pinnedHash = 0x55fe1139314b47e7

func TestHashSpread(t *testing.T) {
	counts := make([]int, 128)
	for i := range 128 * 100 {
		counts[KeyGroup(HashDatums([]types.Datum{types.IntDatum(int64(i))}), 128)]++
	}
	for kg, c := range counts {
		if c < 50 || c > 150 {
			t.Errorf("key group %d got %d of 12800 sequential keys", kg, c)
		}
	}
}

func TestKeyGroupRange(t *testing.T) {
	for _, maxP := range []int{1, 7, 128} {
		for p := 1; p <= maxP; p++ {
			next := 0
			for s := range p {
				first, last := KeyGroupRange(s, p, maxP)
				if first != next {
					t.Fatalf("maxP %d p %d subtask %d: range starts at %d, want %d", maxP, p, s, first, next)
				}
				for kg := first; kg <= last; kg++ {
					if got := SubtaskForKeyGroup(kg, p, maxP); got != s {
						t.Fatalf("maxP %d p %d: key group %d owned by %d, range says %d", maxP, p, kg, got, s)
					}
				}
				next = last + 1
			}
			if next != maxP {
				t.Fatalf("maxP %d p %d: ranges end at %d", maxP, p, next)
			}
		}
	}
}

func BenchmarkHashColumns(b *testing.B) {
	bt := types.NewBatch([]types.Type{types.BigInt, types.String})
	for i := range types.DefaultBatchSize {
		bt.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(i)), types.StringDatum("customer-000" + string(rune('a'+i%26)))})
	}
	var hs []uint64
	b.ReportAllocs()
	for b.Loop() {
		hs = HashColumns(bt, []int{0, 1}, hs)
	}
	b.ReportMetric(float64(b.N*types.DefaultBatchSize)/b.Elapsed().Seconds(), "rows/s")
}
