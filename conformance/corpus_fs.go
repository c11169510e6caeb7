package conformance

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/interlock-e2ee/interlock/testdata"
)

// EmbeddedCorpus is the vector corpus built into the binary
// (testdata/vectors/*.json), so that the corpus runs from any directory.
func EmbeddedCorpus() fs.FS {
	sub, err := fs.Sub(testdata.Vectors, "vectors")
	if err != nil {
		panic(err) // a constant, valid path
	}
	return sub
}

// CorpusRun is the outcome of RunCorpusFS.
type CorpusRun struct {
	Results []CorpusResult
	// Used lists the files read, sorted; Missing the corpus files fsys does
	// not have, whose checks did not run.
	Used, Missing []string
	// Digest is FilesDigest over Used.
	Digest string
}

// RunCorpusFS runs every file of the corpus found in fsys against impl, as
// RunCorpus does for a directory. A file that is absent is never skipped
// silently: it is listed in Missing, and the report shows its check as not
// run. progress, if not nil, is called before each file.
func RunCorpusFS(impl Implementation, fsys fs.FS, progress func(file string)) (*CorpusRun, error) {
	out := &CorpusRun{}
	for _, cf := range corpusFiles {
		if progress != nil {
			progress(cf.file)
		}
		b, err := fs.ReadFile(fsys, cf.file)
		if errors.Is(err, fs.ErrNotExist) {
			out.Missing = append(out.Missing, cf.file)
			continue
		}
		if err != nil {
			return out, fmt.Errorf("conformance: %w", err)
		}
		out.Used = append(out.Used, cf.file)
		r := CorpusResult{Check: cf.check, File: cf.file, negCheck: cf.negCheck}
		if err := cf.run(impl, b, &r); err != nil {
			return out, fmt.Errorf("conformance: %s: %w", cf.file, err)
		}
		neg := r.Negative
		r.Negative = nil
		out.Results = append(out.Results, r)
		if neg != nil {
			out.Results = append(out.Results, *neg)
		}
	}
	var err error
	out.Digest, err = corpusDigest(fsys, out.Used)
	return out, err
}

// corpusDigest is FilesDigest over the named files, sorted.
func corpusDigest(fsys fs.FS, files []string) (string, error) {
	names := append([]string(nil), files...)
	sort.Strings(names)
	names = dedupe(names)
	return FilesDigest(fsys, names)
}

// corpusFileNames lists every file the corpus runs.
func corpusFileNames() []string {
	var names []string
	for _, cf := range corpusFiles {
		names = append(names, cf.file)
	}
	return names
}

// presentFiles returns the corpus files fsys has.
func presentFiles(fsys fs.FS) []string {
	var names []string
	for _, n := range corpusFileNames() {
		if _, err := fs.Stat(fsys, n); err == nil {
			names = append(names, n)
		}
	}
	return dedupe(names)
}
