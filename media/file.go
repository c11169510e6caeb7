package media

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// DecryptToFile runs decrypt with a new temporary file in path's directory
// as its dst and, only if decrypt returns nil, syncs the file and renames
// it to path (replacing any file there); on any error, or a panic, it
// removes the temporary file and leaves path as it was. Use it when the
// output must not exist unless every check passed: a blob whose source
// changed between decryption's two reads (ErrSourceChanged), a failed
// write, or WhatsApp's fileSHA256, which is checked after writing
// (ErrInvalidPlaintextHash), leave no file behind.
//
//	err := media.DecryptToFile("photo.jpg", func(dst io.Writer) error {
//		return media.DecryptSignal(dst, blob, blobSize, p.Key, int64(p.Size), p.SignalCheck())
//	})
//
// The file is created with mode 0600 (os.CreateTemp), named
// ".<name>.<random>.tmp" until the rename; decrypt must not keep dst after
// it returns.
func DecryptToFile(path string, decrypt func(dst io.Writer) error) (err error) {
	if decrypt == nil {
		return errors.New("media: nil decrypt function")
	}
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			f.Close() // a second Close only returns os.ErrClosed
			os.Remove(f.Name())
		}
	}()
	if err := decrypt(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	committed = true
	// Make the rename durable where the platform allows it; the file is in
	// place whether or not this succeeds.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
