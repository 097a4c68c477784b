package recorder

import (
	"context"
	"io/fs"
	"log/slog"
	"mime"
	"path"
	"strings"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// enableInterception makes the browser ask us for every request under
// pageURL (origin[/tenant]/_recorder*), so the recorder page runs at the
// deployment's own origin while everything else goes to the deployment.
func enableInterception(ctx context.Context, pageURL string) error {
	_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: escapePattern(pageURL) + "*", RequestStage: fetch.RequestStageRequest}},
	})
	return err
}

// escapePattern escapes the wildcard characters of a Fetch URL pattern.
func escapePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)
	return r.Replace(s)
}

// servePage answers the paused requests from files until ctx ends.
func servePage(ctx context.Context, files fs.FS, pageURL string, log *slog.Logger) {
	for ev, err := range chromedp.Events(ctx, fetch.RequestPaused) {
		if err != nil {
			return
		}
		name, ours := pageFile(pageURL, ev.Request.URL)
		if !ours {
			// Matched the pattern but is not below the page (e.g. /_recorderX).
			if _, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID}); err != nil {
				log.Debug("continue request", "url", ev.Request.URL, "err", err)
			}
			continue
		}
		body, err := fs.ReadFile(files, name)
		status := int64(200)
		ctype := mime.TypeByExtension(path.Ext(name))
		if strings.HasSuffix(name, ".js") {
			ctype = "text/javascript; charset=utf-8"
		}
		if err != nil {
			status, body, ctype = 404, []byte("not found\n"), "text/plain; charset=utf-8"
			log.Warn("recorder page asked for a missing file", "file", name)
		} else {
			log.Debug("served recorder page file", "file", name, "bytes", len(body))
		}
		_, err = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
			RequestID:    ev.RequestID,
			ResponseCode: status,
			ResponseHeaders: []*fetch.HeaderEntry{
				{Name: "Content-Type", Value: ctype},
				{Name: "Cache-Control", Value: "no-store"},
			},
			Body: body,
		})
		if err != nil && ctx.Err() == nil {
			log.Warn("serve recorder page", "file", name, "err", err)
		}
	}
}

// pageFile maps a request URL under pageURL to a file name in the page's
// file system: pageURL itself is recorder.html, pageURL/x.js is x.js.
func pageFile(pageURL, reqURL string) (string, bool) {
	if i := strings.IndexAny(reqURL, "?#"); i >= 0 {
		reqURL = reqURL[:i]
	}
	rest, ok := strings.CutPrefix(reqURL, pageURL)
	if !ok {
		return "", false
	}
	switch {
	case rest == "" || rest == "/":
		return "recorder.html", true
	case strings.HasPrefix(rest, "/"):
		name := path.Clean(strings.TrimPrefix(rest, "/"))
		if !fs.ValidPath(name) {
			return "", true // served as 404
		}
		return name, true
	}
	return "", false
}
