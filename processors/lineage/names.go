package lineage

import (
	"strings"
	"unicode"

	"github.com/aistream/aistream/codecs"
)

// Names normalises dataset and column names so that every spelling of one
// table becomes one node. The rules, in order:
//
//  1. Surrounding whitespace is trimmed, around the name and around each part.
//  2. A name splits into parts at dots outside quotes. "x", `x` and [x] are
//     quoted identifiers; inside one, a doubled closing quote ("" or ]])
//     stands for one. Quotes are removed.
//  3. An unquoted part is lower-cased. It must not contain whitespace or quote
//     characters.
//  4. A quoted part keeps its case (SQL: "Orders" and orders are different
//     tables), except where the dialect says otherwise: in case-insensitive
//     dialects (mysql, mariadb, sqlserver, tsql, hive, spark, databricks,
//     bigquery, duckdb, sqlite) it is lower-cased; in upper-folding dialects
//     (snowflake, oracle, db2) an all-upper-case quoted part is the table the
//     unquoted name means, so it is lower-cased too.
//  5. Dataset names get default parts: table → catalog.schema.table,
//     schema.table → catalog.schema.table. More than three parts is refused.
//  6. An empty part ("a..b", "", `""`) is refused.
//
// The canonical form joins the parts with dots and double-quotes a part only
// when it needs it to read back the same (upper-case letters, dots,
// whitespace, quote characters), so normalising a canonical name with the
// default dialect returns it unchanged.
type Names struct {
	catalog, schema string // canonical parts
}

// Dialects whose quoted identifiers match without regard to case.
var caseInsensitive = map[string]bool{
	"mysql": true, "mariadb": true, "sqlserver": true, "tsql": true, "hive": true, "spark": true,
	"databricks": true, "bigquery": true, "duckdb": true, "sqlite": true,
}

// Dialects that fold unquoted identifiers to upper case.
var upperFolding = map[string]bool{"snowflake": true, "oracle": true, "db2": true}

// Dataset returns the canonical catalog.schema.table name of raw. field
// names the value in errors (e.g. "data.sources[1]").
func (n Names) Dataset(field, raw, dialect string) (string, error) {
	if d, ok := n.plainDataset(raw); ok {
		return d, nil
	}
	return n.dataset(field, raw, dialect)
}

// dataset is Dataset by the general path.
func (n Names) dataset(field, raw, dialect string) (string, error) {
	parts, err := identifier(field, raw, dialect, 3)
	if err != nil {
		return "", err
	}
	switch len(parts) {
	case 1:
		parts = []string{n.catalog, n.schema, parts[0]}
	case 2:
		parts = []string{n.catalog, parts[0], parts[1]}
	}
	return render(parts), nil
}

// Column returns the canonical name of a column (nested fields keep their
// dotted path; no defaults apply).
func (n Names) Column(field, raw, dialect string) (string, error) {
	if _, ok := plainParts(raw); ok {
		return strings.ToLower(raw), nil
	}
	return column(field, raw, dialect)
}

// column is Column by the general path.
func column(field, raw, dialect string) (string, error) {
	parts, err := identifier(field, raw, dialect, 0)
	if err != nil {
		return "", err
	}
	return render(parts), nil
}

// identifier splits and folds raw; max > 0 limits the number of parts.
func identifier(field, raw, dialect string, max int) ([]string, error) {
	dialect = strings.ToLower(strings.TrimSpace(dialect))
	var parts []string
	rs := []rune(strings.TrimSpace(raw))
	if len(rs) == 0 {
		return nil, codecs.Reject(codecs.ReasonInvalidValue, field, "empty name")
	}
	for i := 0; ; {
		for i < len(rs) && unicode.IsSpace(rs[i]) {
			i++
		}
		var (
			text   string
			quoted bool
		)
		if i < len(rs) && (rs[i] == '"' || rs[i] == '`' || rs[i] == '[') {
			closing := rs[i]
			if closing == '[' {
				closing = ']'
			}
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(rs) {
					return nil, codecs.Reject(codecs.ReasonInvalidValue, field, "%q: unterminated quoted identifier", raw)
				}
				if rs[j] == closing {
					if j+1 < len(rs) && rs[j+1] == closing {
						b.WriteRune(closing)
						j += 2
						continue
					}
					break
				}
				b.WriteRune(rs[j])
				j++
			}
			text, quoted, i = b.String(), true, j+1
			for i < len(rs) && unicode.IsSpace(rs[i]) {
				i++
			}
			if i < len(rs) && rs[i] != '.' {
				return nil, codecs.Reject(codecs.ReasonInvalidValue, field, "%q: unexpected %q after a quoted identifier", raw, rs[i])
			}
		} else {
			j := i
			for j < len(rs) && rs[j] != '.' {
				j++
			}
			text, i = strings.TrimSpace(string(rs[i:j])), j
			if strings.ContainsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("\"`[]", r) }) {
				return nil, codecs.Reject(codecs.ReasonInvalidValue, field, "%q: part %q needs quoting (whitespace or quote characters)", raw, text)
			}
		}
		if text == "" {
			return nil, codecs.Reject(codecs.ReasonInvalidValue, field, "%q: empty part", raw)
		}
		parts = append(parts, fold(text, quoted, dialect))
		if i >= len(rs) {
			break
		}
		i++ // the dot
		if i >= len(rs) {
			return nil, codecs.Reject(codecs.ReasonInvalidValue, field, "%q: empty part", raw)
		}
	}
	if max > 0 && len(parts) > max {
		return nil, codecs.Reject(codecs.ReasonInvalidValue, field, "%q has %d parts; at most %d (catalog.schema.table)", raw, len(parts), max)
	}
	return parts, nil
}

func fold(text string, quoted bool, dialect string) string {
	if !quoted || caseInsensitive[dialect] || (upperFolding[dialect] && text == strings.ToUpper(text)) {
		return strings.ToLower(text)
	}
	return text
}

// render joins canonical parts, quoting those that would not read back as
// themselves unquoted.
func render(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = renderPart(p)
	}
	return strings.Join(out, ".")
}

// renderPart is one part as render writes it.
func renderPart(p string) string {
	if p != strings.ToLower(p) || strings.ContainsFunc(p, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(".\"`[]", r) }) {
		return `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return p
}

// plainParts says whether raw is the common spelling the rules above
// leave as it is but for lower-casing: printable ASCII parts without
// quote characters, none empty, no whitespace anywhere; and counts its
// parts. Such a name normalises to strings.ToLower(raw) (with default
// parts for a dataset) in every dialect, without the general path's
// copies; any other name takes that path. TestPlainNamesTakeTheRules
// checks the two agree.
func plainParts(raw string) (parts int, ok bool) {
	dot := true // a leading dot is an empty part
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '.':
			if dot {
				return 0, false
			}
			dot = true
			parts++
			continue
		case c <= ' ' || c >= 0x7f || c == '"' || c == '`' || c == '[' || c == ']':
			return 0, false
		}
		dot = false
	}
	if dot { // empty, or a trailing dot
		return 0, false
	}
	return parts + 1, true
}

// plainDataset is Dataset of a plain name (see plainParts); false for
// any other name, or one of over three parts (an error Dataset reports).
func (n Names) plainDataset(raw string) (string, bool) {
	k, ok := plainParts(raw)
	if !ok {
		return "", false
	}
	switch k {
	case 1:
		return renderPart(n.catalog) + "." + renderPart(n.schema) + "." + strings.ToLower(raw), true
	case 2:
		return renderPart(n.catalog) + "." + strings.ToLower(raw), true
	case 3:
		return strings.ToLower(raw), true
	}
	return "", false
}
