package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// decode reads a JSON request body into v strictly: the content type must be JSON (which also
// keeps cross-site HTML forms out), unknown fields and trailing data are refused, and the size
// is capped by the server's body limit.
func decode(r *http.Request, v any) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return gatehouse.Invalidf("Content-Type", "expected application/json")
	}
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := d.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return gatehouse.Invalidf("body", "expected a single JSON object")
	}
	return nil
}

// decodeError turns a JSON decoding error into an invalid-input error that names the field.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return gatehouse.Invalidf("body", "is empty: expected a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return gatehouse.Invalidf("body", "is not valid JSON: expected a JSON object")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return gatehouse.Invalidf("body", "expected a JSON object")
		}
		return gatehouse.Invalidf(field, "expected %s", jsonTypeName(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return gatehouse.Invalidf(name, "is not a known field")
	}
	return gatehouse.Invalidf("body", "cannot be read: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return fmt.Sprintf("a %s", kind)
}
