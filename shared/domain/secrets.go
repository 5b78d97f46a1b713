package domain

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// DeploymentKey returns the deployment's random 32-byte key named name, generating it on first
// use. The first instance's conditional insert wins and every instance reads that one, so
// instances scaled out share it (the Admin API's cursor key: docs/admin-api.md, "Cursors").
func (s *Service) DeploymentKey(ctx context.Context, name string) ([]byte, error) {
	for range 2 {
		e, err := s.store.GetIndex(ctx, kindSecret, "", name)
		if err == nil {
			key, err := base64.StdEncoding.DecodeString(e.Value)
			if err != nil || len(key) < 32 {
				return nil, fmt.Errorf("domain: the stored key %s is unreadable", name)
			}
			return key, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		err = s.store.PutIndexIf(ctx, IndexEntry{Kind: kindSecret, Name: name, Value: base64.StdEncoding.EncodeToString(key)}, "")
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, err
		}
		// Another instance stored its key first: read that one.
	}
	return nil, fmt.Errorf("domain: key %s: %w", name, ErrTransient)
}
