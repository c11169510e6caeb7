// Command benchtable reads `go test -bench` output (and the go-bench-like
// lines of interop/libsignal/bench.js) from files or standard input and
// prints one table in benchstat's layout: per benchmark the median time with
// its spread (± the largest deviation of any run from the median, in
// percent), B/op and allocs/op (medians), extra metrics, and two ratio
// columns.
//
// "vs mau" is row time / the time of the row with the same name ending in
// /mau (go.mau.fi/libsignal v0.2.1), and the same for allocations: below 1×
// is faster. "vs prim" is the row's time over the sum of the primitive
// benchmarks (BenchmarkPrimitives/…) the operation cannot avoid:
//
//	SS(n)   = SteadyState/<n>: one message encrypted and decrypted =
//	          2 × (2 × HMAC-SHA256-32B [chain step] + HKDF-80B [message keys]
//	          + HMAC-SHA256-<n> [MAC]) + AES-CBC-encrypt-<n> + AES-CBC-decrypt-<n>
//	PingPong          = SS(64B) + X25519-keygen + 2 × X25519 + 2 × HKDF-64B
//	                    (the receiver's DH ratchet step: two root-key steps)
//	Reverse1000       = 1000 × SS(64B)
//	Setup/x3dh        = 7 × X25519-keygen (2 identities, signed and one-time
//	                    prekeys, base key, 2 ratchet keys) + XEdDSA-sign +
//	                    XEdDSA-verify + 11 × X25519 (4 + 4 agreement, 1 + 2
//	                    ratchet) + 5 × HKDF-64B + SS(64B)
//	Setup/pqxdh       = Setup/x3dh with 2 × HKDF-96B for its 2 × HKDF-64B
//	                    (PQXDH's 96-byte secrets) + Kyber1024-keygen +
//	                    XEdDSA-sign + XEdDSA-verify (the Kyber prekey and its
//	                    signature) + Kyber1024-encaps + Kyber1024-decaps +
//	                    X25519-torsion-check (the responder's check that the
//	                    base key is canonical and torsion-free) + SPQR's
//	                    first message: MLKEM768-keygen (the initiator's first
//	                    key), 2 × HKDF-64B (each side's authenticator keyed
//	                    with the SPQR key), HMAC-SHA256-64B (the header MAC)
//	                    and HKDF-96B (the responder's chain of epoch 0)
//	SteadyStateV4/<n> = SS(n); PingPongV4 = PingPong
//
// HMAC sizes: the MAC covers the 66 bytes of identity keys and the ~45-byte
// header too, which the sum leaves out, and the chain step is counted as two
// HMACs although Interlock shares one key schedule: both make the ratio a
// little pessimistic. Record rows have no primitives.
//
// Usage: benchtable [file ...]
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

type row struct {
	name    string
	metrics map[string][]float64 // unit → values, one per run
	order   []string
}

func (r *row) median(unit string) (float64, bool) {
	v := r.metrics[unit]
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// spread is the largest deviation from the median, in percent.
func (r *row) spread(unit string) float64 {
	m, ok := r.median(unit)
	if !ok || m == 0 {
		return 0
	}
	d := 0.0
	for _, x := range r.metrics[unit] {
		d = math.Max(d, math.Abs(x-m)/m)
	}
	return 100 * d
}

var (
	lineRE = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)
	procRE = regexp.MustCompile(`-\d+$`)
)

func parse(r io.Reader, rows map[string]*row, order *[]string, header *[]string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "cpu:") || strings.HasPrefix(line, "goos:") || strings.HasPrefix(line, "goarch:") {
			if !slices.Contains(*header, line) {
				*header = append(*header, line)
			}
			continue
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := procRE.ReplaceAllString(m[1], "")
		f := strings.Fields(m[4])
		rw := rows[name]
		if rw == nil {
			rw = &row{name: name, metrics: map[string][]float64{}}
			rows[name] = rw
			*order = append(*order, name)
		}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			u := f[i+1]
			if _, ok := rw.metrics[u]; !ok {
				rw.order = append(rw.order, u)
			}
			rw.metrics[u] = append(rw.metrics[u], v)
		}
	}
	return sc.Err()
}

// sizeName maps a steady-state size (64B, 1024B, 65536B) to the primitive's.
func sizeName(s string) string {
	n, err := strconv.Atoi(strings.TrimSuffix(s, "B"))
	if err != nil {
		return s
	}
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dKiB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

type prims map[string]float64

func (p prims) sum(terms map[string]float64) (float64, bool) {
	t := 0.0
	for k, c := range terms {
		v, ok := p[k]
		if !ok {
			return 0, false
		}
		t += c * v
	}
	return t, true
}

func add(dst, src map[string]float64, k float64) map[string]float64 {
	if dst == nil {
		dst = map[string]float64{}
	}
	for n, c := range src {
		dst[n] += k * c
	}
	return dst
}

func ss(size string) map[string]float64 {
	return map[string]float64{
		"HMAC-SHA256-32B": 4, "HKDF-80B": 2, "HMAC-SHA256-" + size: 2,
		"AES-CBC-encrypt-" + size: 1, "AES-CBC-decrypt-" + size: 1,
	}
}

// primitiveTerms returns the primitives a protocol row sums, or nil.
func primitiveTerms(name string) map[string]float64 {
	parts := strings.Split(name, "/")
	pingPong := add(map[string]float64{"X25519-keygen": 1, "X25519": 2, "HKDF-64B": 2}, ss("64B"), 1)
	x3dh := add(map[string]float64{"X25519-keygen": 7, "XEdDSA-sign": 1, "XEdDSA-verify": 1, "X25519": 11, "HKDF-64B": 5}, ss("64B"), 1)
	switch {
	case (parts[0] == "SteadyState" || parts[0] == "SteadyStateV4") && len(parts) >= 2:
		return ss(sizeName(parts[1]))
	case parts[0] == "PingPong" || parts[0] == "PingPongV4":
		return pingPong
	case parts[0] == "Reverse1000":
		return add(nil, ss("64B"), 1000)
	case parts[0] == "Setup" && len(parts) >= 2 && parts[1] == "x3dh":
		return x3dh
	case parts[0] == "Setup" && len(parts) >= 2 && parts[1] == "pqxdh":
		pq := add(map[string]float64{"HKDF-64B": -2, "HKDF-96B": 2}, x3dh, 1)
		return add(map[string]float64{"Kyber1024-keygen": 1, "XEdDSA-sign": 1, "XEdDSA-verify": 1,
			"Kyber1024-encaps": 1, "Kyber1024-decaps": 1, "X25519-torsion-check": 1,
			"MLKEM768-keygen": 1, "HKDF-64B": 2, "HMAC-SHA256-64B": 1, "HKDF-96B": 1}, pq, 1)
	}
	return nil
}

func fmtTime(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.3fms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2fµs", ns/1e3)
	}
	return fmt.Sprintf("%.0fns", ns)
}

func fmtNum(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fMi", v/(1<<20))
	case v >= 1e4:
		return fmt.Sprintf("%.1fKi", v/(1<<10))
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func main() {
	rows := map[string]*row{}
	var order, header []string
	if len(os.Args) == 1 {
		if err := parse(os.Stdin, rows, &order, &header); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
	for _, f := range os.Args[1:] {
		fh, err := os.Open(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		err = parse(fh, rows, &order, &header)
		fh.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
	p := prims{}
	for _, n := range order {
		if rest, ok := strings.CutPrefix(n, "Primitives/"); ok {
			p[rest], _ = rows[n].median("ns/op")
		}
	}
	for _, h := range header {
		fmt.Println(h)
	}
	out := [][]string{{"name", "time/op", "±", "B/op", "allocs/op", "time vs mau", "allocs vs mau", "vs prim", "prim sum", "other"}}
	for _, n := range order {
		r := rows[n]
		t, ok := r.median("ns/op")
		if !ok {
			continue
		}
		cells := []string{n, fmtTime(t), fmt.Sprintf("%.0f%%", r.spread("ns/op")), "", "", "", "", "", "", ""}
		b, hasB := r.median("B/op")
		if hasB {
			cells[3] = fmtNum(b)
		}
		a, hasA := r.median("allocs/op")
		if hasA {
			cells[4] = fmtNum(a)
		}
		if i := strings.LastIndex(n, "/"); i > 0 && !strings.HasSuffix(n, "/mau") {
			if m, ok := rows[n[:i]+"/mau"]; ok {
				if mt, ok := m.median("ns/op"); ok {
					cells[5] = fmt.Sprintf("%.2f× (%.1f× faster)", t/mt, mt/t)
				}
				if ma, ok := m.median("allocs/op"); ok && hasA && a > 0 {
					cells[6] = fmt.Sprintf("%.2f× (%.1f× fewer)", a/ma, ma/a)
				}
			}
		}
		if terms := primitiveTerms(n); terms != nil && !strings.HasPrefix(n, "Primitives/") {
			if s, ok := p.sum(terms); ok && s > 0 {
				cells[7] = fmt.Sprintf("%.2f×", t/s)
				cells[8] = fmtTime(s)
			}
		}
		var other []string
		for _, u := range r.order {
			if u == "ns/op" || u == "B/op" || u == "allocs/op" || u == "MB/s" {
				continue
			}
			v, _ := r.median(u)
			other = append(other, fmtNum(v)+" "+u)
		}
		cells[9] = strings.Join(other, " ")
		out = append(out, cells)
	}
	widths := make([]int, len(out[0]))
	for _, c := range out {
		for i, s := range c {
			widths[i] = max(widths[i], len([]rune(s)))
		}
	}
	for _, c := range out {
		var sb strings.Builder
		for i, s := range c {
			pad := widths[i] - len([]rune(s))
			if i == 0 {
				sb.WriteString(s + strings.Repeat(" ", pad))
			} else {
				sb.WriteString("  " + strings.Repeat(" ", pad) + s)
			}
		}
		fmt.Println(strings.TrimRight(sb.String(), " "))
	}
}
