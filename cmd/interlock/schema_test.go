package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"
)

// A JSON Schema validator for the subset testdata/inspect.schema.json uses
// (no dependency may be added): $ref to #/$defs/…, type, const, enum,
// oneOf, required, properties, additionalProperties (false), items,
// minItems/maxItems, minLength, minimum and pattern. A keyword outside the
// subset is an error, so the schema cannot silently outgrow the validator.

type jsonSchema struct {
	root map[string]any
}

func loadSchema(path string) (*jsonSchema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	return &jsonSchema{root}, nil
}

// validate checks a JSON document (decoded with UseNumber) against the
// schema.
func (s *jsonSchema) validate(doc []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value")
	}
	return s.check(s.root, v, "$")
}

var schemaKeywords = map[string]bool{
	"$schema": true, "$id": true, "$defs": true, "$ref": true, "title": true, "description": true,
	"type": true, "const": true, "enum": true, "oneOf": true, "required": true, "properties": true,
	"additionalProperties": true, "items": true, "minItems": true, "maxItems": true,
	"minLength": true, "minimum": true, "pattern": true,
}

func (s *jsonSchema) check(sch map[string]any, v any, at string) error {
	for k := range sch {
		if !schemaKeywords[k] {
			return fmt.Errorf("schema keyword %q not supported by the test validator", k)
		}
	}
	if ref, ok := sch["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		def, ok := s.root["$defs"].(map[string]any)[name].(map[string]any)
		if !found || !ok {
			return fmt.Errorf("%s: unresolvable $ref %q", at, ref)
		}
		if err := s.check(def, v, at); err != nil {
			return err
		}
	}
	if t, ok := sch["type"]; ok {
		var types []any
		if ts, ok := t.([]any); ok {
			types = ts
		} else {
			types = []any{t}
		}
		match := false
		for _, t := range types {
			match = match || jsonType(v, t.(string))
		}
		if !match {
			return fmt.Errorf("%s: %v is not of type %v", at, v, t)
		}
	}
	if c, ok := sch["const"]; ok && !jsonEqual(c, v) {
		return fmt.Errorf("%s: %v is not %v", at, v, c)
	}
	if e, ok := sch["enum"].([]any); ok {
		found := false
		for _, c := range e {
			found = found || jsonEqual(c, v)
		}
		if !found {
			return fmt.Errorf("%s: %v not in %v", at, v, e)
		}
	}
	if alts, ok := sch["oneOf"].([]any); ok {
		var matched int
		var errs []string
		for _, a := range alts {
			if err := s.check(a.(map[string]any), v, at); err != nil {
				errs = append(errs, err.Error())
			} else {
				matched++
			}
		}
		if matched != 1 {
			return fmt.Errorf("%s: matches %d of oneOf's alternatives, want 1 (%s)", at, matched, strings.Join(errs, "; "))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := sch["properties"].(map[string]any)
		for _, r := range asSlice(sch["required"]) {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s: missing required %q", at, r)
			}
		}
		for k, pv := range x {
			p, ok := props[k].(map[string]any)
			if !ok {
				if ap, ok := sch["additionalProperties"].(bool); ok && !ap {
					return fmt.Errorf("%s: unexpected property %q", at, k)
				}
				continue
			}
			if err := s.check(p, pv, at+"."+k); err != nil {
				return err
			}
		}
	case []any:
		if n, ok := sch["minItems"].(float64); ok && float64(len(x)) < n {
			return fmt.Errorf("%s: %d items, want at least %v", at, len(x), n)
		}
		if n, ok := sch["maxItems"].(float64); ok && float64(len(x)) > n {
			return fmt.Errorf("%s: %d items, want at most %v", at, len(x), n)
		}
		if it, ok := sch["items"].(map[string]any); ok {
			for i, e := range x {
				if err := s.check(it, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case string:
		if n, ok := sch["minLength"].(float64); ok && float64(utf8.RuneCountInString(x)) < n {
			return fmt.Errorf("%s: %q shorter than %v", at, x, n)
		}
		if p, ok := sch["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("schema pattern %q: %v", p, err)
			}
			if !re.MatchString(x) {
				return fmt.Errorf("%s: %q does not match %s", at, x, p)
			}
		}
	case json.Number:
		if m, ok := sch["minimum"].(float64); ok {
			if f, err := x.Float64(); err != nil || f < m {
				return fmt.Errorf("%s: %v below %v", at, x, m)
			}
		}
	}
	return nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func jsonType(v any, t string) bool {
	switch x := v.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	case json.Number:
		if t == "number" {
			return true
		}
		if t == "integer" {
			if _, err := x.Int64(); err == nil {
				return true
			}
			f, err := x.Float64()
			return err == nil && f == math.Trunc(f) && !strings.ContainsAny(x.String(), ".eE")
		}
	}
	return false
}

// jsonEqual compares a schema value (float64 numbers) with a document
// value (json.Number).
func jsonEqual(schema, doc any) bool {
	if n, ok := doc.(json.Number); ok {
		f, err := n.Float64()
		sf, ok := schema.(float64)
		return err == nil && ok && f == sf
	}
	return fmt.Sprint(schema) == fmt.Sprint(doc)
}
