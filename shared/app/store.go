package app

import (
	"context"
	"fmt"

	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/relay"
)

// openStore builds the store RegistrarStorage selects.
func openStore(_ context.Context, cfg config.Config) (domain.Store, error) {
	return nil, fmt.Errorf("%s=%s: no store implementation is wired into shared/app yet", config.EnvStorage, cfg.Storage.Kind)
}

// openPublisher builds the Service Bus publisher ServiceBusConnection selects; nil when none is
// configured (events then stay in the outbox).
func openPublisher(_ context.Context, cfg config.Config) (relay.Publisher, error) {
	if !cfg.ServiceBus.Configured() {
		return nil, nil
	}
	return nil, fmt.Errorf("%s: no Service Bus publisher is wired into shared/app yet", config.EnvServiceBus)
}
