package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MaxFileBytes bounds the token file: a bigger one is refused, not read.
const MaxFileBytes = 4 << 20

// File is the token file's content.
type File struct {
	Tokens []Token `json:"tokens"`
}

// Load reads and checks the token file at path: a regular file (a symlink
// to one is followed: Kubernetes mounts ConfigMap and Secret files as
// symlinks), at most MaxFileBytes, writable by its owner only and readable
// by no one outside its group (Kubernetes gives a mounted file the pod's
// fsGroup, read-only), strict JSON, every entry valid and every id unique.
// The checks are of the opened file, so a swap between check and read
// cannot pass them. A missing file is an error that says how to create one.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("token file %s does not exist: create one with \"aistream tokens create --tenant T --token-file %s\"", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	if err := checkMode(path, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("token file %s is larger than %d bytes", path, MaxFileBytes)
	}
	return parse(path, b)
}

func checkMode(path string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("token file %s is not a regular file (a directory or device is refused)", path)
	}
	if fi.Size() > MaxFileBytes {
		return fmt.Errorf("token file %s is larger than %d bytes", path, MaxFileBytes)
	}
	if fi.Mode().Perm()&0o037 != 0 {
		return fmt.Errorf("token file %s has mode %o: others must have no access and the group at most read; run \"chmod 600 %s\"", path, fi.Mode().Perm(), path)
	}
	return nil
}

func parse(path string, b []byte) (*File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("token file %s is not valid: %v (recreate it with \"aistream tokens create\")", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("token file %s has data after its JSON object", path)
	}
	seen := map[string]bool{}
	for _, t := range f.Tokens {
		if err := t.validate(); err != nil {
			return nil, fmt.Errorf("token file %s: %w", path, err)
		}
		if seen[t.ID] {
			return nil, fmt.Errorf("token file %s: token id %s appears twice", path, t.ID)
		}
		seen[t.ID] = true
	}
	return &f, nil
}

// LoadOrEmpty is Load, with an empty file for a path that does not exist
// (for "tokens create" on a new file).
func LoadOrEmpty(path string) (*File, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return &File{}, nil
	}
	return Load(path)
}

// Save writes f to path atomically (a temporary file in the same
// directory, synced, then renamed) with mode 0600.
func (f *File) Save(path string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if len(b) > MaxFileBytes {
		return fmt.Errorf("the token file would exceed %d bytes: revoke unused tokens", MaxFileBytes)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tokens-*.tmp")
	if err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write token file: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write token file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	return nil
}

// Revoke removes the token with id; false when there is none.
func (f *File) Revoke(id string) bool {
	for i, t := range f.Tokens {
		if t.ID == id {
			f.Tokens = append(f.Tokens[:i], f.Tokens[i+1:]...)
			return true
		}
	}
	return false
}
