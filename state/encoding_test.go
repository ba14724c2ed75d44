package state

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

var interestingInts = []int64{math.MinInt64, math.MinInt64 + 1, -1 << 32, -256, -1, 0, 1, 255, 256, 1 << 32, math.MaxInt64 - 1, math.MaxInt64}

var interestingFloats = []float64{math.Inf(-1), -math.MaxFloat64, -1e10, -1, -math.SmallestNonzeroFloat64,
	math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64, 1, 1e10, math.MaxFloat64, math.Inf(1), math.NaN()}

var interestingStrings = []string{"", "\x00", "\x00\x00", "\x00\x01", "\x00\xff", "\x01", "a", "a\x00", "a\x00b", "a\x01", "ab", "b", "\xff", "\xff\x00", "\xff\xff"}

func randDatum(r *rand.Rand, t types.Type) types.Datum {
	if r.IntN(8) == 0 {
		return types.NullDatum(t)
	}
	d := types.Datum{Type: t}
	switch t.Class() {
	case types.ClassF64:
		if r.IntN(2) == 0 {
			d.F = interestingFloats[r.IntN(len(interestingFloats))]
		} else {
			d.F = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		}
	case types.ClassStr:
		if r.IntN(2) == 0 {
			d.S = interestingStrings[r.IntN(len(interestingStrings))]
		} else {
			b := make([]byte, r.IntN(6))
			for i := range b {
				b[i] = []byte{0, 1, 'a', 'b', 0xff}[r.IntN(5)]
			}
			d.S = string(b)
		}
	default:
		if r.IntN(2) == 0 {
			d.I = interestingInts[r.IntN(len(interestingInts))]
		} else {
			d.I = r.Int64N(2000) - 1000
		}
	}
	return d
}

// sqlCompare orders datums as keys must: NULL first, then types.Compare,
// with NaN after every number and -0 = +0.
func sqlCompare(a, b types.Datum) int {
	switch {
	case a.Null && b.Null:
		return 0
	case a.Null:
		return -1
	case b.Null:
		return 1
	}
	if a.Type.Class() == types.ClassF64 {
		an, bn := math.IsNaN(a.F), math.IsNaN(b.F)
		switch {
		case an && bn:
			return 0
		case an:
			return 1
		case bn:
			return -1
		}
	}
	return types.Compare(a, b)
}

func rowCompare(a, b []types.Datum) int {
	for i := range a {
		if c := sqlCompare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

var keySchemas = [][]types.Type{
	{types.BigInt},
	{types.Double},
	{types.String},
	{types.String, types.BigInt},
	{types.Int, types.String, types.Double},
	{types.String, types.String},
	{types.Decimal(10, 2), types.Timestamp, types.Bool},
}

func TestEncodeKeyOrderProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, ts := range keySchemas {
		for n := 0; n < 20000; n++ {
			a := make([]types.Datum, len(ts))
			b := make([]types.Datum, len(ts))
			for i, typ := range ts {
				a[i], b[i] = randDatum(r, typ), randDatum(r, typ)
				if r.IntN(3) == 0 {
					b[i] = a[i] // equal prefixes
				}
			}
			ka, kb := EncodeKey(nil, a), EncodeKey(nil, b)
			if got, want := sign(bytes.Compare(ka, kb)), rowCompare(a, b); got != want {
				t.Fatalf("%v vs %v: bytes.Compare %d, want %d (keys %x %x)", a, b, got, want, ka, kb)
			}
			if (bytes.Equal(ka, kb)) != DatumsEqual(a, b) {
				t.Fatalf("%v vs %v: key equality disagrees with DatumsEqual", a, b)
			}
			if h, err := HashEncodedKey(ka, ts); err != nil || h != HashDatums(a) {
				t.Fatalf("%v: HashEncodedKey %x %v, HashDatums %x", a, h, err, HashDatums(a))
			}
			if DatumsEqual(a, b) && HashDatums(a) != HashDatums(b) {
				t.Fatalf("%v vs %v: equal rows hash differently", a, b)
			}
			// Round trip, with a trailing suffix to check self-delimitation.
			dec, rest, err := DecodeKey(append(ka, 0xAB), ts, nil)
			if err != nil || !bytes.Equal(rest, []byte{0xAB}) {
				t.Fatalf("decode %x: %v rest %x", ka, err, rest)
			}
			if !DatumsEqual(dec, a) {
				t.Fatalf("decode %x = %v, want %v", ka, dec, a)
			}
		}
	}
}

func FuzzEncodeKeyOrder(f *testing.F) {
	f.Add(int64(-1), int64(1), 0.5, -0.5, "a\x00", "a", false, true)
	f.Add(int64(0), int64(0), math.Inf(1), math.NaN(), "", "\x00", true, false)
	f.Fuzz(func(t *testing.T, i1, i2 int64, f1, f2 float64, s1, s2 string, n1, n2 bool) {
		ts := []types.Type{types.String, types.BigInt, types.Double}
		a := []types.Datum{types.StringDatum(s1), types.IntDatum(i1), types.DoubleDatum(f1)}
		b := []types.Datum{types.StringDatum(s2), types.IntDatum(i2), types.DoubleDatum(f2)}
		if n1 {
			a[1] = types.NullDatum(types.BigInt)
		}
		if n2 {
			b[0] = types.NullDatum(types.String)
		}
		ka, kb := EncodeKey(nil, a), EncodeKey(nil, b)
		if got, want := sign(bytes.Compare(ka, kb)), rowCompare(a, b); got != want {
			t.Fatalf("%v vs %v: %d want %d", a, b, got, want)
		}
		dec, rest, err := DecodeKey(ka, ts, nil)
		if err != nil || len(rest) != 0 || !DatumsEqual(dec, a) {
			t.Fatalf("round trip %v: %v %v %x", a, dec, err, rest)
		}
	})
}

func TestEncodeKeyColumnsMatchesDatums(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ts := []types.Type{types.BigInt, types.String, types.Double, types.Int}
	b := types.NewBatch(ts)
	for i := 0; i < 500; i++ {
		row := make([]types.Datum, len(ts))
		for c, typ := range ts {
			row[c] = randDatum(r, typ)
		}
		b.AppendRow(types.Insert, row)
	}
	cols := []int{3, 1, 2}
	for i := 0; i < b.Len(); i++ {
		row := b.Row(i, nil)
		ds := []types.Datum{row[3], row[1], row[2]}
		if got, want := EncodeKeyColumns(nil, b, cols, i), EncodeKey(nil, ds); !bytes.Equal(got, want) {
			t.Fatalf("row %d: %x want %x", i, got, want)
		}
	}
}

func TestDecodeKeyCorrupt(t *testing.T) {
	ts := []types.Type{types.String}
	for _, k := range [][]byte{nil, {0x05}, {0x01, 'a'}, {0x01, 'a', 0, 0x07}} {
		if _, _, err := DecodeKey(k, ts, nil); err == nil {
			t.Errorf("DecodeKey(%x) succeeded", k)
		}
	}
	if _, _, err := DecodeKey([]byte{0x01, 1, 2}, []types.Type{types.BigInt}, nil); err == nil {
		t.Error("short int key decoded")
	}
}

func TestRowRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ts := []types.Type{types.BigInt, types.String, types.Double, types.Bool, types.Decimal(18, 4),
		types.Timestamp, types.Bytes, types.Float, types.Date}
	b := types.NewBatch(ts)
	for n := 0; n < 5000; n++ {
		row := make([]types.Datum, len(ts))
		for i, typ := range ts {
			row[i] = randDatum(r, typ)
		}
		enc := EncodeRow(nil, row)
		b.Reset(ts)
		b.AppendRow(types.Insert, row)
		if enc2 := EncodeBatchRow(nil, b, 0); !bytes.Equal(enc, enc2) {
			t.Fatalf("EncodeBatchRow %x != EncodeRow %x", enc2, enc)
		}
		dec, err := DecodeRow(enc, ts, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range row {
			// Exact round trip, float bits included.
			a, d := row[i], dec[i]
			if a.Null != d.Null || (!a.Null && (a.I != d.I || a.S != d.S ||
				math.Float64bits(a.F) != math.Float64bits(d.F))) || d.Type != ts[i] {
				t.Fatalf("column %d: %#v decoded as %#v", i, a, d)
			}
		}
		// Truncated input must fail, never panic.
		for cut := 0; cut < len(enc); cut++ {
			_, _ = DecodeRow(enc[:cut], ts, nil)
		}
	}
}

func TestRowSchemaEvolution(t *testing.T) {
	old := []types.Datum{types.IntDatum(7), types.StringDatum("x")}
	enc := EncodeRow(nil, old)
	ts := []types.Type{types.BigInt, types.String, types.Double}
	dec, err := DecodeRow(enc, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dec[0].I != 7 || dec[1].S != "x" || !dec[2].Null || dec[2].Type != types.Double {
		t.Fatalf("decoded %v", dec)
	}
	// Projection skips strings it does not need.
	dec, err = DecodeRowProjected(enc, ts[:2], []bool{true, false}, dec)
	if err != nil || dec[0].I != 7 || dec[1].S != "" || dec[1].Null {
		t.Fatalf("projected %v %v", dec, err)
	}
}

func TestRowEncodingIsCompact(t *testing.T) {
	row := []types.Datum{types.IntDatum(1), types.IntDatum(-2), types.StringDatum("abc"), types.NullDatum(types.Double)}
	// 1 count + 1 bitmap + 1 + 1 + (1+3)
	if got := len(EncodeRow(nil, row)); got != 8 {
		t.Fatalf("encoded size %d, want 8", got)
	}
}

func TestHashColumnsMatchesHashDatums(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ts := []types.Type{types.BigInt, types.String, types.Double, types.Int}
	b := types.NewBatch(ts)
	for i := 0; i < 2000; i++ {
		row := make([]types.Datum, len(ts))
		for c, typ := range ts {
			row[c] = randDatum(r, typ)
		}
		b.AppendRow(types.Insert, row)
	}
	for _, cols := range [][]int{{0}, {1}, {2}, {3, 0}, {0, 1, 2, 3}, {}} {
		out := make([]uint64, b.Len())
		HashColumns(b, cols, out)
		for i := range out {
			row := b.Row(i, nil)
			ds := make([]types.Datum, 0, len(cols))
			for _, c := range cols {
				ds = append(ds, row[c])
			}
			if h := HashDatums(ds); h != out[i] {
				t.Fatalf("cols %v row %d %v: vector %x datum %x", cols, i, ds, out[i], h)
			}
		}
	}
	// -0 and +0, and all NaNs, hash equal; NULL differs from 0.
	z := HashDatums([]types.Datum{types.DoubleDatum(0)})
	if HashDatums([]types.Datum{types.DoubleDatum(math.Copysign(0, -1))}) != z {
		t.Error("-0 and +0 hash differently")
	}
	if HashDatums([]types.Datum{types.DoubleDatum(math.NaN())}) != HashDatums([]types.Datum{types.DoubleDatum(-math.NaN())}) {
		t.Error("NaNs hash differently")
	}
	if HashDatums([]types.Datum{types.NullDatum(types.BigInt)}) == HashDatums([]types.Datum{types.IntDatum(0)}) {
		t.Error("NULL hashes like 0")
	}
}

func TestKeyGroups(t *testing.T) {
	for _, maxP := range []int{1, 7, 128, 1000} {
		for par := 1; par <= 9; par++ {
			covered := 0
			for s := 0; s < par; s++ {
				first, last := KeyGroupRange(s, par, maxP)
				for kg := first; kg <= last; kg++ {
					if o := KeyGroupOwner(kg, maxP, par); o != s {
						t.Fatalf("max %d par %d: kg %d in range of %d but owned by %d", maxP, par, kg, s, o)
					}
					covered++
				}
			}
			if covered != maxP {
				t.Fatalf("max %d par %d: %d key groups covered", maxP, par, covered)
			}
		}
		for kg := 0; kg < maxP; kg++ {
			h := KeyGroupHashStart(kg, maxP)
			if KeyGroup(h, maxP) != kg {
				t.Fatalf("max %d: start of %d is in group %d", maxP, kg, KeyGroup(h, maxP))
			}
			if kg > 0 && KeyGroup(h-1, maxP) != kg-1 {
				t.Fatalf("max %d: hash before start of %d is in group %d", maxP, kg, KeyGroup(h-1, maxP))
			}
		}
	}
	// Hashes spread evenly over key groups.
	counts := make([]int, 128)
	for i := int64(0); i < 128000; i++ {
		counts[KeyGroup(HashDatums([]types.Datum{types.IntDatum(i)}), 128)]++
	}
	for kg, c := range counts {
		if c < 800 || c > 1200 {
			t.Fatalf("key group %d got %d of 128000 sequential ints", kg, c)
		}
	}
}

func BenchmarkHashColumns(b *testing.B) {
	ts := []types.Type{types.BigInt, types.String}
	batch := types.NewBatch(ts)
	for i := 0; i < types.DefaultBatchSize; i++ {
		batch.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(i)), types.StringDatum("customer-name")})
	}
	out := make([]uint64, batch.Len())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		HashColumns(batch, []int{0, 1}, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch.Len()), "ns/row")
}

func BenchmarkEncodeRow(b *testing.B) {
	row := []types.Datum{types.IntDatum(12345), types.StringDatum("customer-name"), types.DoubleDatum(3.25)}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = EncodeRow(buf[:0], row)
	}
}
