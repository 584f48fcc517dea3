package lineage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aistream/aistream/codecs"
)

func testNames(t *testing.T) Names {
	t.Helper()
	n, err := DefaultConfig().Names()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDatasetNormalisation(t *testing.T) {
	n := testNames(t)
	cases := []struct{ name, raw, dialect, want string }{
		{"trim", "  warehouse.sales.orders \t", "", "warehouse.sales.orders"},
		{"trim around parts", "warehouse . sales . orders", "", "warehouse.sales.orders"},
		{"lower-case unquoted", "Warehouse.SALES.Orders", "", "warehouse.sales.orders"},
		{"double quotes", `"warehouse"."sales"."orders"`, "", "warehouse.sales.orders"},
		{"backticks", "`warehouse`.`sales`.`orders`", "", "warehouse.sales.orders"},
		{"brackets", "[warehouse].[sales].[orders]", "", "warehouse.sales.orders"},
		{"quoted keeps case", `warehouse.sales."Orders"`, "", `warehouse.sales."Orders"`},
		{"quoted dot stays one part", `warehouse.sales."daily.rev"`, "", `warehouse.sales."daily.rev"`},
		{"doubled quote", `warehouse.sales."a""b"`, "", `warehouse.sales."a""b"`},
		{"doubled bracket", `warehouse.sales.[a]]b]`, "", `warehouse.sales."a]b"`},
		{"one part gets catalog and schema", "orders", "", "default.default.orders"},
		{"two parts get catalog", "sales.orders", "", "default.sales.orders"},
		{"case-insensitive dialect folds quoted", "`Sales`.`Orders`", "mysql", "default.sales.orders"},
		{"dialect name is case-insensitive", "[Sales].[Orders]", "SQLServer", "default.sales.orders"},
		{"upper-folding dialect: quoted upper is unquoted", `"SALES"."ORDERS"`, "snowflake", "default.sales.orders"},
		{"upper-folding dialect: mixed case kept", `"SALES"."Orders"`, "snowflake", `default.sales."Orders"`},
		{"postgres keeps quoted case", `"Sales".orders`, "postgres", `default."Sales".orders`},
		{"unicode lower-cased", "ÜBER.Straße", "", "default.über.straße"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := n.Dataset("f", c.raw, c.dialect)
			if err != nil {
				t.Fatalf("Dataset(%q, %q): %v", c.raw, c.dialect, err)
			}
			if got != c.want {
				t.Fatalf("Dataset(%q, %q) = %q, want %q", c.raw, c.dialect, got, c.want)
			}
			again, err := n.Dataset("f", got, "")
			if err != nil || again != got {
				t.Fatalf("canonical %q does not read back as itself: %q, %v", got, again, err)
			}
		})
	}
}

func TestDatasetNormalisationRejects(t *testing.T) {
	n := testNames(t)
	cases := []struct{ raw, want string }{
		{"", "empty name"},
		{"   ", "empty name"},
		{"a..b", "empty part"},
		{".a", "empty part"},
		{"a.", "empty part"},
		{`a.""`, "empty part"},
		{"a.[ ]x", "unexpected"},
		{`a."unterminated`, "unterminated"},
		{"sales orders", "needs quoting"},
		{`sa"les`, "needs quoting"},
		{"a.b.c.d", "at most 3"},
	}
	for _, c := range cases {
		_, err := n.Dataset("data.sources[0]", c.raw, "")
		var de *codecs.DecodeError
		if !errors.As(err, &de) || de.Reason != codecs.ReasonInvalidValue || de.Field != "data.sources[0]" || !strings.Contains(de.Detail, c.want) {
			t.Errorf("Dataset(%q) error = %v, want invalid_value on data.sources[0] mentioning %q", c.raw, err, c.want)
		}
	}
}

func TestColumnNormalisation(t *testing.T) {
	n := testNames(t)
	for raw, want := range map[string]string{
		"Amount": "amount", `"Amount"`: `"Amount"`, "address.City": "address.city", " [order id] ": `"order id"`,
	} {
		got, err := n.Column("c", raw, "")
		if err != nil || got != want {
			t.Errorf("Column(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	if _, err := n.Column("c", "a..b", ""); err == nil {
		t.Error("Column accepted an empty part")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	c := DefaultConfig()
	c.DefaultSchema = "a.b"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--lineage-default-schema") {
		t.Errorf("two-part default schema: %v, want an error naming --lineage-default-schema", err)
	}
	c = DefaultConfig()
	c.DefaultCatalog = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--lineage-default-catalog") {
		t.Errorf("empty default catalog: %v, want an error naming --lineage-default-catalog", err)
	}
	c = DefaultConfig()
	c.RecentQueries = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--lineage-recent-queries=0") {
		t.Errorf("zero recent queries: %v, want an error naming --lineage-recent-queries", err)
	}
	c = DefaultConfig()
	c.DefaultCatalog = "WH"
	names, err := c.Names()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := names.Dataset("f", "orders", ""); got != "wh.default.orders" {
		t.Errorf("default catalog not normalised: %q", got)
	}
}

// The plain-name shortcut of Dataset and Column gives what the general
// path gives (name or error), on random spellings of every character
// class the rules treat apart, with defaults that need quoting too.
func TestPlainNamesTakeTheRules(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	alphabet := []string{"a", "Z", "_", "0", "$", "-", ".", ".", " ", "\t", "\x01", "\x7f", `"`, "`", "[", "]", "é", "\u00a0", "ß"}
	quoted := Names{catalog: "My Cat", schema: `s"q`}
	plain := 0
	for i := 0; i < 50000; i++ {
		var b strings.Builder
		for n := r.IntN(12); n > 0; n-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		raw := b.String()
		if _, ok := plainParts(raw); ok {
			plain++
		}
		for _, names := range []Names{testNames(t), quoted} {
			for _, dialect := range []string{"", "mysql", "snowflake"} {
				got, gotErr := names.Dataset("f", raw, dialect)
				want, wantErr := names.dataset("f", raw, dialect)
				if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("Dataset(%q, %s) = %q, %v; the rules give %q, %v", raw, dialect, got, gotErr, want, wantErr)
				}
			}
		}
		got, gotErr := Names{}.Column("f", raw, "")
		want, wantErr := column("f", raw, "")
		if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("Column(%q) = %q, %v; the rules give %q, %v", raw, got, gotErr, want, wantErr)
		}
	}
	if plain < 500 {
		t.Fatalf("only %d plain names drawn: the test checks too little", plain)
	}
}
