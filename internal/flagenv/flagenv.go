// Package flagenv lets every command-line flag also come from an environment variable and from
// a config file, in that order of precedence: flag, environment, file, default.
package flagenv

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// EnvName is the environment variable of a flag: GATEHOUSE_ + the flag name in upper case with
// '-' as '_' ("database-url" → GATEHOUSE_DATABASE_URL).
func EnvName(flag string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Annotate appends each flag's environment variable to its usage text, so --help documents it.
func Annotate(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || strings.Contains(f.Usage, "(env ") {
			return
		}
		f.Usage += " (env " + EnvName(f.Name) + ")"
	})
}

// Apply sets every flag not given on the command line from its environment variable, or else
// from file (a YAML mapping of flag names to values; nil for none). Errors name the variable or
// key and what the flag expects.
func Apply(fs *pflag.FlagSet, file map[string]string) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		src, val, ok := EnvName(f.Name), "", false
		if val, ok = os.LookupEnv(src); !ok {
			src = "config file key " + f.Name
			val, ok = file[f.Name]
		}
		if !ok {
			return
		}
		if e := fs.Set(f.Name, val); e != nil {
			err = fmt.Errorf("%s: %q is not valid for --%s (%s)", src, val, f.Name, f.Value.Type())
		}
	})
	return err
}

// ReadFile reads a config file: a YAML mapping from flag names to scalar values. Unknown keys
// are refused, naming the key.
func ReadFile(path string, fs *pflag.FlagSet) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config file %s: not valid YAML: %w", path, err)
	}
	out := map[string]string{}
	for k, v := range raw {
		if fs.Lookup(k) == nil {
			return nil, fmt.Errorf("config file %s: %q is not a setting: expected one of the flags in --help", path, k)
		}
		switch x := v.(type) {
		case []any:
			parts := make([]string, len(x))
			for i, p := range x {
				parts[i] = fmt.Sprint(p)
			}
			out[k] = strings.Join(parts, ",")
		case map[string]any:
			return nil, fmt.Errorf("config file %s: %q: expected a single value or a list", path, k)
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out, nil
}
