package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// WebhookService implements gatehouse.WebhookService. URLs and signing secrets are sealed.
type WebhookService struct{ db *DB }

// NewWebhookService returns the webhook service of db.
func NewWebhookService(db *DB) *WebhookService { return &WebhookService{db: db} }

const webhookSelect = `SELECT w.id, p.name, w.name, w.url_host, w.format, w.events, w.secret_sealed <> '', w.created_by, w.created_at
	FROM webhooks w JOIN projects p ON p.id = w.project_id`

func scanWebhook(row scanner) (*gatehouse.Webhook, error) {
	var w gatehouse.Webhook
	var events string
	var created int64
	if err := row.Scan(&w.ID, &w.Project, &w.Name, &w.Host, &w.Format, &events, &w.Signed, &w.CreatedBy, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("webhook events: %w", err)
	}
	w.CreatedAt = fromMicro(created)
	return &w, nil
}

func webhookAAD(id int64, part string) string { return fmt.Sprintf("webhook/%d/%s", id, part) }

// CreateWebhook implements gatehouse.WebhookService.
func (s *WebhookService) CreateWebhook(ctx context.Context, project string, in gatehouse.WebhookCreate) (*gatehouse.Webhook, error) {
	var w *gatehouse.Webhook
	err := s.db.write(ctx, func(tx *Tx) error {
		who, p, err := visibleProject(ctx, tx, project)
		if err != nil {
			return err
		}
		if err := who.Require(gatehouse.ActionManage, gatehouse.Target{Project: project}); err != nil {
			return err
		}
		host, err := in.Validate()
		if err != nil {
			return err
		}
		events, _ := json.Marshal(in.Events)
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO webhooks (project_id, name, url_sealed, url_host, format, secret_sealed, events, created_by, created_at)
			VALUES ($1, $2, '', $3, $4, '', $5, $6, $7) RETURNING id`, p.ID, in.Name, host, in.Format, string(events), who.UserName, micro(tx.now)).Scan(&id)
		if isUniqueViolation(err) {
			return gatehouse.Conflictf("webhook %q already exists in project %q", in.Name, project)
		} else if err != nil {
			return fmt.Errorf("insert webhook: %w", err)
		}
		secret := ""
		if !in.Secret.IsZero() {
			secret = s.db.secrets.Seal([]byte(in.Secret.Reveal()), webhookAAD(id, "secret"))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET url_sealed = $1, secret_sealed = $2 WHERE id = $3`,
			s.db.secrets.Seal([]byte(in.URL.Reveal()), webhookAAD(id, "url")), secret, id); err != nil {
			return fmt.Errorf("seal webhook: %w", err)
		}
		if w, err = scanWebhook(tx.QueryRowContext(ctx, webhookSelect+` WHERE w.id = $1`, id)); err != nil {
			return err
		}
		return tx.audit(change{action: "webhook.create", resource: fmt.Sprintf("webhook/%d", id), target: gatehouse.Target{Project: project}, after: w})
	})
	return w, err
}

// Webhooks implements gatehouse.WebhookService.
func (s *WebhookService) Webhooks(ctx context.Context, project string) ([]*gatehouse.Webhook, error) {
	if _, _, err := visibleProject(ctx, s.db.r, project); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, s.db.r, scanWebhook, webhookSelect+` WHERE p.name = $1 ORDER BY w.name`, project)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// DeleteWebhook implements gatehouse.WebhookService.
func (s *WebhookService) DeleteWebhook(ctx context.Context, project string, id int64) error {
	return s.db.write(ctx, func(tx *Tx) error {
		who, _, err := visibleProject(ctx, tx, project)
		if err != nil {
			return err
		}
		w, err := scanWebhook(tx.QueryRowContext(ctx, webhookSelect+` WHERE w.id = $1 AND p.name = $2`, id, project))
		if err != nil {
			return notFoundOr(err, "webhook %d not found in project %q", id, project)
		}
		if err := who.Require(gatehouse.ActionManage, gatehouse.Target{Project: project}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		return tx.audit(change{action: "webhook.delete", resource: fmt.Sprintf("webhook/%d", id), target: gatehouse.Target{Project: project}, before: w})
	})
}

// WebhookTarget is a webhook as the notifier needs it: unsealed. It is not part of any API.
type WebhookTarget struct {
	URL, Format, Secret string
}

// WebhookTarget unseals a webhook for delivery. Errors: not found (deleted since).
func (db *DB) WebhookTarget(ctx context.Context, id int64) (*WebhookTarget, error) {
	var url, format, secret string
	err := db.r.QueryRowContext(ctx, `SELECT url_sealed, format, secret_sealed FROM webhooks WHERE id = $1`, id).Scan(&url, &format, &secret)
	if err != nil {
		return nil, notFoundOr(err, "webhook %d not found", id)
	}
	u, err := db.secrets.Open(url, webhookAAD(id, "url"))
	if err != nil {
		return nil, fmt.Errorf("unseal webhook %d: %w", id, err)
	}
	t := &WebhookTarget{URL: string(u), Format: format}
	if secret != "" {
		sec, err := db.secrets.Open(secret, webhookAAD(id, "secret"))
		if err != nil {
			return nil, fmt.Errorf("unseal webhook %d: %w", id, err)
		}
		t.Secret = string(sec)
	}
	return t, nil
}
