package app

import (
	"context"
	"fmt"

	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
)

// openStore builds the store RegistrarStorage selects.
func openStore(_ context.Context, cfg config.Config) (domain.Store, error) {
	return nil, fmt.Errorf("%s=%s: no store implementation is wired into shared/app yet", config.EnvStorage, cfg.Storage.Kind)
}
