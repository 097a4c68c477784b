// Command jitsi-lab runs a Jitsi-compatible meeting on loopback (real
// Prosody, focus and bridge stand-ins, synthetic participants) and checks
// recordings made in it.
//
//	jitsi-lab up     [--participants N] [--room R] [--password P]
//	jitsi-lab check  [--participants N] [--duration D]
//	jitsi-lab verify FILE [--participants N | --spec spec.json] [--json]
//	jitsi-lab demo   [--participants N] [--duration D] [--out DIR]
//	jitsi-lab bench  [--scenario S] [--duration D] [--runs N] [--json] [--breakdown]
//
// Exit codes: 0 ok, 1 failure (a check did not pass, a part did not start),
// 2 bad usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
