package gatehouse

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// Conditions are a policy's CEL expressions over the artifact, each of which must be true for
// an image to be requested for approval or deployed. The artifact is a map:
//
//	artifact.registry ("registry.example.com"), artifact.repository, artifact.digest,
//	artifact.tags (list), artifact.labels (map), artifact.commit, artifact.commit_author,
//	artifact.builder
//
// For example: artifact.registry == "registry.example.com" && artifact.labels["tests"] == "passed"
//
// An artifact's notes are not among them: anyone who may push can change notes after the
// push, so a condition on them would be self-asserted. Labels are fixed at push.
type Conditions struct {
	exprs    []string
	programs []cel.Program
}

var (
	celEnvOnce sync.Once
	celEnv     *cel.Env
	celEnvErr  error
	celCache   sync.Map // expression → cel.Program
)

func conditionEnv() (*cel.Env, error) {
	celEnvOnce.Do(func() {
		celEnv, celEnvErr = cel.NewEnv(cel.Variable("artifact", cel.MapType(cel.StringType, cel.DynType)))
	})
	return celEnv, celEnvErr
}

// CompileConditions compiles expressions, which must each yield a bool. Errors name the
// expression (field[i]) and CEL's message.
func CompileConditions(field string, exprs []string) (*Conditions, error) {
	if len(exprs) > 20 {
		return nil, Invalidf(field, "has %d conditions: expected at most 20", len(exprs))
	}
	env, err := conditionEnv()
	if err != nil {
		return nil, fmt.Errorf("condition environment: %w", err)
	}
	c := &Conditions{exprs: exprs}
	for i, e := range exprs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(e) > 1024 {
			return nil, Invalidf(f, "is longer than 1024 characters")
		}
		if p, ok := celCache.Load(e); ok {
			c.programs = append(c.programs, p.(cel.Program))
			continue
		}
		ast, iss := env.Compile(e)
		if iss.Err() != nil {
			return nil, Invalidf(f, "does not compile: %s", strings.ReplaceAll(iss.Err().Error(), "\n", " "))
		}
		if ast.OutputType() != cel.BoolType {
			return nil, Invalidf(f, "yields %s: expected a condition (bool)", ast.OutputType())
		}
		if err := checkFacts(f, ast); err != nil {
			return nil, err
		}
		p, err := env.Program(ast, cel.CostLimit(100000))
		if err != nil {
			return nil, Invalidf(f, "cannot run: %v", err)
		}
		celCache.Store(e, p)
		c.programs = append(c.programs, p)
	}
	return c, nil
}

// artifactFacts are the names of the facts conditions see: the keys of ArtifactFacts.
var artifactFacts = slices.Sorted(maps.Keys(ArtifactFacts(&Artifact{})))

// checkFacts refuses an expression that names a field of the artifact that conditions do not
// see (artifact.x, artifact["x"], has(artifact.x)), notes above all: the map type of the
// artifact variable would let it compile, and it would only ever fail at run time. (A key
// computed at run time is not caught here, but finds nothing: ArtifactFacts has no notes.)
func checkFacts(field string, a *cel.Ast) error {
	var unknown string
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if name, ok := artifactField(e); ok && unknown == "" && !slices.Contains(artifactFacts, name) {
			unknown = name
		}
	}))
	switch unknown {
	case "":
		return nil
	case "notes":
		return Invalidf(field, "reads artifact.notes, which conditions cannot read: notes may change after the push; "+
			"use artifact.labels, which are fixed at push")
	}
	return Invalidf(field, "reads artifact.%s, which conditions do not know: expected one of %s", unknown, strings.Join(artifactFacts, ", "))
}

// artifactField names the field of the artifact variable that e selects, if it does.
func artifactField(e celast.Expr) (string, bool) {
	isArtifact := func(x celast.Expr) bool { return x.Kind() == celast.IdentKind && x.AsIdent() == "artifact" }
	switch e.Kind() {
	case celast.SelectKind:
		if s := e.AsSelect(); isArtifact(s.Operand()) {
			return s.FieldName(), true
		}
	case celast.CallKind:
		c := e.AsCall()
		if c.FunctionName() != operators.Index || len(c.Args()) != 2 || !isArtifact(c.Args()[0]) || c.Args()[1].Kind() != celast.LiteralKind {
			return "", false
		}
		if key, ok := c.Args()[1].AsLiteral().(types.String); ok {
			return string(key), true
		}
	}
	return "", false
}

// ArtifactFacts is the artifact as conditions see it: never its notes.
func ArtifactFacts(a *Artifact) map[string]any {
	registry, _, _ := strings.Cut(a.Repository, "/")
	tags := make([]any, len(a.Tags))
	for i, t := range a.Tags {
		tags[i] = t
	}
	labels := map[string]any{}
	for k, v := range a.Labels {
		labels[k] = v
	}
	return map[string]any{
		"registry": registry, "repository": a.Repository, "digest": a.Digest, "tags": tags, "labels": labels,
		"commit": a.Commit, "commit_author": a.CommitAuthor, "builder": a.Builder,
	}
}

// Failing returns the expressions the artifact does not satisfy. An expression that errors
// (a missing label read as artifact.labels["x"]) counts as failing, with the error.
func (c *Conditions) Failing(a *Artifact) []string {
	vars := map[string]any{"artifact": ArtifactFacts(a)}
	var out []string
	for i, p := range c.programs {
		v, _, err := p.Eval(vars)
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("%s (%v)", c.exprs[i], err))
		case v != types.True:
			out = append(out, c.exprs[i])
		}
	}
	return out
}

var (
	changeEnvOnce sync.Once
	changeEnv     *cel.Env
	changeEnvErr  error
)

// ChangeCondition is a compiled risk-rule condition over a configuration change.
type ChangeCondition struct{ program cel.Program }

// CompileChangeCondition compiles a CEL expression over `change` that must yield a bool.
func CompileChangeCondition(field, expr string) (*ChangeCondition, error) {
	changeEnvOnce.Do(func() {
		changeEnv, changeEnvErr = cel.NewEnv(cel.Variable("change", cel.MapType(cel.StringType, cel.DynType)))
	})
	if changeEnvErr != nil {
		return nil, fmt.Errorf("change condition environment: %w", changeEnvErr)
	}
	if expr == "" || len(expr) > 1024 {
		return nil, Invalidf(field, "expected a condition of 1 to 1024 characters, e.g. \"'secrets' in change.labels\"")
	}
	ast, iss := changeEnv.Compile(expr)
	if iss.Err() != nil {
		return nil, Invalidf(field, "does not compile: %s", strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	}
	if ast.OutputType() != cel.BoolType {
		return nil, Invalidf(field, "yields %s: expected a condition (bool)", ast.OutputType())
	}
	p, err := changeEnv.Program(ast, cel.CostLimit(100000))
	if err != nil {
		return nil, Invalidf(field, "cannot run: %v", err)
	}
	return &ChangeCondition{program: p}, nil
}

// Holds reports whether the condition is true of the change (an evaluation error is false).
func (c *ChangeCondition) Holds(kind ConfigKind, labels []string, changes []ValueChange) bool {
	ls := make([]any, len(labels))
	for i, l := range labels {
		ls[i] = l
	}
	ps := make([]any, len(changes))
	for i, ch := range changes {
		ps[i] = ch.Path
	}
	v, _, err := c.program.Eval(map[string]any{"change": map[string]any{"labels": ls, "paths": ps, "kind": string(kind)}})
	return err == nil && v == types.True
}
