package live

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds how long the driver waits for one response line.
const DefaultTimeout = 30 * time.Second

// Spec says how to start one peer implementation.
type Spec struct {
	Argv []string // program and arguments
	Dir  string   // working directory; empty = the driver's
	Env  []string // added to the driver's environment
}

func (s Spec) String() string { return strings.Join(s.Argv, " ") }

// Error is a peer's ok:false answer: the request failed cleanly and the
// peer keeps serving.
type Error struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return "live: peer error " + e.Kind + ": " + e.Message }

// KindOf returns the kind of a peer error, or "" if err is not one.
func KindOf(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return ""
}

// PeerFailure is a broken peer: it died, timed out, or violated the
// transport rules. The peer is unusable afterwards.
type PeerFailure struct {
	Peer   string
	Reason string
	Stderr string // tail of the peer's standard error
}

func (e *PeerFailure) Error() string {
	s := "live: peer " + e.Peer + ": " + e.Reason
	if t := strings.TrimSpace(e.Stderr); t != "" {
		s += " [stderr tail: " + oneLine(t) + "]"
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", " | ")
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Peer is one running peer process.
type Peer struct {
	Label   string // used in messages, e.g. "B(libsignal-0.90)"
	Timeout time.Duration
	// Trace, if set, receives every request and response line.
	Trace func(label, dir, line string)

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	done   chan struct{} // closed when stdout hit EOF and the process was reaped
	exit   error         // Wait's result, valid after done
	stderr *tail
	nextID int
	broken error
	closed bool
}

// Start launches a peer process.
func Start(spec Spec, label string) (*Peer, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("live: empty peer command line")
	}
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	setProcessGroup(cmd)
	p := &Peer{
		Label:   label,
		Timeout: DefaultTimeout,
		cmd:     cmd,
		lines:   make(chan []byte, 64),
		done:    make(chan struct{}),
		stderr:  &tail{max: 4096},
	}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("live: starting %s: %w", spec, err)
	}
	p.stdin = stdin
	go p.readLoop(stdout)
	return p, nil
}

func (p *Peer) readLoop(stdout io.Reader) {
	r := bufio.NewReaderSize(stdout, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			p.lines <- bytes.TrimRight(line, "\r\n")
		}
		if err != nil {
			break
		}
	}
	p.exit = p.cmd.Wait()
	close(p.lines)
	close(p.done)
}

func (p *Peer) fail(format string, args ...any) error {
	if p.broken == nil {
		p.broken = &PeerFailure{Peer: p.Label, Reason: fmt.Sprintf(format, args...), Stderr: p.stderr.String()}
	}
	return p.broken
}

// exitDescription waits briefly for the process and describes how it ended.
func (p *Peer) exitDescription() string {
	select {
	case <-p.done:
		if p.exit == nil {
			return "exited with status 0"
		}
		return p.exit.Error()
	case <-time.After(2 * time.Second):
		return "closed its standard output"
	}
}

// Call sends one request and decodes the response's fields into out (which
// may be nil). It returns *Error for an ok:false answer and *PeerFailure for
// a broken peer.
func (p *Peer) Call(op string, fields map[string]any, out any) error {
	raw, err := p.CallRaw(op, fields)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return p.fail("malformed %s response fields: %v", op, err)
		}
	}
	return nil
}

// CallRaw is Call returning the whole response object.
func (p *Peer) CallRaw(op string, fields map[string]any) (json.RawMessage, error) {
	if p.broken != nil {
		return nil, p.broken
	}
	if p.closed {
		return nil, p.fail("request after Close")
	}
	p.nextID++
	id := p.nextID
	req := map[string]any{}
	for k, v := range fields {
		req[k] = v
	}
	req["id"] = id
	req["op"] = op
	line, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("live: encoding %s request: %w", op, err)
	}
	if p.Trace != nil {
		p.Trace(p.Label, ">", abbreviate(line))
	}
	line = append(line, '\n')
	timer := time.NewTimer(p.Timeout)
	defer timer.Stop()

	written := make(chan error, 1)
	go func() {
		_, err := p.stdin.Write(line)
		written <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			return nil, p.fail("writing %s request: %v (%s)", op, err, p.exitDescription())
		}
	case <-timer.C:
		p.kill()
		return nil, p.fail("timed out after %v writing %s request", p.Timeout, op)
	}

	var resp []byte
	select {
	case l, ok := <-p.lines:
		if !ok {
			return nil, p.fail("no response to %s (id %d): %s", op, id, p.exitDescription())
		}
		resp = l
	case <-timer.C:
		p.kill()
		return nil, p.fail("timed out after %v waiting for the %s response (id %d)", p.Timeout, op, id)
	}
	if p.Trace != nil {
		p.Trace(p.Label, "<", abbreviate(resp))
	}
	var head struct {
		ID    *int            `json:"id"`
		OK    *bool           `json:"ok"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(resp, &head); err != nil {
		return nil, p.fail("response to %s is not a JSON object: %q", op, abbreviate(resp))
	}
	if head.ID == nil || *head.ID != id {
		return nil, p.fail("response to %s has id %v, want %d", op, fmtIntPtr(head.ID), id)
	}
	if head.OK == nil {
		return nil, p.fail("response to %s lacks \"ok\"", op)
	}
	if !*head.OK {
		var e Error
		if len(head.Error) == 0 || json.Unmarshal(head.Error, &e) != nil || e.Kind == "" {
			return nil, p.fail("failure response to %s lacks error.kind: %q", op, abbreviate(resp))
		}
		if !knownKinds[e.Kind] {
			return nil, p.fail("failure response to %s has unknown error kind %q", op, e.Kind)
		}
		return nil, &e
	}
	return resp, nil
}

var knownKinds = map[string]bool{
	"invalid_message": true, "duplicate_message": true, "untrusted_identity": true,
	"no_session": true, "invalid_key": true, "invalid_signature": true, "invalid_prekey": true,
	"too_far": true, "unsupported": true, "other": true,
}

func fmtIntPtr(p *int) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

func abbreviate(b []byte) string {
	if len(b) > 300 {
		return fmt.Sprintf("%s…(%d bytes)", b[:300], len(b))
	}
	return string(b)
}

// Close ends the input, waits for the peer to exit and checks that it exited
// with status 0 and wrote nothing unrequested.
func (p *Peer) Close() error {
	if p.closed {
		return p.broken
	}
	p.closed = true
	p.stdin.Close()
	wait := max(p.Timeout, 10*time.Second)
	select {
	case <-p.done:
	case <-time.After(wait):
		p.kill()
		<-p.done
		return p.fail("did not exit within %v after end of input", wait)
	}
	if p.broken != nil {
		return p.broken
	}
	for l := range p.lines {
		return p.fail("unrequested output line: %q", abbreviate(l))
	}
	if p.exit != nil {
		return p.fail("exit after end of input: %v", p.exit)
	}
	return nil
}

// Kill ends the process at once (used after a failure).
func (p *Peer) Kill() {
	if !p.closed {
		p.closed = true
		p.stdin.Close()
	}
	p.kill()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

func (p *Peer) kill() {
	if p.cmd.Process != nil {
		killProcessGroup(p.cmd)
	}
}

// StderrTail returns the last few KiB the peer wrote to standard error.
func (p *Peer) StderrTail() string { return p.stderr.String() }
