package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// importBaileys is `interlock import baileys`: from is Baileys' auth
// directory (only read).
func importBaileys(ctx context.Context, from, to string, dry, skipBad bool, stdout, stderr io.Writer) error {
	if fi, err := os.Stat(from); err != nil {
		return fmt.Errorf("source: %w", err)
	} else if !fi.IsDir() {
		return usageError{fmt.Sprintf("--from: %s is not a directory (Baileys' auth folder)", from)}
	}
	var dst *sqlstore.DB
	if !dry {
		d := parseDSN(to)
		opt := sqlstore.WithIdentityScope(session.PerDevice)
		var err error
		if d.postgres {
			dst, err = sqlstore.OpenPostgres(ctx, d.target, opt)
		} else {
			dst, err = sqlstore.Open(ctx, d.target, opt)
		}
		if err != nil {
			return fmt.Errorf("destination: %w", err)
		}
		defer dst.Close()
	}
	p := newImportProgress(stderr)
	rep, err := importer.ImportBaileys(ctx, from, dst, importer.Options{SkipBad: skipBad, DryRun: dry, Progress: p.update})
	p.done()
	if err != nil {
		if errors.Is(err, importer.ErrBadRow) {
			return fmt.Errorf("%w (nothing was imported; --skip-bad imports the rest)", err)
		}
		return err
	}
	printSummary(stdout, rep)
	return nil
}
