package netfault

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestOnlyLoopbackCountsAsPrivate(t *testing.T) {
	if err := checkInterfaces([]string{"lo"}); err != nil {
		t.Errorf("lo only: %v", err)
	}
	err := checkInterfaces([]string{"lo", "eth0"})
	if !errors.Is(err, ErrNotPrivate) {
		t.Errorf("lo+eth0: got %v, want ErrNotPrivate", err)
	}
}

// requirePrivate fails the test outside a private network namespace: the
// rules must never be tried on the host.
func requirePrivate(t *testing.T) {
	t.Helper()
	if err := CheckPrivate(); err != nil {
		t.Fatalf("%v", err)
	}
}

// sendAndCount sends n packets to conn from another loopback socket and
// counts how many arrive. It reads while sending: a socket buffer holds
// only a few hundred small datagrams.
func sendAndCount(t *testing.T, conn *net.UDPConn, n int) int {
	t.Helper()
	out, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	got := make(chan int)
	go func() {
		count := 0
		buf := make([]byte, 16)
		for {
			conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := conn.Read(buf); err != nil {
				got <- count
				return
			}
			count++
		}
	}()
	for range n {
		if _, err := out.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return <-got
}

func TestDropUDPDropsTheShareAskedForAndRemoveRestores(t *testing.T) {
	requirePrivate(t)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	ctx := t.Context()

	if got := sendAndCount(t, conn, 200); got != 200 {
		t.Fatalf("before any rule: %d of 200 arrived", got)
	}

	dark, err := DropUDP(ctx, []int{port}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := sendAndCount(t, conn, 200); got != 0 {
		t.Errorf("dark: %d of 200 arrived, want 0", got)
	}
	if n, err := dark.Dropped(ctx); err != nil || n < 200 {
		t.Errorf("dark: counters say %d dropped (%v), want >= 200", n, err)
	}
	if err := dark.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := dark.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if got := sendAndCount(t, conn, 200); got != 200 {
		t.Errorf("after Remove: %d of 200 arrived", got)
	}

	loss, err := DropUDP(ctx, []int{port}, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer loss.Remove()
	// 1000 packets at 30 %: 700 expected, sd ~14.5; ±100 is ~7 sd.
	if got := sendAndCount(t, conn, 1000); got < 600 || got > 800 {
		t.Errorf("30 %% loss: %d of 1000 arrived, want about 700", got)
	}
}

func TestDropUDPRejectsBadArguments(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		ports   []int
		percent int
	}{{[]int{1000}, 0}, {[]int{1000}, 101}, {nil, 5}, {[]int{0}, 5}, {[]int{70000}, 5}} {
		if f, err := DropUDP(ctx, c.ports, c.percent); err == nil {
			f.Remove()
			t.Errorf("DropUDP(%v, %d) succeeded", c.ports, c.percent)
		}
	}
}

// TestRefusesWhenTheNamespaceHasAnotherInterface runs itself again in a
// fresh namespace with a tap interface besides lo: DropUDP must refuse.
func TestRefusesWhenTheNamespaceHasAnotherInterface(t *testing.T) {
	if os.Getenv("NETFAULT_CHILD") == "1" {
		_, err := DropUDP(context.Background(), []int{1000}, 100)
		if !errors.Is(err, ErrNotPrivate) {
			t.Fatalf("got %v, want ErrNotPrivate", err)
		}
		return
	}
	if os.Geteuid() != 0 || exec.Command("unshare", "-n", "true").Run() != nil {
		t.Skip("needs root and unshare -n to make a namespace with a second interface")
	}
	cmd := exec.CommandContext(t.Context(), "unshare", "-n", "sh", "-c",
		`ip tuntap add jrtap0 mode tap && exec "$0" -test.run '^TestRefusesWhenTheNamespaceHasAnotherInterface$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "NETFAULT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}
