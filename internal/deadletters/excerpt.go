package deadletters

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ExcerptBytes is how much of a value the commands show.
const ExcerptBytes = 200

// Excerpt renders at most the first max bytes of b on one line, never
// splitting a character: printable UTF-8 as it is; backslash, newline,
// carriage return and tab as \\ \n \r \t; other characters that do not print
// as \uXXXX; bytes that are not UTF-8 as \xNN. So what a terminal shows is
// unambiguous and cannot move the cursor or change colours. shown is how
// many bytes of b the excerpt renders.
func Excerpt(b []byte, max int) (text string, shown int) {
	var sb strings.Builder
	i := 0
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if i+size > max {
			break
		}
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&sb, `\x%02x`, b[i])
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteRune(r)
		}
		i += size
	}
	return sb.String(), i
}

// Describe is a value as the commands print it: "(null)" for a tombstone,
// "(empty)" for no bytes, else its excerpt, followed by how much was left
// out when it was cut.
func Describe(b []byte, max int) string {
	if b == nil {
		return "(null)"
	}
	if len(b) == 0 {
		return "(empty)"
	}
	text, shown := Excerpt(b, max)
	if shown == len(b) {
		return text
	}
	return fmt.Sprintf("%s… (%d bytes, the first %d shown)", text, len(b), shown)
}
