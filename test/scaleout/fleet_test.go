package scaleout

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/devhost"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
	"github.com/azlocal/registrar/shared/testkit/repo"
	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

var quietLog = log.New(io.Discard, "", 0)

// handlerBin is the cmd/handler binary, built once by TestMain.
var handlerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scaleout-handler-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	handlerBin = filepath.Join(dir, "handler")
	build := exec.Command("go", "build", "-o", handlerBin, "github.com/azlocal/registrar/cmd/handler")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "scaleout: go build ./cmd/handler: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fleet is one deployment under test: Azurite behind the counting proxy, the Service Bus double,
// handler processes, the emulator in front of them, a collector on the events topic, and a
// store reading Azurite directly (not through the proxy) to check the outcome.
type fleet struct {
	t         testing.TB
	azurite   *azurite.Server
	proxy     *tableProxy
	double    *sbdouble.Double
	emu       *emulator
	events    *collector
	store     *tables.Store
	instances []*instance // the ones newFleet started
	// baseline are the fleet counts before the current workload (outcome subtracts them).
	baseline domain.FleetCounts

	mu  sync.Mutex
	all []*instance // every instance started, for the logs
}

// fleetOptions tune newFleet.
type fleetOptions struct {
	onDisk bool   // Azurite keeps its tables on disk, to survive a restart
	seed   uint64 // the emulator's random choice of instances; 0: from the clock
}

func newFleet(t testing.TB, instances int, o fleetOptions) *fleet {
	t.Helper()
	f := &fleet{t: t}
	f.azurite = azurite.StartServer(t, &azurite.ServerOptions{OnDisk: o.onDisk})
	f.proxy = startTableProxy(t, f.azurite.Port())
	f.double = sbdouble.StartDouble(t)
	st, err := tables.New(context.Background(), tables.Config{ConnectionString: f.azurite.ConnString()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.store = st
	fns, err := devhost.LoadFunctions(repo.Root(t), settings)
	if err != nil {
		t.Fatal(err)
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	t.Logf("emulator seed %d (instance choice)", o.seed)
	f.emu = newEmulator(fns, o.seed)
	f.events = startCollector(t, f.double.ConnString())
	for range instances {
		f.instances = append(f.instances, f.start(nil))
	}
	f.emu.setPool(f.instances...)
	t.Cleanup(f.dumpLogsOnFailure)
	return f
}

// settings are the app settings every place the app runs sets (queue and topic names).
func settings(k string) string {
	return map[string]string{
		"RegistrationRequestsQueue": string(domain.QueueRegistrationRequests),
		"MachineEventsQueue":        string(domain.QueueMachineEvents),
		"EventsTopic":               eventsTopic,
	}[k]
}

// instance is one cmd/handler process.
type instance struct {
	name   string
	url    string
	cmd    *exec.Cmd
	logs   string // its stdout and stderr
	exited chan struct{}
	state  *os.ProcessState
}

// start runs a handler process on a free port with the fleet's storage (through the proxy) and
// Service Bus, plus env, and waits until it answers GET /.
func (f *fleet) start(env []string) *instance {
	f.t.Helper()
	f.mu.Lock()
	name := fmt.Sprintf("h%d", len(f.all)+1)
	f.mu.Unlock()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	in := &instance{name: name, url: fmt.Sprintf("http://127.0.0.1:%d", port), exited: make(chan struct{})}
	in.logs = filepath.Join(f.t.TempDir(), in.name+".log")
	out, err := os.Create(in.logs)
	if err != nil {
		f.t.Fatal(err)
	}
	cmd := exec.Command(handlerBin)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(port),
		"RegistrarStorage=" + azurite.ConnString(f.proxy.port()),
		"ServiceBusConnection=" + f.double.ConnString(),
		"RegistrationRequestsQueue=" + settings("RegistrationRequestsQueue"),
		"MachineEventsQueue=" + settings("MachineEventsQueue"),
		"EventsTopic=" + eventsTopic,
	}, env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	in.cmd = cmd
	go func() { _ = cmd.Wait(); in.state = cmd.ProcessState; out.Close(); close(in.exited) }()
	f.t.Cleanup(func() { _ = cmd.Process.Kill(); <-in.exited })
	f.mu.Lock()
	f.all = append(f.all, in)
	f.mu.Unlock()
	f.waitReady(in)
	return in
}

// waitReady polls GET / as the host does at start, until any answer; a process that exits fails
// the test.
func (f *fleet) waitReady(in *instance) {
	f.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if res, err := client.Get(in.url + "/"); err == nil {
			res.Body.Close()
			return
		}
		select {
		case <-in.exited:
			f.t.Fatalf("handler %s exited before answering GET /: %v\n%s", in.name, in.state, tail(in.logs, 20))
		case <-time.After(25 * time.Millisecond):
		}
	}
	f.t.Fatalf("handler %s did not answer GET / within 2 minutes\n%s", in.name, tail(in.logs, 20))
}

// kill ends in with SIGKILL, after taking it out of the emulator's pool, and waits for it.
func (f *fleet) kill(in *instance) {
	f.emu.remove(in)
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.exited
}

// killedBySIGKILL reports whether in ended by SIGKILL (from outside or from its test hook).
func (in *instance) killedBySIGKILL() bool {
	select {
	case <-in.exited:
	case <-time.After(time.Minute):
		return false
	}
	ws, ok := in.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// cpuTime is the CPU time (user + system) a process has used so far, from /proc.
func cpuTime(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks
}

func (f *fleet) dumpLogsOnFailure() {
	if !f.t.Failed() {
		return
	}
	f.mu.Lock()
	all := slices.Clone(f.all)
	f.mu.Unlock()
	for _, in := range all {
		f.t.Logf("last lines of handler %s:\n%s", in.name, tail(in.logs, 15))
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	fh, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
