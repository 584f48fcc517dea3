package codecs

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// checkKeys rejects an object key that names a field only when compared
// without case: encoding/json would fill the field from it ("TENANT_ID",
// "ſource" for "source"), while Python and every case-sensitive consumer of
// the same message see no such field, or another value where the exact key
// is also present. b must be well-formed (wellFormed).
func checkKeys(b []byte, t reflect.Type, prefix string) error {
	k := keyScanner{b: b}
	return k.value(t, strings.TrimSuffix(prefix, "."))
}

// keyScanner walks valid JSON, looking only at the keys of objects that
// decode into structs.
type keyScanner struct {
	b []byte
	i int
}

func (k *keyScanner) ws() {
	for k.i < len(k.b) && (k.b[k.i] == ' ' || k.b[k.i] == '\t' || k.b[k.i] == '\n' || k.b[k.i] == '\r') {
		k.i++
	}
}

// value consumes one value that decodes into t; path names it in errors.
func (k *keyScanner) value(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	k.ws()
	switch {
	case k.b[k.i] == '{' && t.Kind() == reflect.Struct && t != reflect.TypeFor[Time]():
		fields := jsonFields(t)
		return k.members(func(key string) error {
			f, exact := fields[key]
			if !exact {
				for name := range fields {
					if strings.EqualFold(key, name) {
						return Reject(ReasonInvalidValue, joinPath(path, key), "key %q differs from %q only in case; keys are case-sensitive", key, name)
					}
				}
			}
			if !f.walk {
				k.skip()
				return nil
			}
			return k.value(f.typ, joinPath(path, key))
		})
	case k.b[k.i] == '{' && t.Kind() == reflect.Map && needsWalk(t.Elem()):
		return k.members(func(key string) error { return k.value(t.Elem(), joinPath(path, key)) })
	case k.b[k.i] == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && needsWalk(t.Elem()):
		k.i++ // [
		for n := 0; ; n++ {
			k.ws()
			if k.b[k.i] == ']' {
				k.i++
				return nil
			}
			if err := k.value(t.Elem(), path+"["+strconv.Itoa(n)+"]"); err != nil {
				return err
			}
			k.ws()
			if k.b[k.i] == ',' {
				k.i++
			}
		}
	}
	k.skip()
	return nil
}

// members consumes an object, calling f with each key, positioned at its
// value, which f must consume.
func (k *keyScanner) members(f func(key string) error) error {
	k.i++ // {
	for {
		k.ws()
		if k.b[k.i] == '}' {
			k.i++
			return nil
		}
		raw := k.str()
		key := string(raw[1 : len(raw)-1])
		if bytes.IndexByte(raw, '\\') >= 0 {
			key = ""
			_ = json.Unmarshal(raw, &key) // valid JSON: cannot fail
		}
		k.ws()
		k.i++ // :
		if err := f(key); err != nil {
			return err
		}
		k.ws()
		if k.b[k.i] == ',' {
			k.i++
		}
	}
}

// str consumes a string and returns it quoted, as written.
func (k *keyScanner) str() []byte {
	start := k.i
	for k.i++; k.b[k.i] != '"'; k.i++ {
		if k.b[k.i] == '\\' {
			k.i++
		}
	}
	k.i++
	return k.b[start:k.i]
}

// skip consumes one value of any kind.
func (k *keyScanner) skip() {
	k.ws()
	depth := 0
	for {
		switch c := k.b[k.i]; c {
		case '"':
			k.str()
		case '{', '[':
			depth++
			k.i++
		case '}', ']':
			depth--
			k.i++
		default: // a scalar, or separators within a container
			for k.i++; k.i < len(k.b); k.i++ {
				if c := k.b[k.i]; c == '"' || c == '{' || c == '[' || c == '}' || c == ']' || c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
					break
				}
			}
		}
		if depth == 0 || k.i >= len(k.b) {
			return
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

type jsonField struct {
	typ  reflect.Type
	walk bool // needsWalk(typ)
}

// jsonFields maps the JSON names of a struct's fields to their types.
func jsonFields(t reflect.Type) map[string]jsonField {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]jsonField)
	}
	out := map[string]jsonField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name := jsonName(f); name != "" {
			out[name] = jsonField{f.Type, needsWalk(f.Type)}
		}
	}
	fieldCache.Store(t, out)
	return out
}

// jsonName is the key encoding/json reads a struct field from, "" for none.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

var fieldCache sync.Map // reflect.Type → map[string]jsonField

// needsWalk reports whether a value decoded into t can hold struct keys.
func needsWalk(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return t != reflect.TypeFor[Time]()
	case reflect.Slice, reflect.Array, reflect.Map:
		return needsWalk(t.Elem())
	}
	return false
}
