package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/storage"
)

// ActivateFunc checks and prepares a new imsguard bundle while OPA activates it, inside
// OPA's storage transaction. It returns a function that is called once OPA has committed
// the bundle (true: install it now) or failed to (false). An error vetoes the activation:
// OPA aborts the transaction, keeps the previous bundle, logs the error and reports it in
// the bundle's status (and so through the status plugin); the bundle is not persisted.
// A transaction that leaves neither a revision nor data under data.imsguard (the bundle
// removed by a new configuration) is committed without asking: the caller keeps what it
// has.
type ActivateFunc func(ctx context.Context, b *Bundle) (finish func(committed bool), err error)

// vetoStore is OPA's store with a veto on commits that change the imsguard bundle: the
// writes of a transaction are watched, and a transaction that wrote under data.imsguard
// or the bundle's manifest is read back (its pending state) and handed to activate before
// it is committed. Everything else passes through to the wrapped store unchanged.
type vetoStore struct {
	storage.Store
	activate ActivateFunc

	mu      sync.Mutex
	touched map[uint64]bool // write transactions that changed the imsguard bundle
}

func newVetoStore(inner storage.Store, activate ActivateFunc) *vetoStore {
	return &vetoStore{Store: inner, activate: activate, touched: map[uint64]bool{}}
}

// touches reports whether a write at path can change the imsguard bundle: its data root,
// its manifest under /system/bundles/imsguard, or a prefix of either.
func touches(path storage.Path) bool {
	within := func(p []string) bool {
		n := min(len(p), len(path))
		return slices.Equal(path[:n], p[:n])
	}
	return within([]string{Root}) || within([]string{"system", "bundles", Name})
}

func (s *vetoStore) mark(txn storage.Transaction) {
	s.mu.Lock()
	s.touched[txn.ID()] = true
	s.mu.Unlock()
}

func (s *vetoStore) take(txn storage.Transaction) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.touched[txn.ID()]
	delete(s.touched, txn.ID())
	return t
}

// Write implements storage.Store.
func (s *vetoStore) Write(ctx context.Context, txn storage.Transaction, op storage.PatchOp, path storage.Path, value any) error {
	if touches(path) {
		s.mark(txn)
	}
	return s.Store.Write(ctx, txn, op, path, value)
}

// Truncate implements storage.Store (OPA's bundle activation of a lazily loaded bundle).
func (s *vetoStore) Truncate(ctx context.Context, txn storage.Transaction, params storage.TransactionParams, it storage.Iterator) error {
	if params.RootOverwrite || slices.Contains(params.BasePaths, Root) {
		s.mark(txn)
	}
	return s.Store.Truncate(ctx, txn, params, it)
}

// Abort implements storage.Store.
func (s *vetoStore) Abort(ctx context.Context, txn storage.Transaction) {
	s.take(txn)
	s.Store.Abort(ctx, txn)
}

// Commit implements storage.Store: a transaction that changed the imsguard bundle is
// committed only when activate accepts the bundle it leaves.
func (s *vetoStore) Commit(ctx context.Context, txn storage.Transaction) error {
	if !s.take(txn) {
		return s.Store.Commit(ctx, txn)
	}
	b, err := s.pending(ctx, txn)
	if err != nil {
		s.Store.Abort(ctx, txn)
		return err
	}
	if b.Revision == "" && b.Data == nil {
		// OPA's own bookkeeping under /system, or the bundle removed: nothing to check,
		// and the caller keeps the set it has.
		return s.Store.Commit(ctx, txn)
	}
	finish, err := s.activate(ctx, b)
	if err != nil {
		s.Store.Abort(ctx, txn)
		return err
	}
	if err := s.Store.Commit(ctx, txn); err != nil {
		finish(false)
		return err
	}
	finish(true)
	return nil
}

// pending reads the imsguard bundle as the transaction leaves it.
func (s *vetoStore) pending(ctx context.Context, txn storage.Transaction) (*Bundle, error) {
	b := &Bundle{}
	rev, err := bundle.ReadBundleRevisionFromStore(ctx, s.Store, txn, Name)
	if err != nil && !storage.IsNotFound(err) {
		return nil, fmt.Errorf("read the revision of bundle %s: %w", Name, err)
	}
	b.Revision = rev
	v, err := s.Store.Read(ctx, txn, storage.Path{Root})
	switch {
	case storage.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read data.%s: %w", Root, err)
	default:
		if b.Data, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("read data.%s: %w", Root, err)
		}
	}
	b.Digest = digest(b.Revision, b.Data)
	return b, nil
}
