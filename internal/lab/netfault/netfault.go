// Package netfault injects network faults (packet loss, a dark link) with
// nf_tables rules in the current network namespace: the kernel here has no
// netem, but nft's "numgen random" drops a share of packets just as well.
//
// It only ever runs in a private network namespace (one whose only
// interface is lo, as `unshare -n` makes), so a fault can never reach the
// host's real network: Apply refuses anywhere else.
package netfault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotPrivate is returned when the network namespace has interfaces other
// than lo: rules there would touch the host's traffic.
var ErrNotPrivate = errors.New("netfault: the network namespace is not private (it has interfaces other than lo); " +
	"run inside one, e.g. unshare -n sh -c 'ip link set lo up; go test ...' (scripts/test.sh does this as root)")

// CheckPrivate returns nil when the current network namespace has no
// interface but lo. It reads the namespace of the calling thread through
// netlink (not /sys/class/net, which shows the namespace sysfs was mounted
// in, i.e. the host's after a bare unshare -n).
func CheckPrivate() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("netfault: list interfaces: %w", err)
	}
	names := make([]string, len(ifs))
	for i, ifc := range ifs {
		names[i] = ifc.Name
	}
	return checkInterfaces(names)
}

func checkInterfaces(names []string) error {
	var others []string
	for _, n := range names {
		if n != "lo" {
			others = append(others, n)
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("%w (found %s)", ErrNotPrivate, strings.Join(others, ", "))
	}
	return nil
}

// Fault is one set of drop rules, in an nft table of its own.
type Fault struct {
	nft   string
	table string

	mu      sync.Mutex
	removed bool
}

var tables atomic.Int64

// DropUDP drops percent % (1..100; 100 = dark) of the UDP packets to or
// from any of ports, in both directions: on loopback every packet passes
// the input hook once, so one rule on sport and one on dport cover a link.
// Input, not output: a packet dropped on output fails the sender's write
// with EPERM, which no real lossy network does.
// ctx bounds only the nft call; the rules stay until Remove.
func DropUDP(ctx context.Context, ports []int, percent int) (*Fault, error) {
	if percent < 1 || percent > 100 {
		return nil, fmt.Errorf("netfault: loss %d %% is not in 1..100", percent)
	}
	if len(ports) == 0 {
		return nil, errors.New("netfault: no ports to drop")
	}
	for _, p := range ports {
		if p <= 0 || p > 65535 {
			return nil, fmt.Errorf("netfault: bad port %d", p)
		}
	}
	if err := CheckPrivate(); err != nil {
		return nil, err
	}
	nft, err := exec.LookPath("nft")
	if err != nil {
		return nil, fmt.Errorf("netfault: nft not found (apt-get install nftables): %w", err)
	}
	f := &Fault{nft: nft, table: fmt.Sprintf("jrfault_%d_%d", os.Getpid(), tables.Add(1))}
	set := make([]string, len(ports))
	for i, p := range ports {
		set[i] = strconv.Itoa(p)
	}
	ps := "{ " + strings.Join(set, ", ") + " }"
	match := ""
	if percent < 100 {
		match = fmt.Sprintf("numgen random mod 100 < %d ", percent)
	}
	// One nft -f script: the table appears with all its rules or not at all.
	script := fmt.Sprintf(`table inet %[1]s {
	chain in {
		type filter hook input priority 0; policy accept;
		udp sport %[2]s %[3]scounter drop
		udp dport %[2]s %[3]scounter drop
	}
}
`, f.table, ps, match)
	if err := f.run(ctx, script, "-f", "-"); err != nil {
		return nil, fmt.Errorf("netfault: add rules: %w", err)
	}
	return f, nil
}

// Dropped is how many packets the rules dropped so far.
func (f *Fault) Dropped(ctx context.Context) (int64, error) {
	out, err := exec.CommandContext(ctx, f.nft, "list", "table", "inet", f.table).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("netfault: list table %s: %w: %s", f.table, err, strings.TrimSpace(string(out)))
	}
	var total int64
	fields := strings.Fields(string(out))
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "packets" {
			n, err := strconv.ParseInt(fields[i+1], 10, 64)
			if err == nil {
				total += n
			}
		}
	}
	return total, nil
}

// Remove deletes the rules. It is idempotent.
func (f *Fault) Remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removed {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.run(ctx, "", "delete", "table", "inet", f.table); err != nil {
		return fmt.Errorf("netfault: remove rules: %w", err)
	}
	f.removed = true
	return nil
}

func (f *Fault) run(ctx context.Context, stdin string, args ...string) error {
	cmd := exec.CommandContext(ctx, f.nft, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
