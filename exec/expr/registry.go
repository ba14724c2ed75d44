package expr

import (
	"fmt"
	"sort"
	"strings"
)

// builder type-checks args and returns the expression for one call.
type builder func(name string, args []Expr) (Expr, error)

type funcDef struct {
	name     string
	min, max int // max < 0: variadic
	build    builder
}

// registry maps upper-case function and operator names to definitions. It
// is filled by init functions of the family files and read-only afterwards.
var registry = map[string]*funcDef{}

func register(names string, min, max int, b builder) {
	for _, name := range strings.Fields(names) {
		registry[name] = &funcDef{name: name, min: min, max: max, build: b}
	}
}

// Call builds a call of the function or operator name (case-insensitive)
// on args, type-checking and inserting implicit conversions. Operators are
// called by their symbol or keyword: + - * / DIV % = <> != < <= > >= <=>
// AND OR XOR NOT NEG (unary minus), "IS NULL", "IS NOT NULL", "IS TRUE",
// "IS NOT TRUE", "IS FALSE", "IS NOT FALSE", LIKE, "NOT LIKE", REGEXP,
// "NOT REGEXP". Errors: ErrUnknownFunction ("Unknown function 'FOO'"),
// ErrArity ("function UPPER expects 1 argument, got 2"), ErrType.
func Call(name string, args ...Expr) (Expr, error) {
	up := strings.ToUpper(name)
	def, ok := registry[up]
	if !ok {
		return nil, newErr(ErrUnknownFunction, "Unknown function '%s'", up)
	}
	if len(args) < def.min || (def.max >= 0 && len(args) > def.max) {
		return nil, arityErr(up, def.min, def.max, len(args))
	}
	for i, a := range args {
		if a == nil {
			return nil, newErr(ErrType, "function %s: argument %d is missing", up, i+1)
		}
	}
	return def.build(up, args)
}

// Functions lists the registered function and operator names, sorted.
func Functions() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func plural(n int) string {
	if n == 1 {
		return "argument"
	}
	return "arguments"
}

func arityErr(name string, lo, hi, got int) error {
	var want string
	switch {
	case hi < 0:
		want = fmt.Sprintf("at least %d %s", lo, plural(lo))
	case lo == hi:
		want = fmt.Sprintf("%d %s", lo, plural(lo))
	default:
		want = fmt.Sprintf("%d to %d arguments", lo, hi)
	}
	return newErr(ErrArity, "function %s expects %s, got %d", name, want, got)
}

// argTypeErr reports arguments a function cannot take.
func argTypeErr(name string, args []Expr) error {
	ks := make([]string, len(args))
	for i, a := range args {
		ks[i] = a.Type().Kind.String()
	}
	return typeErr("cannot apply '%s' to %s", name, strings.Join(ks, ", "))
}

func init() {
	for sym, op := range map[string]arithOp{"+": opAdd, "-": opSub, "*": opMul, "/": opDiv, "DIV": opIntDiv, "%": opMod} {
		op := op
		register(sym, 2, 2, func(_ string, a []Expr) (Expr, error) { return newArith(op, a[0], a[1]) })
	}
	for sym, op := range map[string]cmpOp{"=": opEQ, "<>": opNE, "!=": opNE, "<": opLT, "<=": opLE, ">": opGT, ">=": opGE, "<=>": opNullEQ} {
		op := op
		register(sym, 2, 2, func(_ string, a []Expr) (Expr, error) { return newCompare(op, a[0], a[1]) })
	}
	register("AND", 2, 2, func(_ string, a []Expr) (Expr, error) { return newLogic(opAnd, a[0], a[1]) })
	register("OR", 2, 2, func(_ string, a []Expr) (Expr, error) { return newLogic(opOr, a[0], a[1]) })
	register("XOR", 2, 2, func(_ string, a []Expr) (Expr, error) { return newLogic(opXor, a[0], a[1]) })
	register("NOT", 1, 1, func(_ string, a []Expr) (Expr, error) { return Not(a[0]) })
	register("NEG", 1, 1, func(_ string, a []Expr) (Expr, error) { return Neg(a[0]) })
	registry["IS NULL"] = &funcDef{name: "IS NULL", min: 1, max: 1, build: func(_ string, a []Expr) (Expr, error) { return IsNull(a[0], false), nil }}
	registry["IS NOT NULL"] = &funcDef{name: "IS NOT NULL", min: 1, max: 1, build: func(_ string, a []Expr) (Expr, error) { return IsNull(a[0], true), nil }}
	registry["IS TRUE"] = &funcDef{name: "IS TRUE", min: 1, max: 1, build: func(_ string, a []Expr) (Expr, error) { return IsTrue(a[0], false) }}
	registry["IS NOT TRUE"] = &funcDef{name: "IS NOT TRUE", min: 1, max: 1, build: func(_ string, a []Expr) (Expr, error) { return IsTrue(a[0], true) }}
	registry["IS FALSE"] = &funcDef{name: "IS FALSE", min: 1, max: 1, build: func(_ string, a []Expr) (Expr, error) { return IsFalse(a[0], false) }}
	registry["IS NOT FALSE"] = &funcDef{name: "IS NOT FALSE", min: 1, max: 1, build: func(_ string, a []Expr) (Expr, error) { return IsFalse(a[0], true) }}
	registry["NOT LIKE"] = &funcDef{name: "NOT LIKE", min: 2, max: 3, build: buildLike}
	registry["NOT REGEXP"] = &funcDef{name: "NOT REGEXP", min: 2, max: 2, build: buildRegexpOp}

	// Control functions.
	register("COALESCE", 1, -1, func(n string, a []Expr) (Expr, error) { return newCoalesce(n, a) })
	register("IFNULL NVL", 2, 2, func(n string, a []Expr) (Expr, error) { return newCoalesce(n, a) })
	register("IF", 3, 3, func(_ string, a []Expr) (Expr, error) { return If(a[0], a[1], a[2]) })
	register("NULLIF", 2, 2, func(_ string, a []Expr) (Expr, error) { return NullIf(a[0], a[1]) })
	register("LIKE", 2, 3, buildLike)
	register("REGEXP RLIKE REGEXP_LIKE", 2, 2, buildRegexpOp)
}
