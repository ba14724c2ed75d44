package expr

import "testing"

func TestStringFunctions(t *testing.T) {
	runCases(t, []tcase{
		{"upper", C("UPPER", col("s")), "ABC|HELLO WORLD|NULL"},
		{"ucase", C("ucase", "x"), "X"},
		{"lower", C("LOWER", col("s")), "abc|hello world|NULL"},
		{"concat", C("CONCAT", col("s"), "-", col("j")), "abc-10|Hello World-0|NULL"},
		{"concat null", C("CONCAT", "a", nil), "NULL"},
		{"concat_ws", C("CONCAT_WS", ",", col("s"), col("i"), "z"), "abc,1,z|Hello World,-5,z|z"},
		{"concat_ws null sep", C("CONCAT_WS", nil, "a"), "NULL"},
		{"substring", C("SUBSTRING", col("s"), 2), "bc|ello World|NULL"},
		{"substring len", C("SUBSTRING", col("s"), 2, 3), "bc|ell|NULL"},
		{"substring negative", C("SUBSTR", "Sakila", -3), "ila"},
		{"substring negative len", C("SUBSTR", "Sakila", -5, 3), "aki"},
		{"substring zero", C("SUBSTRING", "abc", 0), ""},
		{"substring beyond", C("SUBSTRING", "abc", 5), ""},
		{"substring neg beyond", C("SUBSTRING", "abc", -5), ""},
		{"substring bad len", C("SUBSTRING", "abc", 1, -1), ""},
		{"substring unicode", C("SUBSTRING", "héllo", 2, 3), "éll"},
		{"substring string pos", C("SUBSTRING", "abc", "2"), "bc"},
		{"substring bad pos", C("SUBSTRING", "abc", col("s")), "!cannot apply 'SUBSTRING' to STRING, VARCHAR"},
		{"trim", C("TRIM", "  a b  "), "a b"},
		{"trim both x", C("TRIM", "xxaxx", "x"), "a"},
		{"trim leading", C("TRIM", "xxaxx", "x", "LEADING"), "axx"},
		{"trim trailing", C("TRIM", "xyxyaxy", "xy", "TRAILING"), "xyxya"},
		{"ltrim", C("LTRIM", "  a  "), "a  "},
		{"rtrim", C("RTRIM", "  a  "), "  a"},
		{"length", C("LENGTH", "héllo"), "6"},
		{"char_length", C("CHAR_LENGTH", "héllo"), "5"},
		{"character_length", C("CHARACTER_LENGTH", col("s")), "3|11|NULL"},
		{"length of int", C("LENGTH", 12345), "5"},
		{"replace", C("REPLACE", col("s"), "l", "L"), "abc|HeLLo WorLd|NULL"},
		{"replace empty", C("REPLACE", "abc", "", "x"), "abc"},
		{"lpad", C("LPAD", "hi", 5, "ab"), "abahi"},
		{"lpad truncate", C("LPAD", "hello", 2, "x"), "he"},
		{"lpad empty pad", C("LPAD", "hi", 5, ""), "NULL"},
		{"lpad negative", C("LPAD", "hi", -1, "x"), "NULL"},
		{"rpad", C("RPAD", "hi", 5, "ab"), "hiaba"},
		{"rpad truncate", C("RPAD", "hello", 3, "x"), "hel"},
		{"left", C("LEFT", col("s"), 2), "ab|He|NULL"},
		{"left zero", C("LEFT", "abc", 0), ""},
		{"right", C("RIGHT", col("s"), 3), "abc|rld|NULL"},
		{"right more", C("RIGHT", "ab", 5), "ab"},
		{"reverse", C("REVERSE", "héllo"), "olléh"},
		{"repeat", C("REPEAT", "ab", 3), "ababab"},
		{"repeat zero", C("REPEAT", "ab", 0), ""},
		{"locate", C("LOCATE", "o", col("s")), "0|5|NULL"},
		{"locate pos", C("LOCATE", "o", "Hello World", 6), "8"},
		{"locate empty", C("LOCATE", "", "abc"), "1"},
		{"locate beyond", C("LOCATE", "", "abc", 5), "0"},
		{"position", C("POSITION", "lo", "Hello"), "4"},
		{"instr", C("INSTR", "Hello", "lo"), "4"},
		{"locate unicode", C("LOCATE", "l", "héllo"), "3"},
		{"regexp_extract whole", C("REGEXP_EXTRACT", "foothebar", "o+t"), "oot"},
		{"regexp_extract group", C("REGEXP_EXTRACT", "foothebar", "foo(.*?)(bar)", 2), "bar"},
		{"regexp_extract group 1", C("REGEXP_EXTRACT", "foothebar", "foo(.*?)(bar)", 1), "the"},
		{"regexp_extract no match", C("REGEXP_EXTRACT", "abc", "x(y)"), "NULL"},
		{"regexp_extract bad group", C("REGEXP_EXTRACT", "abc", "(b)", 2), "NULL"},
		{"regexp_extract invalid", C("REGEXP_EXTRACT", "abc", "(b"), "!invalid regular expression"},
		{"regexp_extract column pattern", C("REGEXP_EXTRACT", "abc", col("s")), "abc|NULL|NULL"},
		{"regexp_replace", C("REGEXP_REPLACE", "a1b22", "[0-9]+", "#"), "a#b#"},
		{"split_index", C("SPLIT_INDEX", "a,b,c", ",", 1), "b"},
		{"split_index first", C("SPLIT_INDEX", "a,b,c", ",", 0), "a"},
		{"split_index last empty", C("SPLIT_INDEX", "a,b,", ",", 2), ""},
		{"split_index beyond", C("SPLIT_INDEX", "a,b,c", ",", 3), "NULL"},
		{"split_index negative", C("SPLIT_INDEX", "a,b,c", ",", -1), "NULL"},
		{"split_index multi sep", C("SPLIT_INDEX", "a::b", "::", 1), "b"},
		{"split_index null", C("SPLIT_INDEX", col("s"), " ", 1), "NULL|World|NULL"},
		{"arity", C("UPPER"), "!function UPPER expects 1 argument, got 0"},
		{"arity range", C("SUBSTRING", "a"), "!function SUBSTRING expects 2 to 3 arguments, got 1"},
		{"arity variadic", C("CONCAT_WS", "a"), "!function CONCAT_WS expects at least 2 arguments, got 1"},
	})
}

func TestStringExtra(t *testing.T) {
	runCases(t, []tcase{
		{"substring_index", C("SUBSTRING_INDEX", "www.mysql.com", ".", 2), "www.mysql"},
		{"substring_index neg", C("SUBSTRING_INDEX", "www.mysql.com", ".", -2), "mysql.com"},
		{"substring_index beyond", C("SUBSTRING_INDEX", "a.b", ".", 5), "a.b"},
		{"ascii", C("ASCII", "A"), "65"},
		{"initcap", C("INITCAP", "hello wORLD-x"), "Hello World-X"},
		{"space", C("SPACE", 3), "   "},
		{"strcmp", C("STRCMP", "a", "b"), "-1"},
		{"chr", C("CHR", 65), "A"},
		{"md5", C("MD5", "abc"), "900150983cd24fb0d6963f7d28e17f72"},
		{"sha1", C("SHA1", "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"sha2", C("SHA2", "abc", 224), "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"},
		{"sha2 bad", C("SHA2", "abc", 1), "NULL"},
		{"base64", C("TO_BASE64", "abc"), "YWJj"},
		{"from base64", C("FROM_BASE64", "YWJj"), "abc"},
		{"from base64 bad", C("FROM_BASE64", "!!"), "NULL"},
		{"hex", C("HEX", "abc"), "616263"},
	})
	u, _ := C("UUID")()
	if IsConst(u) {
		t.Fatal("UUID() is constant")
	}
	if s, err := render(u); err != nil || len(s) != 3*36+2 {
		t.Fatalf("UUID: %q %v", s, err)
	}
}

func TestRequiredLiteral(t *testing.T) {
	for pat, want := range map[string]string{
		`(&|^)channel_id=([^&]*)`: "channel_id=",
		`foo(.*?)(bar)`:           "foo",
		`o+t`:                     "t",
		`(?i)abc`:                 "",
		`a|b`:                     "",
		`x(yz)w`:                  "yz",
	} {
		if got := requiredLiteral(pat); got != want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", pat, got, want)
		}
	}
}
