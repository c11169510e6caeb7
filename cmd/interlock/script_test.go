package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The CLI test suite (issue #17): testscript-style scripts in
// testdata/script/*.txt, each run in a fresh directory against the real
// command, a separate process, so that exit statuses, standard output and
// standard error are the ones a user sees. No dependency is added: the
// command is this test binary re-executed with INTERLOCK_TEST_MAIN=1 (see
// TestMain), and the runner below implements the few commands the scripts
// need.
//
// A script is a list of commands, one a line; "#" starts a comment. Lines
// after a "-- NAME --" line up to the next one are the content of the file
// NAME, written to the work directory before the script runs. Arguments
// are split on spaces; '…' quotes ('' inside is a quote); $VAR and ${VAR} are
// expanded (WORK is the work directory; TMPDIR is $WORK/tmp, where the
// command's temporary files go). A command prefixed with "!" must fail
// (for the assertions: must not match).
//
//	interlock ARGS…          run the command (stdin: see stdin); its exit
//	                         status must be 0 unless a status line follows
//	status N                 the last run's exit status is N
//	stdout RE, stderr RE     the last run's output matches the regexp
//	                         (multi-line mode); "! stdout ." = empty
//	stdin FILE               the next run reads FILE on standard input
//	schema stdout FILE       stdout is JSON valid against the JSON Schema FILE
//	grab stdout|stderr RE VAR   VAR = the first submatch of RE
//	json stdout KEY VAR      VAR = the value of KEY in stdout's JSON object
//	env NAME=VALUE           set a variable (also in the command's environment)
//	mkfile FILE SIZE         SIZE random bytes
//	write FILE TEXT…         the words of TEXT, joined by spaces, then a newline
//	flip FILE OFFSET         flip the low bit of a byte (OFFSET < 0: from the end)
//	truncate FILE SIZE       cut FILE to SIZE bytes (SIZE < 0: drop -SIZE bytes)
//	exists GLOB              a file matches GLOB (with "!": none does)
//	cmp FILE1 FILE2          the files are identical

func TestMain(m *testing.M) {
	if os.Getenv("INTERLOCK_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/script/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// INTERLOCK_CLI_BIN runs the scripts against another build (an
	// installed interlock, or the code before a change).
	if bin := os.Getenv("INTERLOCK_CLI_BIN"); bin != "" {
		self = bin
	}
	schemaDir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := newScript(t, self, schemaDir)
			s.run(string(src))
		})
	}
}

type script struct {
	t        *testing.T
	bin      string
	work     string
	vars     map[string]string
	stdin    string
	stdout   string
	stderr   string
	status   int
	ran      bool
	checked  bool // the last run's status was asserted
	lastLine string
}

func newScript(t *testing.T, bin, testdata string) *script {
	work := t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	return &script{t: t, bin: bin, work: work, vars: map[string]string{
		"WORK": work, "TMPDIR": filepath.Join(work, "tmp"), "TESTDATA": testdata,
	}}
}

func (s *script) fatalf(format string, a ...any) {
	s.t.Helper()
	s.t.Fatalf("%s\n> %s\nstdout:\n%s\nstderr:\n%s", fmt.Sprintf(format, a...), s.lastLine, s.stdout, s.stderr)
}

func (s *script) run(src string) {
	// Files first.
	lines := strings.Split(src, "\n")
	var body []string
	var file string
	var content []string
	flush := func() {
		if file != "" {
			if err := os.WriteFile(filepath.Join(s.work, file), []byte(strings.Join(content, "\n")), 0o600); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "-- ") && strings.HasSuffix(l, " --") && len(l) > 6 {
			flush()
			file, content = strings.TrimSpace(l[3:len(l)-3]), nil
			continue
		}
		if file != "" {
			content = append(content, l)
		} else {
			body = append(body, l)
		}
	}
	flush()
	for i, l := range body {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		s.lastLine = fmt.Sprintf("line %d: %s", i+1, l)
		s.exec(l)
	}
	s.endRun()
}

// endRun checks that a run without a status assertion exited with 0.
func (s *script) endRun() {
	s.t.Helper()
	if s.ran && !s.checked && s.status != 0 {
		s.fatalf("exit status %d (no status line expected it)", s.status)
	}
}

func (s *script) expand(w string) string {
	return os.Expand(w, func(k string) string {
		v, ok := s.vars[k]
		if !ok {
			s.fatalf("undefined variable $%s", k)
		}
		return v
	})
}

// words splits a line on spaces, with '…' quoting, and expands variables
// (also inside quotes).
func (s *script) words(l string) []string {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	rs := []rune(l)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\'' && inQuote && i+1 < len(rs) && rs[i+1] == '\'':
			cur.WriteRune(r) // '' inside quotes is a quote
			i++
		case r == '\'':
			inQuote, have = !inQuote, true
		case unicode.IsSpace(r) && !inQuote:
			if have {
				out = append(out, s.expand(cur.String()))
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if inQuote {
		s.fatalf("unterminated quote")
	}
	if have {
		out = append(out, s.expand(cur.String()))
	}
	return out
}

func (s *script) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.work, p)
}

func (s *script) exec(l string) {
	s.t.Helper()
	neg := false
	if rest, ok := strings.CutPrefix(l, "!"); ok {
		neg, l = true, strings.TrimSpace(rest)
	}
	w := s.words(l)
	cmd, args := w[0], w[1:]
	need := func(n int) {
		if len(args) != n {
			s.fatalf("%s wants %d arguments", cmd, n)
		}
	}
	switch cmd {
	case "interlock":
		s.endRun()
		s.runBinary(args)
	case "status":
		need(1)
		want, err := strconv.Atoi(args[0])
		if err != nil || !s.ran {
			s.fatalf("bad status line")
		}
		s.checked = true
		if (s.status == want) == neg {
			s.fatalf("exit status %d, want %s%d", s.status, map[bool]string{true: "not ", false: ""}[neg], want)
		}
	case "stdout", "stderr":
		need(1)
		out := s.stdout
		if cmd == "stderr" {
			out = s.stderr
		}
		re, err := regexp.Compile("(?m)" + args[0])
		if err != nil {
			s.fatalf("%v", err)
		}
		if re.MatchString(out) == neg {
			s.fatalf("%s %s %q", cmd, map[bool]string{true: "matches", false: "does not match"}[neg], args[0])
		}
	case "stdin":
		need(1)
		s.stdin = s.path(args[0])
	case "schema":
		need(2)
		sch, err := loadSchema(s.path(args[1]))
		if err != nil {
			s.fatalf("schema: %v", err)
		}
		if err := sch.validate([]byte(s.stdout)); (err == nil) == neg {
			s.fatalf("schema %s: %v", args[1], err)
		}
	case "grab":
		need(3)
		out := s.stdout
		if args[0] == "stderr" {
			out = s.stderr
		}
		m := regexp.MustCompile("(?m)" + args[1]).FindStringSubmatch(out)
		if len(m) < 2 {
			s.fatalf("grab: %q not found", args[1])
		}
		s.vars[args[2]] = m[1]
	case "json":
		need(3)
		var obj map[string]any
		dec := json.NewDecoder(strings.NewReader(s.stdout))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			s.fatalf("json: %v", err)
		}
		v, ok := obj[args[1]]
		if !ok {
			s.fatalf("json: no %q", args[1])
		}
		s.vars[args[2]] = fmt.Sprint(v)
	case "env":
		need(1)
		k, v, ok := strings.Cut(args[0], "=")
		if !ok {
			s.fatalf("env NAME=VALUE")
		}
		s.vars[k] = v
	case "mkfile":
		need(2)
		n, err := strconv.Atoi(args[1])
		if err != nil {
			s.fatalf("%v", err)
		}
		b := make([]byte, n)
		rand.Read(b)
		if err := os.WriteFile(s.path(args[0]), b, 0o600); err != nil {
			s.fatalf("%v", err)
		}
	case "write":
		if len(args) < 1 {
			s.fatalf("write FILE TEXT…")
		}
		if err := os.WriteFile(s.path(args[0]), []byte(strings.Join(args[1:], " ")+"\n"), 0o600); err != nil {
			s.fatalf("%v", err)
		}
	case "flip", "truncate":
		need(2)
		b, err := os.ReadFile(s.path(args[0]))
		if err != nil {
			s.fatalf("%v", err)
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			s.fatalf("%v", err)
		}
		if n < 0 {
			n += len(b)
		}
		if n < 0 || n >= len(b) && cmd == "flip" || n > len(b) {
			s.fatalf("%s: offset %s out of range", cmd, args[1])
		}
		if cmd == "flip" {
			b[n] ^= 1
		} else {
			b = b[:n]
		}
		if err := os.WriteFile(s.path(args[0]), b, 0o600); err != nil {
			s.fatalf("%v", err)
		}
	case "exists":
		need(1)
		m, err := filepath.Glob(s.path(args[0]))
		if err != nil {
			s.fatalf("%v", err)
		}
		if (len(m) > 0) == neg {
			s.fatalf("exists %s: %v", args[0], m)
		}
	case "cmp":
		need(2)
		a, err1 := os.ReadFile(s.path(args[0]))
		b, err2 := os.ReadFile(s.path(args[1]))
		if err1 != nil || err2 != nil {
			s.fatalf("cmp: %v %v", err1, err2)
		}
		if bytes.Equal(a, b) == neg {
			s.fatalf("cmp %s %s: equal = %v", args[0], args[1], !neg)
		}
	default:
		s.fatalf("unknown script command %q", cmd)
	}
}

func (s *script) runBinary(args []string) {
	s.t.Helper()
	c := exec.Command(s.bin, args...)
	c.Dir = s.work
	c.Env = append(os.Environ(), "INTERLOCK_TEST_MAIN=1", "TMPDIR="+s.vars["TMPDIR"])
	for k, v := range s.vars {
		if k != "WORK" && k != "TMPDIR" && k != "TESTDATA" {
			c.Env = append(c.Env, k+"="+v)
		}
	}
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if s.stdin != "" {
		f, err := os.Open(s.stdin)
		if err != nil {
			s.fatalf("%v", err)
		}
		defer f.Close()
		c.Stdin = f
		s.stdin = ""
	}
	err := c.Run()
	s.stdout, s.stderr, s.ran, s.checked = out.String(), errb.String(), true, false
	s.status = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			s.fatalf("%v", err)
		}
		s.status = ee.ExitCode()
	}
}
