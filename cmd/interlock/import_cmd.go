package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL source driver ("pgx")
	_ "modernc.org/sqlite"             // the SQLite source driver ("sqlite")
)

const importUsage = `usage: interlock import whatsmeow|signalmeow --from DSN --to DSN [--dry-run] [--skip-bad]
       interlock import baileys --from DIR --to DSN [--dry-run] [--skip-bad]

Moves the Signal-protocol state of another library's store into an Interlock
database (store/sqlstore), so that conversations continue without re-keying
(issue #15). Sources:

  whatsmeow   go.mau.fi/whatsmeow's SQL store (go.mau.fi/libsignal records):
              one Interlock account per whatsmeow device, named by its JID;
              remote devices keep their "user:device" names (store/importer).
  signalmeow  mautrix-signal's signalmeow SQL store (libsignal records): two
              Interlock accounts per signalmeow device, the ACI's (named by
              the ACI UUID) and the PNI's (named "PNI:" and the PNI); remote
              devices keep their service ID and device ID (store/importer).
  baileys     Baileys' useMultiFileAuthState directory (creds.json,
              session-*.json, sender-key-*.json, pre-key-*.json; records of
              libsignal-node): one account, named by creds.json's me.id;
              remote devices keep their "user.device" names as the user part
              and device. Files without Signal state (app-state keys, LID
              mappings, device lists…) are listed as not imported.

A DSN is a PostgreSQL URL (postgres://…) or an SQLite file (a path, or
sqlite:PATH / file:PATH). The source is opened read-only and never modified.
Each account is written in one transaction; if any row cannot be read the
import fails naming the account, table and address, and the destination is
left as it was — unless --skip-bad, which imports the rest and lists what
was skipped and why. --dry-run reads and checks everything, writes nothing
(--to is then optional). The destination pins identities per device for
whatsmeow and Baileys, as WhatsApp requires, and per account for signalmeow, as Signal
does.

Progress goes to standard error (a progress line on a terminal, plain lines
otherwise); the closing summary goes to standard output. Exit status: 0
imported, 1 failure (nothing written), 2 usage error.
`

// runImport is `interlock import`.
func runImport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("import", importUsage)
	from := fs.String("from", "", "source `DSN` (read-only)")
	to := fs.String("to", "", "destination `DSN` (an Interlock database; created if missing)")
	dry := fs.Bool("dry-run", false, "read and check everything, write nothing")
	skipBad := fs.Bool("skip-bad", false, "leave rows that cannot be read out, and list them, instead of failing")
	if status, ok := parseArgs(fs, args, stdout, stderr); !ok {
		return status
	}
	switch {
	case fs.NArg() == 0:
		return usageFail(fs, stderr, "missing source kind (whatsmeow, signalmeow, baileys)")
	case sqlSources[fs.Arg(0)].run == nil && fs.Arg(0) != "baileys":
		return usageFail(fs, stderr, "unknown source kind %q (supported: whatsmeow, signalmeow, baileys)", fs.Arg(0))
	case fs.NArg() > 1:
		return usageFail(fs, stderr, "unexpected argument %q", fs.Arg(1))
	case *from == "":
		return usageFail(fs, stderr, "missing --from")
	case *to == "" && !*dry:
		return usageFail(fs, stderr, "missing --to")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if fs.Arg(0) == "baileys" {
		return finish(fs, stderr, importBaileys(ctx, *from, *to, *dry, *skipBad, stdout, stderr))
	}
	return finish(fs, stderr, importSQL(ctx, sqlSources[fs.Arg(0)], *from, *to, *dry, *skipBad, stdout, stderr))
}

// sqlSource is a source kind read from an SQL database.
type sqlSource struct {
	run   func(context.Context, *sql.DB, importer.Dialect, *sqlstore.DB, importer.Options) (*importer.Report, error)
	scope session.IdentityScope // the destination's identity pinning
}

var sqlSources = map[string]sqlSource{
	"whatsmeow":  {importer.ImportWhatsmeow, session.PerDevice},
	"signalmeow": {importer.ImportSignalmeow, session.PerAccount},
}

// dsn is a parsed DSN: PostgreSQL URL or SQLite path.
type dsn struct {
	postgres bool
	target   string // URL or path
}

func parseDSN(s string) dsn {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return dsn{postgres: true, target: s}
	}
	for _, p := range []string{"sqlite://", "sqlite:", "file:"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return dsn{target: rest}
		}
	}
	return dsn{target: s}
}

// openSource opens the source read-only.
func openSource(d dsn) (*sql.DB, importer.Dialect, error) {
	if d.postgres {
		u, err := url.Parse(d.target)
		if err != nil {
			return nil, "", usageError{fmt.Sprintf("--from: %v", err)}
		}
		q := u.Query()
		q.Set("default_transaction_read_only", "on")
		u.RawQuery = q.Encode()
		db, err := sql.Open("pgx", u.String())
		return db, importer.Postgres, err
	}
	if _, err := os.Stat(d.target); err != nil {
		return nil, "", fmt.Errorf("source: %w", err)
	}
	u := url.URL{Scheme: "file", Opaque: d.target, RawQuery: "mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(30000)"}
	db, err := sql.Open("sqlite", u.String())
	return db, importer.SQLite, err
}

func importSQL(ctx context.Context, kind sqlSource, from, to string, dry, skipBad bool, stdout, stderr io.Writer) error {
	src, dialect, err := openSource(parseDSN(from))
	if err != nil {
		return err
	}
	defer src.Close()
	if err := src.PingContext(ctx); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	var dst *sqlstore.DB
	if !dry {
		d := parseDSN(to)
		opt := sqlstore.WithIdentityScope(kind.scope)
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
	rep, err := kind.run(ctx, src, dialect, dst, importer.Options{SkipBad: skipBad, DryRun: dry, Progress: p.update})
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

func printSummary(w io.Writer, rep *importer.Report) {
	verb := "imported"
	if rep.DryRun {
		verb = "would import (dry run)"
	}
	t := rep.Totals()
	fmt.Fprintf(w, "%s %d account(s): %d sessions, %d sender keys, %d prekeys (%d not yet uploaded), %d signed prekeys, %d identities\n",
		verb, len(rep.Accounts), t.Sessions, t.SenderKeys, t.PreKeys, t.PreKeysNotUploaded, t.SignedPreKeys, t.Identities)
	if t.KyberPreKeys > 0 || t.Verified > 0 {
		fmt.Fprintf(w, "  %d Kyber prekeys (%d last resort); %d identities were verified (Interlock pins them like the others)\n",
			t.KyberPreKeys, t.LastResortKyberPreKeys, t.Verified)
	}
	for _, a := range rep.Accounts {
		fmt.Fprintf(w, "  %s → account %q: %d sessions, %d sender keys, %d prekeys, %d identities\n",
			sourceName(a), a.Account, a.Sessions, a.SenderKeys, a.PreKeys, a.Identities)
	}
	if t.IdentitiesFromSessions > 0 {
		fmt.Fprintf(w, "%d identities taken from sessions (the source stored none for them)\n", t.IdentitiesFromSessions)
	}
	if t.DroppedSkippedKeys > 0 {
		fmt.Fprintf(w, "%d skipped message keys beyond libsignal's limits left out (the oldest)\n", t.DroppedSkippedKeys)
	}
	for _, ig := range t.Ignored {
		fmt.Fprintf(w, "not imported: %d file(s) of %s\n", ig.Files, ig.What)
	}
	if len(t.Skipped) == 0 {
		fmt.Fprintln(w, "skipped: none")
		return
	}
	fmt.Fprintf(w, "skipped %d row(s):\n", len(t.Skipped))
	for _, a := range rep.Accounts {
		for _, s := range a.Skipped {
			fmt.Fprintf(w, "  %s: %s %s: %v\n", sourceName(a), s.Table, s.Key, s.Err)
		}
	}
}

// sourceName names an account's origin: whatsmeow's JID or signalmeow's
// local service ID.
func sourceName(a importer.AccountReport) string {
	if a.JID != "" {
		return a.JID
	}
	return a.ServiceID
}

// importProgress writes importer.Progress to stderr: one rewritten line on a
// terminal, a plain line per account and phase otherwise.
type importProgress struct {
	w     io.Writer
	tty   bool
	last  importer.Progress
	shown bool
}

func newImportProgress(w io.Writer) *importProgress {
	p := &importProgress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *importProgress) update(pr importer.Progress) {
	if p.tty {
		if pr.Total > 0 {
			fmt.Fprintf(p.w, "\r%s: %s %d/%d rows   ", pr.Account, pr.Phase, pr.Done, pr.Total)
		} else {
			fmt.Fprintf(p.w, "\r%s: %s %d rows   ", pr.Account, pr.Phase, pr.Done)
		}
		p.shown = true
		return
	}
	if pr.Account != p.last.Account || pr.Phase != p.last.Phase {
		fmt.Fprintf(p.w, "%s: %s\n", pr.Account, pr.Phase)
	}
	p.last = pr
}

func (p *importProgress) done() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}
