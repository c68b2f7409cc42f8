package gatehouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// RenderSetting writes a setting (an environment's placement, an app's chart or hooks, a
// pipeline, a policy) in the form its drafts take: YAML with the setting's JSON field names,
// keys sorted, so equal settings give equal text and diffs compare them by path.
func RenderSetting(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("render setting: %w", err)
	}
	var m Values
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return "", fmt.Errorf("render setting: %w", err)
	}
	return RenderValues(numbers(m).(Values)), nil
}

// numbers turns JSON numbers into YAML's: integers stay integers (2, not "2" or 2.0).
func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// ParseSetting reads a setting written in YAML (or JSON) into dst, refusing fields dst does
// not have and values of the wrong type. Errors name field and what is expected.
func ParseSetting(field, text string, dst any) error {
	v, err := ParseValues(field, text)
	if err != nil {
		return err
	}
	if v == nil {
		v = Values{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Invalidf(field, "cannot be read: expected a YAML mapping of the setting's fields")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return Invalidf(field, "%s is a %s: expected a %s", te.Field, te.Value, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return Invalidf(field, "%s is not a field of this setting", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return Invalidf(field, "cannot be read: expected a YAML mapping of the setting's fields")
	}
	return nil
}
