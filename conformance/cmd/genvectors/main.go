package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/interlock-e2ee/interlock/conformance"
)

func main() {
	dir := flag.String("dir", filepath.Join("testdata", "vectors"), "vector directory")
	flag.Parse()
	files, err := conformance.GenerateVectors(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genvectors:", err)
		os.Exit(1)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(*dir, n), files[n], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "genvectors:", err)
			os.Exit(1)
		}
		fmt.Printf("%s (%d bytes)\n", n, len(files[n]))
	}
}
