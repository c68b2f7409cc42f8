// Package client is a Go client of Gatehouse's REST API. Errors the server returns come back
// as *gatehouse.Error with the server's kind, field and message, so callers can branch on kinds.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Client talks to one Gatehouse server with one token.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// New returns a client of the server at baseURL ("https://gatehouse.example.com").
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// RequestError is an error answered by the server, with its request id.
type RequestError struct {
	Err       *gatehouse.Error
	Status    int
	RequestID string
}

// Error renders the server's message.
func (e *RequestError) Error() string { return e.Err.Error() }

// Unwrap gives the domain error, so gatehouse.KindOf works.
func (e *RequestError) Unwrap() error { return e.Err }

// Do sends a request with in as JSON body (when not nil) and decodes the JSON answer into out
// (when not nil). query may be nil.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	return nil
}

// Page sends a GET request for a page of a list, decodes it into out like Do, and returns
// the cursor of the next page: the cursor of the answer's Link rel="next", "" on the last.
func (c *Client) Page(ctx context.Context, path string, query url.Values, out any) (string, error) {
	resp, err := c.send(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return "", fmt.Errorf("read answer of GET %s: %w", path, err)
	}
	return nextCursor(resp.Header.Get("Link")), nil
}

// nextCursor reads the cursor of a Link header's rel="next" target.
func nextCursor(link string) string {
	for _, l := range strings.Split(link, ",") {
		target, params, _ := strings.Cut(strings.TrimSpace(l), ";")
		if !strings.Contains(params, `rel="next"`) {
			continue
		}
		if u, err := url.Parse(strings.Trim(target, "<>")); err == nil {
			return u.Query().Get("cursor")
		}
	}
	return ""
}

// Stream sends a GET request and returns the answer's body for the caller to read and close.
func (c *Client) Stream(ctx context.Context, path string, query url.Values) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	u := c.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", u, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Gatehouse at %s: %w", c.BaseURL, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb struct {
		Error struct {
			Kind      gatehouse.ErrorKind `json:"kind"`
			Field     string              `json:"field"`
			Message   string              `json:"message"`
			RequestID string              `json:"request_id"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(raw, &eb) != nil || eb.Error.Kind == "" {
		return nil, &RequestError{Err: &gatehouse.Error{Kind: gatehouse.KindInternal,
			Message: fmt.Sprintf("server answered %s", resp.Status)}, Status: resp.StatusCode}
	}
	e := eb.Error
	return nil, &RequestError{Err: &gatehouse.Error{Kind: e.Kind, Field: e.Field, Message: e.Message}, Status: resp.StatusCode, RequestID: e.RequestID}
}
