package worker

import (
	"context"
	"time"

	"github.com/gatehousehq/gatehouse/kube"
)

// identify reads what the cluster of conn says it is and has the store check it: a cluster
// registered twice under two names, or one whose server now answers as another cluster, is
// refused (precondition failed) before anything is deployed to it.
func (r *Runner) identify(ctx context.Context, conn *kube.Conn) error {
	id, err := conn.Identity(ctx)
	if err != nil {
		return err
	}
	return r.opt.Store.ObserveCluster(ctx, conn.Name, id)
}

// identifyClusters identifies the registered clusters whose identity is not known yet (those
// registered while unreachable, or before Gatehouse identified clusters), so that the same
// cluster registered again under another name is refused at once.
func (r *Runner) identifyClusters(ctx context.Context) {
	names, err := r.opt.Store.UnidentifiedClusters(ctx)
	if err != nil {
		r.log.Warn("identify clusters", "err", err)
		return
	}
	for _, name := range names {
		conn, err := r.opt.Clusters.Get(ctx, name)
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = r.identify(cctx, conn)
			cancel()
		}
		if err != nil && ctx.Err() == nil {
			r.log.Info("cluster not identified: it is identified at its next deployment", "cluster", name, "err", err)
		}
	}
}
