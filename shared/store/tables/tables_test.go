package tables_test

import (
	"context"
	"testing"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/storetest"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		s, err := tables.New(context.Background(), tables.Config{ConnectionString: azurite.Start(t)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
