// Package web is the lab's web front: it looks like a Jitsi Meet deployment
// to a browser (/config.js, /libs/lib-jitsi-meet.min.js, /xmpp-websocket and
// /http-bind proxied to Prosody, /colibri-ws/ to the bridge) and serves the
// lab's own pages (/_lab/...) and a meeting page at /<room>. It listens on
// loopback.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	meetingPage = "meeting.html"
	closeGrace  = 2 * time.Second
)

// Config says what the web front serves.
type Config struct {
	// Addr to listen on; default 127.0.0.1:0 (a free port).
	Addr string
	// Domain is the XMPP domain config.js announces; default "localhost".
	Domain string
	// ProsodyHTTP is host:port of Prosody's HTTP listener (websocket, BOSH).
	ProsodyHTTP string
	// LibDir holds lib-jitsi-meet.min.js and jquery.min.js (see FindLibDir).
	LibDir string
	// Assets are the lab's pages, served under /_lab/; its meeting.html is
	// also served at /<room>.
	Assets fs.FS
	// Colibri handles the bridge channel websockets under /colibri-ws/
	// (the full path is passed on); nil answers 404.
	Colibri http.Handler
	// Spec is served as JSON at /_lab/spec.json.
	Spec any
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Server is a running web front.
type Server struct {
	cfg     Config
	log     *slog.Logger
	addr    string
	lib     []byte
	libTime time.Time
	spec    []byte
	proxy   *httputil.ReverseProxy
	srv     *http.Server

	mu        sync.Mutex
	hijacked  map[net.Conn]struct{} // websockets, which http.Server.Close leaves open
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

// Start loads the lib bundle and serves on cfg.Addr until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ProsodyHTTP == "" {
		return nil, errors.New("web: no Prosody HTTP address given")
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "web"),
		libTime:  time.Now(),
		hijacked: map[net.Conn]struct{}{},
		done:     make(chan struct{}),
	}
	var err error
	if s.lib, err = buildLibBundle(cfg.LibDir); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if s.spec, err = json.MarshalIndent(cfg.Spec, "", "  "); err != nil {
		return nil, fmt.Errorf("web: encode spec: %w", err)
	}
	s.proxy = newProsodyProxy(cfg.ProsodyHTTP, s.log)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("web: listen on %s: %w", cfg.Addr, err)
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.trackConn,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("web front stopped", "err", err)
		}
	}()
	s.log.Info("web front serving", "url", s.URL(), "prosody", cfg.ProsodyHTTP, "lib_dir", cfg.LibDir)
	return s, nil
}

// URL is the base URL of the front, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return "http://" + s.addr }

// Handler returns the front's routes, for mounting elsewhere or testing.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Close stops serving and closes every open connection, proxied websockets
// included. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
		s.mu.Lock()
		for c := range s.hijacked {
			c.Close()
		}
		s.mu.Unlock()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.closeErr = s.srv.Close()
		}
		<-s.done
	})
	return s.closeErr
}

func (s *Server) trackConn(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateHijacked:
		s.hijacked[c] = struct{}{}
	case http.StateClosed:
		delete(s.hijacked, c)
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /config.js", func(w http.ResponseWriter, r *http.Request) { s.serveConfigJS(w, r, "") })
	mux.HandleFunc("GET /libs/lib-jitsi-meet.min.js", s.serveLib)
	mux.Handle("/xmpp-websocket", s.proxy)
	mux.Handle("/http-bind", s.proxy)
	mux.Handle("/colibri-ws/", s.colibri())
	mux.HandleFunc("GET /_lab/spec.json", s.serveSpec)
	mux.Handle("GET /_lab/", s.assets())
	mux.HandleFunc("GET /{$}", s.serveIndex)
	// Everything else: /<room>, and multi-tenant /<tenant>/... paths.
	mux.HandleFunc("/", s.serveRoomOrTenant)
	return mux
}

func (s *Server) serveLib(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	http.ServeContent(w, r, "lib-jitsi-meet.min.js", s.libTime, bytes.NewReader(s.lib))
}

func (s *Server) serveSpec(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(s.spec)
}

func (s *Server) colibri() http.Handler {
	if s.cfg.Colibri == nil {
		return http.NotFoundHandler()
	}
	return s.cfg.Colibri
}

func (s *Server) assets() http.Handler {
	if s.cfg.Assets == nil {
		return http.NotFoundHandler()
	}
	files := http.StripPrefix("/_lab/", http.FileServerFS(s.cfg.Assets))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The lab's pages change while people work on them; never cache.
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// serveRoomOrTenant answers what a deployment answers below its root:
// /<room> is the meeting page, and /<tenant>/config.js, /<tenant>/libs/...,
// /<tenant>/xmpp-websocket, /<tenant>/http-bind and /<tenant>/<room> are the
// same as without the tenant (the lab's XMPP domain is the same for all).
func (s *Server) serveRoomOrTenant(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(segs) == 2 && validSegment(segs[0]) {
		tenant, rest := segs[0], segs[1]
		switch rest {
		case "config.js":
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				s.serveConfigJS(w, r, tenant)
				return
			}
		case "xmpp-websocket", "http-bind":
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + rest
			r2.URL.RawPath = ""
			s.proxy.ServeHTTP(w, r2)
			return
		}
	}
	if len(segs) == 3 && validSegment(segs[0]) && segs[1] == "libs" && segs[2] == "lib-jitsi-meet.min.js" {
		s.serveLib(w, r)
		return
	}
	if (len(segs) == 1 || len(segs) == 2) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		ok := true
		for _, seg := range segs {
			ok = ok && validSegment(seg)
		}
		if ok {
			s.serveMeetingPage(w, r)
			return
		}
	}
	http.NotFound(w, r)
}

// validSegment accepts room and tenant names; names with a dot are files a
// deployment does not have (favicon.ico, ...), not rooms.
func validSegment(seg string) bool {
	return seg != "" && !strings.ContainsAny(seg, ".?#&:'\"<>\\")
}

func (s *Server) serveMeetingPage(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Assets == nil {
		http.Error(w, "no meeting page configured", http.StatusNotFound)
		return
	}
	page, err := fs.ReadFile(s.cfg.Assets, meetingPage)
	if err != nil {
		s.log.Warn("read meeting page", "err", err)
		http.Error(w, "meeting page missing", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(page)
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>jitsi-recorder lab</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>jitsi-recorder lab</h1>
<p>A Jitsi-compatible meeting on this machine (XMPP domain <code>{{.Domain}}</code>).</p>
<ul>
<li>Join a meeting: open <a href="{{.Base}}/lab">{{.Base}}/&lt;room&gt;</a>, e.g. <code>{{.Base}}/lab</code>.</li>
<li>Record it: <code>jitsi-recorder {{.Base}}/&lt;room&gt;</code></li>
<li>What a deployment serves: <a href="/config.js">/config.js</a>, <a href="/libs/lib-jitsi-meet.min.js">/libs/lib-jitsi-meet.min.js</a>, <code>/xmpp-websocket</code>, <code>/http-bind</code>.</li>
<li>The lab's media spec: <a href="/_lab/spec.json">/_lab/spec.json</a>.</li>
</ul>
</body></html>
`))

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	host := r.Host
	if host == "" {
		host = s.addr
	}
	if err := indexPage.Execute(w, struct{ Domain, Base string }{s.cfg.Domain, "http://" + host}); err != nil {
		s.log.Warn("write index", "err", err)
	}
}

// newProsodyProxy forwards XMPP over websocket and BOSH to Prosody, as a
// deployment's nginx does. ReverseProxy passes websocket upgrades through
// (with the `xmpp` subprotocol header untouched).
func newProsodyProxy(prosodyHTTP string, log *slog.Logger) *httputil.ReverseProxy {
	target := &url.URL{Scheme: "http", Host: prosodyHTTP}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		// BOSH long-polls; stream each response out as it comes.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("proxy to prosody", "path", r.URL.Path, "err", err)
			http.Error(w, "prosody unreachable", http.StatusBadGateway)
		},
	}
}
