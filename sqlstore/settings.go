package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// changeDirectly changes a subject without a draft. Only a change that no policy judges goes
// through (applied at once, audited); a change that any policy judges is refused, naming the
// policies and the draft that carries such a change.
// It returns what applying made (a configuration revision, a deployment), if anything.
func (tx *Tx) changeDirectly(sub subject, content, comment string) (int64, error) {
	k := draftKinds[sub.ref.Kind]
	current, err := k.live(tx.ctx, tx.db, tx, sub)
	if err != nil {
		return 0, err
	}
	body, err := k.prepare(tx.ctx, tx.db, tx, sub, content, current)
	if err != nil || body == current {
		return 0, err
	}
	ch, err := k.change(tx.ctx, tx.db, tx, sub, "live", "new", current, body)
	if err != nil {
		return 0, err
	}
	judges, err := k.judges(tx.ctx, tx.db, tx, sub, current, body, ch)
	if err != nil {
		return 0, err
	}
	if len(judges) > 0 {
		var names []string
		for _, j := range judges {
			if !slices.Contains(names, j.Policy.Name) {
				names = append(names, j.Policy.Name)
			}
		}
		return 0, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "%s is protected by policy %s: changes go through a draft "+
			"that they judge (the command's --propose, or gatehouse draft create --kind %s)", sub.ref, strings.Join(names, ", "), sub.ref.Kind)
	}
	return k.apply(tx, sub, current, body, application{comment: comment})
}

// renderSetting is gatehouse.RenderSetting for values that always encode.
func renderSetting(v any) string {
	s, err := gatehouse.RenderSetting(v)
	if err != nil {
		return ""
	}
	return s
}

// settingChange compares two settings written as YAML, by path.
func settingChange(fromName, toName, a, b string) (*gatehouse.ConfigChange, error) {
	va, err := gatehouse.ParseValues(fromName, a)
	if err != nil {
		return nil, err
	}
	vb, err := gatehouse.ParseValues(toName, b)
	if err != nil {
		return nil, err
	}
	return lines(&gatehouse.ConfigChange{From: fromName, To: toName, Changes: gatehouse.DiffValues(va, vb)}, a, b), nil
}

// setting is the part every settings kind shares: settings compare by path, show as they are,
// need manage, and hold no secret.
type setting struct{}

func (setting) change(_ context.Context, _ *DB, _ querier, _ subject, fromName, toName, a, b string) (*gatehouse.ConfigChange, error) {
	return settingChange(fromName, toName, a, b)
}
func (setting) view(body string) string  { return body }
func (setting) action() gatehouse.Action { return gatehouse.ActionManage }
func (setting) sealed() bool             { return false }

// environmentKind is the draft kind of an environment's placement.
type environmentKind struct{ setting }

func (environmentKind) live(_ context.Context, _ *DB, _ querier, s subject) (string, error) {
	return renderSetting(s.env.Placement), nil
}

func (environmentKind) prepare(ctx context.Context, _ *DB, q querier, s subject, content, _ string) (string, error) {
	var p gatehouse.Placement
	if err := gatehouse.ParseSetting("content", content, &p); err != nil {
		return "", err
	}
	if p.AllowNamespaces == nil {
		p.AllowNamespaces = []string{}
	}
	if err := p.Validate(); err != nil {
		return "", err
	}
	if _, _, err := placeEnvironment(ctx, q, p.Cluster, p.Namespace, s.env.ID); err != nil {
		return "", err
	}
	return renderSetting(p), nil
}

// judges of a placement: the policies that protect the environment; where it moves into a
// namespace another environment used, the policies that protect that one too; and where it
// lets releases reach outside their namespace, the policies of every environment on that
// cluster (cluster-scoped objects reach them all) and of those using the allowed namespaces.
func (environmentKind) judges(ctx context.Context, _ *DB, q querier, s subject, live, body string, _ *gatehouse.ConfigChange) ([]gatehouse.Judge, error) {
	var was, now gatehouse.Placement
	if err := gatehouse.ParseSetting("live", live, &was); err != nil {
		return nil, err
	}
	if err := gatehouse.ParseSetting("content", body, &now); err != nil {
		return nil, err
	}
	out, err := envJudges(ctx, q, s.ref.Project, s.ref.Environment)
	if err != nil {
		return nil, err
	}
	var server string
	if err := q.QueryRowContext(ctx, `SELECT server FROM clusters WHERE name = $1`, now.Cluster).Scan(&server); err != nil {
		return nil, notFoundOr(err, "cluster %q not found", now.Cluster)
	}
	others := []string{now.Namespace}
	if widens(was, now) {
		others = append(others, now.AllowNamespaces...)
	}
	for _, ns := range others {
		owner, err := namespaceOwner(ctx, q, server, ns, s.env.ID)
		if err != nil {
			return nil, err
		}
		if owner != nil {
			more, err := envJudges(ctx, q, owner.project, owner.name)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	if now.AllowClusterScoped && !was.AllowClusterScoped {
		envs, err := queryAll(ctx, q, func(r scanner) (claimant, error) {
			var c claimant
			return c, r.Scan(&c.id, &c.project, &c.name)
		}, `SELECT e.id, p.name, e.name FROM environments e JOIN projects p ON p.id = e.project_id JOIN clusters c ON c.id = e.cluster_id
			WHERE c.server = $1 AND e.id <> $2 ORDER BY p.name, e.name`, server, s.env.ID)
		if err != nil {
			return nil, fmt.Errorf("environments on the cluster: %w", err)
		}
		for _, e := range envs {
			more, err := envJudges(ctx, q, e.project, e.name)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

// widens reports whether a placement lets releases reach more namespaces than before.
func widens(was, now gatehouse.Placement) bool {
	for _, n := range now.AllowNamespaces {
		if !slices.Contains(was.AllowNamespaces, n) {
			return true
		}
	}
	return false
}

// envJudges are the judges of an environment's settings: the policies that protect it (see
// settingPolicies), counting people where they reach it.
func envJudges(ctx context.Context, q querier, project, env string) ([]gatehouse.Judge, error) {
	ts, err := envTargets(ctx, q, project, env)
	if err != nil {
		return nil, err
	}
	ps, err := settingPolicies(ctx, q, ts)
	if err != nil {
		return nil, err
	}
	return judgesOf(gatehouse.Target{Project: project, Env: env}, ps), nil
}

// apply moves the environment, records its claim on the namespace and audits the change.
func (environmentKind) apply(tx *Tx, s subject, _, body string, how application) (int64, error) {
	var p gatehouse.Placement
	if err := gatehouse.ParseSetting("content", body, &p); err != nil {
		return 0, err
	}
	clusterID, server, err := placeEnvironment(tx.ctx, tx, p.Cluster, p.Namespace, s.env.ID)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(tx.ctx, `UPDATE environments SET cluster_id = $1, namespace = $2, allow_cluster_scoped = $3,
		allow_namespaces = $4, updated_at = $5 WHERE id = $6`, clusterID, p.Namespace, p.AllowClusterScoped, jsonText(p.AllowNamespaces),
		micro(tx.now), s.env.ID); err != nil {
		return 0, fmt.Errorf("update environment: %w", err)
	}
	if err := tx.claimNamespace(server, p.Namespace, s.env.ID); err != nil {
		return 0, err
	}
	after := *s.env
	after.Placement, after.UpdatedAt = p, tx.now
	return 0, tx.audit(change{action: "environment.update", resource: "environment/" + s.ref.Project + "/" + s.ref.Environment,
		target: s.env.Target(), before: s.env, after: &after, details: how.details(nil)})
}
