// Command mutant tests the mutants that gremlins finds but does not run. gremlins runs only
// mutants inside a statement block that the tests cover, and Go's coverage counts no block
// for the condition of a switch case — where many of Gatehouse's decisions are written (who
// may count, which version a vote names). Each line on standard input names one mutant as
// gremlins prints it ("NOT COVERED CONDITIONALS_NEGATION at sqlstore/ballot.go:172:18"); for
// each, mutant changes that one token, runs `go test` on the file's package (GOFLAGS and the
// environment apply, as they do for gremlins), puts the file back, and prints KILLED or LIVED
// in gremlins' form. It must run in the module's root.
package main

import (
	"bufio"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// replacements maps each gremlins mutator to what it turns each operator into.
var replacements = map[string]map[token.Token]token.Token{
	"CONDITIONALS_BOUNDARY": {token.LSS: token.LEQ, token.LEQ: token.LSS, token.GTR: token.GEQ, token.GEQ: token.GTR},
	"CONDITIONALS_NEGATION": {token.EQL: token.NEQ, token.NEQ: token.EQL, token.LSS: token.GEQ, token.LEQ: token.GTR,
		token.GTR: token.LEQ, token.GEQ: token.LSS},
	"ARITHMETIC_BASE":     {token.ADD: token.SUB, token.SUB: token.ADD, token.MUL: token.QUO, token.QUO: token.MUL, token.REM: token.MUL},
	"INCREMENT_DECREMENT": {token.INC: token.DEC, token.DEC: token.INC},
	"INVERT_NEGATIVES":    {token.SUB: token.ADD},
	"INVERT_LOGICAL":      {token.LAND: token.LOR, token.LOR: token.LAND},
	"INVERT_LOOPCTRL":     {token.BREAK: token.CONTINUE, token.CONTINUE: token.BREAK},
	"INVERT_ASSIGNMENTS": {token.ADD_ASSIGN: token.SUB_ASSIGN, token.SUB_ASSIGN: token.ADD_ASSIGN,
		token.MUL_ASSIGN: token.QUO_ASSIGN, token.QUO_ASSIGN: token.MUL_ASSIGN},
}

var line = regexp.MustCompile(`([A-Z_]+) at ([^ :]+\.go):(\d+):(\d+)`)

func main() {
	in := bufio.NewScanner(os.Stdin)
	failed := false
	for in.Scan() {
		m := line.FindStringSubmatch(in.Text())
		if m == nil {
			continue
		}
		ln, _ := strconv.Atoi(m[3])
		col, _ := strconv.Atoi(m[4])
		status, err := run(m[1], m[2], ln, col)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mutant: %s at %s:%d:%d: %v\n", m[1], m[2], ln, col, err)
			failed = true
			continue
		}
		fmt.Printf("%12s %s at %s:%d:%d\n", status, m[1], m[2], ln, col)
	}
	if failed {
		os.Exit(1)
	}
}

// run applies the mutant, tests its package and restores the file.
func run(mutator, file string, ln, col int) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	mutated, err := mutate(src, mutator, ln, col)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(file)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(file, mutated, info.Mode()); err != nil {
		return "", err
	}
	defer os.WriteFile(file, src, info.Mode())
	cmd := exec.Command("go", "test", "-count=1", "./"+filepath.Dir(file))
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil:
		return "LIVED", nil
	case strings.Contains(string(out), "[build failed]") || strings.Contains(string(out), "[setup failed]"):
		return "NOT VIABLE", nil
	}
	return "KILLED", nil
}

// mutate replaces the operator token at line:col as the mutator does.
func mutate(src []byte, mutator string, ln, col int) ([]byte, error) {
	to, ok := replacements[mutator]
	if !ok {
		return nil, fmt.Errorf("mutator %s is not known", mutator)
	}
	fset := token.NewFileSet()
	f := fset.AddFile("src.go", -1, len(src))
	var s scanner.Scanner
	s.Init(f, src, nil, 0)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return nil, fmt.Errorf("no operator at %d:%d", ln, col)
		}
		p := fset.Position(pos)
		if p.Line != ln || p.Column != col {
			continue
		}
		repl, ok := to[tok]
		if !ok {
			return nil, fmt.Errorf("%s does not change %q", mutator, lit+tok.String())
		}
		off := p.Offset
		out := append([]byte{}, src[:off]...)
		out = append(out, repl.String()...)
		return append(out, src[off+len(tok.String()):]...), nil
	}
}
