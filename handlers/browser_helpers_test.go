package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/keyward/keyward/models"
)

// The browser suite drives Debian's Chromium through chromedp against the
// real Echo instance served over HTTP. It runs only when KEYWARD_TEST_CHROMIUM
// names the browser binary, as CI does.

const (
	browserWidth  = 1280
	browserHeight = 900
	// stepTimeout bounds every single browser action, so a missing element
	// fails the step instead of hanging the suite.
	stepTimeout = 15 * time.Second
)

// startBrowser launches one headless Chromium for the calling test.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("KEYWARD_TEST_CHROMIUM")
	if path == "" {
		t.Skip("browser suite skipped: set KEYWARD_TEST_CHROMIUM to the Chromium binary (e.g. /usr/bin/chromium) to run it")
	}
	if err := os.MkdirAll(filepath.Join("testdata", "screenshots"), 0o755); err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir() // created before the cancel below, so removed after the browser exits
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(browserWidth, browserHeight),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		t.Fatalf("start chromium at %s: %v", path, err)
	}
	return ctx
}

// liveServer is a test server reachable over real HTTP.
type liveServer struct {
	*testServer
	URL string
}

// startServer serves a fresh SQLite store with policy (nil: built-in) over HTTP.
func startServer(t *testing.T, policy *models.Policy) *liveServer {
	t.Helper()
	srv := newServer(t, models.OpenTestSQLite(t), policy)
	hs := httptest.NewServer(srv.Echo)
	t.Cleanup(hs.Close)
	return &liveServer{testServer: srv, URL: hs.URL}
}

func loadExample(t *testing.T, name string) *models.Policy {
	t.Helper()
	p, err := models.LoadPolicy(filepath.Join("..", "examples", name+".yaml"))
	if err != nil {
		t.Fatalf("load example %s: %v", name, err)
	}
	return p
}

// tab is one browser tab in its own browser context (its own cookie jar), so
// sessions on different test servers on 127.0.0.1 never mix.
type tab struct {
	ctx       context.Context
	base      string
	contextID cdp.BrowserContextID
}

func newTab(t *testing.T, browserCtx context.Context, base string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	b := &tab{ctx: ctx, base: base, contextID: chromedp.FromContext(ctx).BrowserContextID}
	// Let the page use the clipboard as a person's browser would after they
	// clicked, and keep the page focused although no window is shown.
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm}, Setting: browser.PermissionSettingGranted,
			Origin: base, BrowserContextID: b.contextID,
		})
		if err != nil {
			t.Logf("grant %s: %v", perm, err)
		}
	}
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Logf("focus emulation: %v", err)
	}
	// Reduced motion turns off Pico's transitions, so screenshots taken right
	// after a click show the final state.
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	})
	if err != nil {
		t.Logf("reduced motion: %v", err)
	}
	return b
}

// stepCtx bounds one action.
func (b *tab) stepCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

func (b *tab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := b.stepCtx()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v (at %s)", err, b.location(t))
	}
}

// run runs one action that returns a value.
func run[T any](t *testing.T, b *tab, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := b.stepCtx()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, b *tab, js string) T {
	t.Helper()
	return run(t, b, chromedp.Evaluate[T](js))
}

func (b *tab) location(t *testing.T) string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return strings.TrimPrefix(loc, b.base)
}

// open navigates to a path of the server and returns the HTTP status.
func (b *tab) open(t *testing.T, path string) int {
	t.Helper()
	res := run(t, b, chromedp.NavigateResponse(b.base+path))
	return int(res.Status)
}

// submit clicks sel and waits for the page it leads to; it returns the status.
func (b *tab) submit(t *testing.T, sel string) int {
	t.Helper()
	ctx, cancel := b.stepCtx()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("submit %s: %v (at %s)", sel, err, b.location(t))
	}
	return int(res.Status)
}

// path is the current path and query.
func (b *tab) path(t *testing.T) string {
	t.Helper()
	return eval[string](t, b, `location.pathname + location.search`)
}

func (b *tab) has(t *testing.T, sel string) bool {
	t.Helper()
	return eval[bool](t, b, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

func (b *tab) text(t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(run(t, b, chromedp.TextContent(chromedp.CSS(sel))))
}

func (b *tab) html(t *testing.T) string {
	t.Helper()
	return eval[string](t, b, `document.documentElement.outerHTML`)
}

// typeInto replaces a text field's value by typing, as a person would:
// focus, select all, delete, type.
func (b *tab) typeInto(t *testing.T, sel, value string) {
	t.Helper()
	b.do(t,
		chromedp.Focus(chromedp.CSS(sel)),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.KeyEvent(value),
	)
}

// key presses one key on the focused element.
func (b *tab) key(t *testing.T, k string) {
	t.Helper()
	b.do(t, chromedp.KeyEvent(k))
}

func (b *tab) active(t *testing.T) string {
	t.Helper()
	return eval[string](t, b, `(document.activeElement && document.activeElement.outerHTML.slice(0, 160)) || ""`)
}

// waitText waits until sel's text contains one of want and returns it.
func (b *tab) waitText(t *testing.T, sel string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		got = b.text(t, sel)
		for _, w := range want {
			if strings.Contains(got, w) {
				return got
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s reads %q, want one of %q", sel, got, want)
	return got
}

// shot saves a full-page screenshot to testdata/screenshots/name.png.
func (b *tab) shot(t *testing.T, name string) {
	t.Helper()
	png := run(t, b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join("testdata", "screenshots", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// shotView saves what the viewport shows, for open modal dialogs: a
// full-page capture would draw their fixed backdrop over the first screen only.
func (b *tab) shotView(t *testing.T, name string) {
	t.Helper()
	png := run(t, b, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join("testdata", "screenshots", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// unlabeledJS lists the form controls a screen reader could not name.
const unlabeledJS = `[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
	.filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
	.map(el => el.outerHTML.slice(0, 120))`

// checkLabels fails the test for every input, select and textarea on the
// current page that has no label.
func (b *tab) checkLabels(t *testing.T) {
	t.Helper()
	for _, el := range eval[[]string](t, b, unlabeledJS) {
		t.Errorf("%s: control without a label: %s", b.path(t), el)
	}
}

// page opens path, checks it answers want, checks its labels and saves a screenshot.
func (b *tab) page(t *testing.T, path string, want int, shot string) {
	t.Helper()
	if got := b.open(t, path); got != want {
		t.Fatalf("GET %s: status %d, want %d", path, got, want)
	}
	b.checkLabels(t)
	if shot != "" {
		b.shot(t, shot)
	}
}

func (b *tab) signIn(t *testing.T, email, password string) {
	t.Helper()
	if st := b.open(t, "/login"); st != http.StatusOK {
		t.Fatalf("GET /login: status %d", st)
	}
	b.typeInto(t, "#email", email)
	b.typeInto(t, "#password", password)
	if st := b.submit(t, `form[action="/login"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("sign in as %s: status %d at %s", email, st, b.path(t))
	}
	if !b.has(t, `form[action="/logout"]`) {
		t.Fatalf("sign in as %s: no sign-out button at %s", email, b.path(t))
	}
}

func (b *tab) signOut(t *testing.T) {
	t.Helper()
	if st := b.submit(t, `form[action="/logout"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("sign out: status %d", st)
	}
	if p := b.path(t); !strings.HasPrefix(p, "/login") {
		t.Fatalf("after sign out at %s, want /login", p)
	}
}

// allowDownloads saves downloads of this tab's browser context to dir.
func (b *tab) allowDownloads(t *testing.T, dir string) {
	t.Helper()
	_, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: b.contextID,
		DownloadPath: dir, EventsEnabled: new(true),
	})
	if err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
}

// download clicks a link and waits for the file it downloads.
func (b *tab) download(t *testing.T, sel, dir string) (name string, data []byte) {
	t.Helper()
	ctx, cancel := b.stepCtx()
	defer cancel()
	begun := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	var guid string
	for ev, err := range begun {
		if err != nil {
			t.Fatalf("download did not begin: %v", err)
		}
		guid, name = ev.GUID, ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download did not finish: %v", err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatalf("download of %s canceled", name)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, guid)) // allowAndName names files by guid
	if err != nil {
		t.Fatalf("read download: %v", err)
	}
	return name, data
}

// disableScript turns JavaScript off for the tab's pages.
func (b *tab) disableScript(t *testing.T) {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable script: %v", err)
	}
}

// apiResult is one answer of the HTTP API.
type apiResult struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (r apiResult) code() string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// apiClient does not follow redirects: an API answers, it never sends a
// client to the sign-in page.
var apiClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// callAPI sends GET path with the bearer token (none when empty).
func callAPI(t *testing.T, base, path, token string) apiResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := apiResult{Status: res.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

// needAPI skips the calling step while GET /api/v1/token does not exist yet:
// asked without a token, the endpoint answers 401 with a JSON error code.
func needAPI(t *testing.T, base string) {
	t.Helper()
	r := callAPI(t, base, "/api/v1/token", "")
	if r.Status == http.StatusNotFound || r.code() == "" {
		t.Skipf("GET /api/v1/token is not implemented yet (answers %d without a JSON error): token use against the API is not checked", r.Status)
	}
}

// step runs a subtest and stops the journey when it fails, since every later
// step builds on it.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, fn) {
		t.FailNow()
	}
}

// createdToken is a token made through the new-token form.
type createdToken struct {
	Type      *models.TokenType
	Name      string
	PublicID  string
	Plaintext string
}

// createToken fills the new-token form for tt as a person would: a name, the
// first scope or role, the required IPs, attributes with a linking attribute
// typed into the Custom search, and the terms. more fills anything else. It
// saves a screenshot of the form as shot and returns what the reveal dialog shows.
func (b *tab) createToken(t *testing.T, slug string, tt *models.TokenType, name, shot string, more func()) createdToken {
	t.Helper()
	b.page(t, "/w/"+slug+"/tokens/new?type="+tt.Name, http.StatusOK, "")
	if !b.has(t, `[data-testid=token-form]`) {
		t.Fatalf("no token form for type %s", tt.Name)
	}
	b.typeInto(t, "#name", name)
	if len(tt.Scopes) > 0 {
		b.do(t, chromedp.Click(chromedp.CSS(`input[name=scopes]`)))
	}
	if tt.IPRule == "required" {
		b.typeInto(t, "#ip_allowlist", "127.0.0.1\n2001:db8::/32")
	}
	if tt.Attributes {
		for _, a := range []string{"email", "loyalty_tier"} {
			b.do(t, chromedp.Click(chromedp.CSS(`input[name=attributes][value="`+a+`"]`)))
		}
		// loyalty_tier is not among the quick choices: search the catalogue.
		b.typeInto(t, "#linking_custom", "loyalty_tier")
	}
	if tt.Terms != "" {
		b.do(t, chromedp.Click(chromedp.CSS(`input[name=accept_terms]`)))
	}
	if more != nil {
		more()
	}
	if shot != "" {
		b.shot(t, shot)
	}
	if st := b.submit(t, `[data-testid=token-form] button[type=submit]`); st != http.StatusCreated {
		errs := eval[[]string](t, b, `[...document.querySelectorAll('.field-error, .flash-error')].map(e => e.id + ": " + e.textContent.trim())`)
		t.Fatalf("create %s token: status %d, errors %q", tt.Name, st, errs)
	}
	if !b.has(t, `dialog[open][data-testid=reveal]`) {
		t.Fatalf("create %s token: no open reveal dialog", tt.Name)
	}
	plain := b.text(t, "#token-value")
	m := tokenPattern.FindStringSubmatch(plain)
	if m == nil || m[1] != tt.Prefix {
		t.Fatalf("revealed token %q does not read %s_<id>_<secret>", plain, tt.Prefix)
	}
	return createdToken{Type: tt, Name: name, PublicID: m[2], Plaintext: plain}
}

var tokenPattern = regexp.MustCompile(`^([a-z]+)_([0-9A-Za-z]{8})_[0-9A-Za-z]{32}$`)

// copyToken clicks Copy in the open dialog and checks the button says so.
func (b *tab) copyToken(t *testing.T, plaintext string) {
	t.Helper()
	b.do(t, chromedp.Click(chromedp.CSS(`dialog[open] [data-copy-target]`)))
	b.waitText(t, `dialog[open] [data-copy-target]`, "Copied")
	got, err := clipboardText(b)
	if err != nil {
		t.Logf("clipboard not readable (%v); the button said Copied", err)
	} else if got != plaintext {
		t.Errorf("clipboard holds %q, want the token", got)
	}
}

func clipboardText(b *tab) (string, error) {
	ctx, cancel := b.stepCtx()
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
}

// closeReveal closes the dialog with its close button and checks the token
// has left the page, also after a reload, and that the reload made nothing new.
func (b *tab) closeReveal(t *testing.T, srv *liveServer, slug string, tok createdToken) {
	t.Helper()
	before := srv.tokenCount(t, slug)
	b.do(t, chromedp.Click(chromedp.CSS(`[data-testid=close]`)))
	b.waitGone(t, tok.Plaintext)
	if b.has(t, `dialog[open]`) {
		t.Errorf("dialog still open after Close")
	}
	b.do(t, chromedp.Reload())
	want := "/w/" + slug + "/tokens/" + tok.PublicID
	if p := b.path(t); p != want {
		t.Errorf("after reload at %s, want the token page %s", p, want)
	}
	if strings.Contains(b.html(t), tok.Plaintext) || b.has(t, `dialog[open]`) {
		t.Errorf("token shown again after reload")
	}
	if after := srv.tokenCount(t, slug); after != before {
		t.Errorf("reload changed the number of tokens from %d to %d", before, after)
	}
}

// waitGone waits until secret no longer appears anywhere in the document.
func (b *tab) waitGone(t *testing.T, secret string) {
	t.Helper()
	js := fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, secret)
	for range 50 {
		if !eval[bool](t, b, js) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("the token is still in the page after closing the dialog")
}

func (srv *liveServer) tokenCount(t *testing.T, slug string) int64 {
	t.Helper()
	ctx := context.Background()
	w, err := srv.Store.WorkspaceBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	_, n, err := srv.Store.TokensByWorkspace(ctx, models.TokenQuery{WorkspaceID: w.ID, PerPage: 1, Page: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
