package web

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
)

// connectScript loads lib-jitsi-meet the way a page at the deployment's
// origin does and connects anonymously over /config.js's websocket URL.
const connectScript = `(async () => {
  if (typeof JitsiMeetJS === 'undefined' || typeof JitsiMeetJS.init !== 'function') {
    return 'JitsiMeetJS.init missing';
  }
  JitsiMeetJS.init({});
  JitsiMeetJS.setLogLevel(JitsiMeetJS.logLevels.ERROR);
  const conn = new JitsiMeetJS.JitsiConnection(null, null,
    { hosts: config.hosts, serviceUrl: config.websocket, bosh: config.bosh });
  const E = JitsiMeetJS.events.connection;
  const result = await new Promise(resolve => {
    const t = setTimeout(() => resolve('timeout'), 15000);
    conn.addEventListener(E.CONNECTION_ESTABLISHED, () => { clearTimeout(t); resolve('established'); });
    conn.addEventListener(E.CONNECTION_FAILED, (e) => { clearTimeout(t); resolve('failed: ' + e); });
    conn.connect();
  });
  conn.disconnect();
  return result + ' ' + config.hosts.domain;
})()`

func TestChromiumLoadsLibAndConnectsThroughProxy(t *testing.T) {
	if _, err := browser.FindBinary(""); err != nil {
		t.Skip(err)
	}
	s, _ := startFront(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := browser.Start(ctx, browser.Options{})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	defer b.Close()

	if err := chromedp.Do(b.Context(), chromedp.Navigate(s.URL()+"/_lab/libcheck.html")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	got, err := chromedp.Run(b.Context(), chromedp.Evaluate[string](connectScript, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	if got != "established localhost" {
		t.Fatalf("lib-jitsi-meet in Chromium: %q, want an established connection", got)
	}
	t.Logf("lib-jitsi-meet %s connected over the proxied websocket",
		must(chromedp.Run(b.Context(), chromedp.Evaluate[string](`JitsiMeetJS.version`))))
}

func must[T any](v T, _ error) T { return v }
