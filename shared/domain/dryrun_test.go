package domain

import (
	"context"
	"reflect"
	"slices"
	"testing"
)

// storeReads are the Store methods a dry run passes through: reads that write nothing.
var storeReads = []string{"Load", "LoadState", "History", "Rejections", "RejectionsIn", "ListClusters", "Counts", "CountsIn", "NewestSync",
	"GetIndex", "GetIndexes", "ListIndex", "ListIndexPage", "DueBy", "AttentionBy", "PendingIn"}

// TestDryRunStoreDropsEveryWrite: every Store method that is not a known read is dropped by the
// dry run's store, so a write method added to Store later cannot write during a dry run (the
// embedded store is nil here: a method passed through to it panics).
func TestDryRunStoreDropsEveryWrite(t *testing.T) {
	st := reflect.TypeFor[Store]()
	ro := reflect.ValueOf(readOnly{})
	for i := range st.NumMethod() {
		m := st.Method(i)
		if slices.Contains(storeReads, m.Name) {
			continue
		}
		args := []reflect.Value{}
		for j := range m.Type.NumIn() {
			in := m.Type.In(j)
			if in == reflect.TypeFor[context.Context]() {
				args = append(args, reflect.ValueOf(context.Background()))
			} else {
				args = append(args, reflect.Zero(in))
			}
		}
		func() {
			defer func() {
				if recover() != nil {
					t.Errorf("Store.%s reaches the store during a dry run: drop it in readOnly, or list it in storeReads if it only reads", m.Name)
				}
			}()
			out := ro.MethodByName(m.Name).Call(args)
			if err, _ := out[len(out)-1].Interface().(error); err != nil {
				t.Errorf("Store.%s: %v", m.Name, err)
			}
		}()
	}
}
