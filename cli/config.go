package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
)

// cliConfig is what `gatehouse login` saves: the server and a personal token.
type cliConfig struct {
	Server string `json:"server"`
	Token  string `json:"token"`
	User   string `json:"user"`
}

func (a *App) configFile() (string, error) {
	if a.configPath != "" {
		return a.configPath, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory: %w", err)
	}
	return filepath.Join(dir, "gatehouse", "cli.json"), nil
}

func (a *App) loadConfig() (cliConfig, error) {
	var c cliConfig
	p, err := a.configFile()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	} else if err != nil {
		return c, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("read %s: %w", p, err)
	}
	return c, nil
}

// saveConfig writes the config readable by its owner only: it holds a token.
func (a *App) saveConfig(c cliConfig) error {
	p, err := a.configFile()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(p), err)
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return os.Rename(tmp, p)
}

// client returns an API client from flags (or their environment variables), else the saved
// login.
func (a *App) client() (*client.Client, error) {
	c, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	server, token := c.Server, c.Token
	if a.server != "" {
		server = a.server
	}
	if a.token != "" {
		token = a.token
	}
	if server == "" {
		return nil, gatehouse.Errorf(gatehouse.KindUnauthenticated, "no server: run `gatehouse login --server URL`, or pass --server (GATEHOUSE_SERVER)")
	}
	if token == "" {
		return nil, gatehouse.Errorf(gatehouse.KindUnauthenticated, "not logged in: run `gatehouse login`, or pass --token (GATEHOUSE_TOKEN)")
	}
	return client.New(server, token), nil
}
