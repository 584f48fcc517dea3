package codecs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/topology"
)

func TestRegistry(t *testing.T) {
	var names []string
	for _, et := range codecs.EventTypes() {
		names = append(names, et.Name)
		if _, ok := topology.Find(topology.Contract(), et.Topic); !ok {
			t.Errorf("%s: topic %q is not in the topology's contract", et.Name, et.Topic)
		}
		if got, ok := codecs.LookupType(et.Name); !ok || got.Name != et.Name || got.Topic != et.Topic {
			t.Errorf("LookupType(%q) = %+v, %v", et.Name, got, ok)
		}
		if !slices.Contains(codecs.TypesOn(et.Topic), et.Name) {
			t.Errorf("TypesOn(%q) = %v, missing %s", et.Topic, codecs.TypesOn(et.Topic), et.Name)
		}
		// What Decode returns for the type's example is the registered payload.
		ev := decode(t, validDir, et.Name+".json")
		if got := reflect.TypeOf(ev.Payload); got != reflect.PointerTo(et.Payload) || reflect.TypeOf(et.NewPayload()) != got {
			t.Errorf("%s: decoded %v, registry says %v, NewPayload gives %T", et.Name, got, et.Payload, et.NewPayload())
		}
	}
	if got := len(codecs.KnownTypes()); got != len(names) {
		t.Errorf("KnownTypes has %d types, the registry %d", got, len(names))
	}
	if _, ok := codecs.LookupType("agent.unknown"); ok {
		t.Error("LookupType found an unregistered type")
	}
	if got := codecs.TypesOn(topology.TraceEvents); len(got) != 1 || got[0] != codecs.TypeSpan {
		t.Errorf("TypesOn(%s) = %v, want [%s]", topology.TraceEvents, got, codecs.TypeSpan)
	}
	if got := codecs.TypesOn(topology.DeadLetters); len(got) != 0 {
		t.Errorf("TypesOn(%s) = %v, want none", topology.DeadLetters, got)
	}
}

// TestReasonsAreClosed: every reason declared or converted anywhere in the
// module is in codecs.Reasons(), once, with a meaning — so the docs and the
// dead-letter metric's labels, which enumerate Reasons(), miss none.
func TestReasonsAreClosed(t *testing.T) {
	listed := map[codecs.Reason]bool{}
	for _, r := range codecs.Reasons() {
		if listed[r.Reason] {
			t.Errorf("%s listed twice", r.Reason)
		}
		listed[r.Reason] = true
		if r.Meaning == "" || strings.Contains(r.Meaning, "\n") {
			t.Errorf("%s: meaning %q must be one line", r.Reason, r.Meaning)
		}
	}
	for _, want := range invalidCases {
		if !listed[want.reason] {
			t.Errorf("invalid example expects %q, which Reasons() does not list", want.reason)
		}
	}

	used := reasonLiterals(t, "..")
	if len(used) < len(listed) {
		t.Fatalf("found %d reason literals in the module, fewer than the %d listed: the scan is broken", len(used), len(listed))
	}
	for r, where := range used {
		if !listed[r] {
			t.Errorf("%s: reason %q is not in codecs.Reasons()", where, r)
		}
	}
}

// reasonLiterals finds the string values of Reason constants and
// conversions (Reason("x"), codecs.Reason("x")) in the Go files under root.
func reasonLiterals(t *testing.T, root string) map[codecs.Reason]string {
	t.Helper()
	isReason := func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.Ident:
			return e.Name == "Reason"
		case *ast.SelectorExpr:
			x, ok := e.X.(*ast.Ident)
			return ok && x.Name == "codecs" && e.Sel.Name == "Reason"
		}
		return false
	}
	out := map[codecs.Reason]string{}
	add := func(fset *token.FileSet, e ast.Expr) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		out[codecs.Reason(s)] = fset.Position(lit.Pos()).String()
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if n.Type != nil && isReason(n.Type) {
					for _, v := range n.Values {
						add(fset, v)
					}
				}
			case *ast.CallExpr:
				if isReason(n.Fun) && len(n.Args) == 1 {
					add(fset, n.Args[0])
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
