package web

import (
	"net/http"
	"strings"
	"text/template"
)

// configJS is shaped like a Jitsi Meet deployment's /config.js (the docker
// images' generated one): the parts lib-jitsi-meet and a recorder read, with
// the usual UI-only keys the app would ignore in a headless client.
var configJS = template.Must(template.New("config.js").Funcs(template.FuncMap{"js": jsString}).Parse(
	`/* eslint-disable comma-dangle, no-unused-vars, no-var, prefer-template, vars-on-top */
// Served by the jitsi-recorder lab's web front, shaped like a deployment's config.js.
var config = {
    hosts: {
        // XMPP domain.
        domain: {{js .Domain}},

        // When using authentication, domain for guest users.
        // anonymousdomain: 'guest.example.com',

        // Domain for authenticated users. Defaults to <domain>.
        // authdomain: {{js .Domain}},

        // Focus component domain. Defaults to focus.<domain>.
        focus: {{js .Focus}},

        // XMPP MUC domain.
        muc: {{js .MUC}}
    },

    // BOSH URL.
    bosh: {{js .BOSH}},

    // Websocket URL.
    websocket: {{js .WebSocket}},

    // The name of client node advertised in XEP-0115 'c' stanza.
    clientNode: 'http://jitsi.org/jitsimeet',

    // Testing / experimental features.
    testing: {
        // capScreenshareBitrate: 1,
    },

    // Peer-to-Peer mode: off, every call goes through the bridge.
    p2p: {
        enabled: false,
        stunServers: []
    },

    // Disables or enables RTX (RFC 4588).
    // disableRtx: false,

    // Simulcast stays at lib-jitsi-meet's default (on), like a deployment.
    // disableSimulcast: false,

    // Video quality the app asks for.
    resolution: 720,

    // UI of the web app (ignored by headless clients).
    enableWelcomePage: true,
    enableClosePage: false,
    prejoinConfig: {
        enabled: false
    },
    requireDisplayName: false,
    disableDeepLinking: true,
    analytics: {
        disabled: true
    },

    // Recording through Jibri: not configured in the lab.
    fileRecordingsEnabled: false,
    liveStreamingEnabled: false,
    hiddenDomain: {{js .Hidden}},

    // No external services: everything stays on this host.
    deploymentInfo: {}
};

/* eslint-enable no-unused-vars, no-var */
`))

type configJSData struct {
	Domain, Focus, MUC, Hidden string
	BOSH, WebSocket            string
}

// jsString quotes s as a single-quoted JavaScript string literal.
func jsString(s string) string { return "'" + template.JSEscapeString(s) + "'" }

// configFor builds config.js for a page loaded from r's Host, so the lab
// works under whichever address the browser used. tenant is "" or the first
// path segment of a multi-tenant URL; its XMPP URLs get the tenant prefix,
// as a deployment's nginx rewrites them.
func (s *Server) configFor(r *http.Request, tenant string) configJSData {
	host := r.Host
	if host == "" {
		host = s.addr
	}
	wsScheme := "ws"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		wsScheme = "wss"
	}
	prefix := ""
	if tenant != "" {
		prefix = "/" + tenant
	}
	d := s.cfg.Domain
	return configJSData{
		Domain:    d,
		Focus:     "focus." + d,
		MUC:       "conference." + d,
		Hidden:    "recorder." + d,
		BOSH:      "//" + host + prefix + "/http-bind",
		WebSocket: wsScheme + "://" + host + prefix + "/xmpp-websocket",
	}
}

func (s *Server) serveConfigJS(w http.ResponseWriter, r *http.Request, tenant string) {
	w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if err := configJS.Execute(w, s.configFor(r, tenant)); err != nil {
		s.log.Warn("write config.js", "err", err)
	}
}
