package ui_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// pageClient is a person signed in through the sign-in form, as a browser without scripts: a
// cookie jar, the session's CSRF token as the pages carry it, and (when pages is set) a record
// of every page it read. It does not follow redirects, so a test sees where a form leads.
type pageClient struct {
	t     *testing.T
	base  string
	c     *http.Client
	csrf  string
	pages *[]string
}

var formField = regexp.MustCompile(`name="(login_token|csrf_token)" value="([^"]+)"`)

// field returns the value of a hidden login_token or csrf_token field of a page.
func field(t *testing.T, body, name string) string {
	t.Helper()
	for _, m := range formField.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no %s field in:\n%s", name, body)
	return ""
}

// newPageClient is a browser that has signed in nowhere yet; pages, when not nil, collects
// every page it reads.
func newPageClient(t *testing.T, srv *testserver.Server, pages *[]string) *pageClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &pageClient{t: t, base: srv.URL, pages: pages,
		c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signInPages signs the user in through the sign-in form; pages, when not nil, collects every
// page the client reads.
func signInPages(t *testing.T, srv *testserver.Server, user string, pages *[]string) *pageClient {
	t.Helper()
	b := newPageClient(t, srv, pages)
	_, body := b.get("/ui/login")
	form := url.Values{"username": {user}, "password": {testserver.Password}, "login_token": {field(t, body, "login_token")}}
	if resp, body := b.send("/ui/login", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d %s", user, resp.StatusCode, body)
	}
	b.csrf = field(t, b.page("/ui/approvals"), "csrf_token")
	return b
}

func (b *pageClient) read(resp *http.Response, err error) (*http.Response, string) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if b.pages != nil {
		*b.pages = append(*b.pages, string(body))
	}
	return resp, string(body)
}

// get GETs a path and returns the status and the page.
func (b *pageClient) get(path string) (int, string) {
	b.t.Helper()
	resp, body := b.read(b.c.Get(b.base + path))
	return resp.StatusCode, body
}

// page GETs a page that must render.
func (b *pageClient) page(path string) string {
	b.t.Helper()
	status, body := b.get(path)
	if status != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%s", path, status, body)
	}
	return body
}

// send posts the form as it is.
func (b *pageClient) send(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	return b.read(b.c.PostForm(b.base+path, form))
}

// post posts the form with the session's CSRF token, as the pages' forms do.
func (b *pageClient) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	withToken := url.Values{"csrf_token": {b.csrf}}
	for k, v := range form {
		withToken[k] = v
	}
	return b.send(path, withToken)
}

// submit posts the form with the CSRF token and follows a redirect after it, as a browser
// does: it returns the final status, page and path.
func (b *pageClient) submit(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, body := b.post(path, form)
	if resp.StatusCode != http.StatusSeeOther {
		return resp.StatusCode, body, path
	}
	to := resp.Header.Get("Location")
	status, page := b.get(to)
	return status, page, to
}

// formValue returns the value of a field of the page's form that posts to action, as a
// browser would send it.
func formValue(t *testing.T, body, action, name string) string {
	t.Helper()
	form := regexp.MustCompile(`(?s)<form[^>]*action="` + regexp.QuoteMeta(action) + `"[^>]*>(.*?)</form>`).FindStringSubmatch(body)
	if form == nil {
		t.Fatalf("no form posting to %s in:\n%s", action, body)
	}
	f := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(form[1])
	if f == nil {
		t.Fatalf("the form posting to %s has no %s field:\n%s", action, name, form[0])
	}
	return html.UnescapeString(f[1])
}
