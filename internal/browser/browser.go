// Package browser drives a real headless Chromium for the web UI's end-to-end tests: one
// isolated browser per person, screenshots saved for review.
package browser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Path finds the Chromium executable (Debian's chromium package); without one the test fails
// saying what to install.
func Path(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Fatal("no Chromium: install Debian's chromium package (./scripts/test-deps.sh does)")
	return ""
}

// New starts an isolated headless browser (its own profile and cookies) that closes when the
// test ends; actions run on the returned context.
func New(tb testing.TB) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Path(tb)), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1366, 900),
		chromedp.UserDataDir(tb.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// Do runs actions with a deadline, failing the test with what was being done.
func Do(tb testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// Get runs one action that returns a value, with a deadline.
func Get[T any](tb testing.TB, ctx context.Context, what string, action chromedp.Action[T]) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	return v
}

// Screenshot saves the whole page as test-artifacts/screenshots/NAME.png under the module
// root (or GATEHOUSE_SCREENSHOTS when set).
func Screenshot(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	png := Get(tb, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(moduleRoot(), "test-artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// Cookie reads a cookie the browser holds for url, HttpOnly ones included ("" when absent).
func Cookie(tb testing.TB, ctx context.Context, url, name string) string {
	tb.Helper()
	res := Get(tb, ctx, "read cookies", chromedp.Action[*network.GetCookiesResult](
		func(ctx context.Context, t *chromedp.Target) (*network.GetCookiesResult, error) {
			r, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
			return &r, err
		}))
	for _, c := range res.Cookies {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
