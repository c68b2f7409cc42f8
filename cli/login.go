package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/httpapi"
)

// readSecret reads a secret: from the terminal without echo, or the first line of stdin when
// it is not a terminal (scripts: echo "$PW" | gatehouse login --password-stdin).
func (a *App) readSecret(prompt string) (gatehouse.Secret, error) {
	if f, ok := a.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.Err, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.Err)
		if err != nil {
			return gatehouse.Secret{}, fmt.Errorf("read password: %w", err)
		}
		return gatehouse.OutgoingSecret(string(b)), nil
	}
	line, err := a.readLine()
	return gatehouse.OutgoingSecret(line), err
}

// readLine reads the next line of stdin; successive calls take successive lines.
func (a *App) readLine() (string, error) {
	if a.stdin == nil {
		a.stdin = bufio.NewReader(a.In)
	}
	s, err := a.stdin.ReadString('\n')
	if err != nil && s == "" {
		return "", gatehouse.Invalidf("stdin", "expected a line of input")
	}
	return strings.TrimRight(s, "\r\n"), nil
}

func (a *App) loginCmd() *cobra.Command {
	var user, expires string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in and save a personal API token for the next commands",
		Example: `  gatehouse login --server http://127.0.0.1:8080 --username alice
  echo "$PASSWORD" | gatehouse login --server https://gatehouse.example.com --username ci-admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			server := a.server
			if server == "" {
				server = cfg.Server
			}
			if server == "" {
				return gatehouse.Invalidf("--server", "is required: expected the server URL, e.g. http://127.0.0.1:8080")
			}
			if user == "" {
				fmt.Fprint(a.Err, "Username: ")
				if user, err = a.readLine(); err != nil {
					return err
				}
			}
			pw, err := a.readSecret("Password: ")
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			in := httpapi.TokenLogin{Credentials: gatehouse.Credentials{Name: user, Password: pw},
				TokenCreate: gatehouse.TokenCreate{Name: "cli on " + host, ExpiresIn: expires}}
			var tok gatehouse.NewToken
			if err := client.New(server, "").Do(cmd.Context(), "POST", path("tokens", "login"), nil, in, &tok); err != nil {
				return err
			}
			if err := a.saveConfig(cliConfig{Server: server, Token: tok.Secret, User: tok.User}); err != nil {
				return err
			}
			return a.say(tok.Token, "Logged in to %s as %s (token %s… expires %s).", server, tok.User, tok.Prefix, tok.ExpiresAt.Format("2006-01-02"))
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name (prompted when missing)")
	cmd.Flags().StringVar(&expires, "expires-in", "720h", "lifetime of the saved token")
	return cmd
}

func (a *App) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the saved token and forget it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil || cfg.Token == "" {
				return a.say(map[string]bool{"logged_out": true}, "Not logged in.")
			}
			c := client.New(cfg.Server, cfg.Token)
			var toks httpapi.List[gatehouse.Token]
			if err := c.Do(cmd.Context(), "GET", path("tokens"), nil, nil, &toks); err == nil {
				for _, t := range toks.Items {
					if strings.HasPrefix(cfg.Token, t.Prefix) && t.RevokedAt == nil {
						_ = c.Do(cmd.Context(), "DELETE", path("tokens", fmt.Sprint(t.ID)), nil, nil, nil)
					}
				}
			}
			cfg.Token = ""
			if err := a.saveConfig(cfg); err != nil {
				return err
			}
			return a.say(map[string]bool{"logged_out": true}, "Logged out of %s.", cfg.Server)
		},
	}
}

func (a *App) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who you are signed in as, and your roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var me httpapi.Me
			if err := c.Do(cmd.Context(), "GET", path("me"), nil, nil, &me); err != nil {
				return err
			}
			t := rowsOf(me.Grants, []string{"role", "scope"}, func(g httpapi.MeGrant) []string { return []string{string(g.Role), g.Scope} })
			if a.output == "table" {
				fmt.Fprintf(a.Out, "%s (%s, via %s) groups: %s\n\n", me.User.Name, me.User.Kind, me.Via, strings.Join(me.User.Groups, ", "))
			}
			return a.render(me, t)
		},
	}
}

func (a *App) passwdCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "passwd",
		Short: "Change your own password (current, then new, from the terminal or stdin lines)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			cur, err := a.readSecret("Current password: ")
			if err != nil {
				return err
			}
			next, err := a.readSecret("New password: ")
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), "PUT", path("me", "password"), nil, gatehouse.PasswordChange{Current: cur, New: next}, nil); err != nil {
				return err
			}
			return a.say(map[string]bool{"changed": true},
				"Password changed. Your sessions and gatehouse login tokens are revoked: sign in again (gatehouse login, and in the browser).")
		},
	}
}
