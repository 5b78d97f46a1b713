package scaleout

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/azlocal/registrar/shared/devhost"
	"github.com/azlocal/registrar/shared/invoke"
)

// maxDeliveryCount is Service Bus's default MaxDeliveryCount (docs/architecture.md#service-bus-entities).
const maxDeliveryCount = 10

// functionTimeout is host.json's: the host waits at most this long for an invocation.
const functionTimeout = 5 * time.Minute

// emulator plays the Functions host and Service Bus in front of the handler processes. Each
// delivery goes to a random instance of the pool, with the host's envelope and headers; with dup
// set, every delivery round posts the message twice at once to two different instances, as when a
// lock is lost (the later delivery holds the lock and decides the settlement). A non-2xx answer
// or a broken connection abandons the message and it is delivered again at once with a higher
// DeliveryCount; at maxDeliveryCount it is dead-lettered.
type emulator struct {
	queues map[string]devhost.Function // by queue name
	timers map[string]devhost.Function // by function name
	client *http.Client

	mu       sync.Mutex
	rng      *rand.Rand
	pool     []*instance
	inflight map[*instance]int
	dup      bool
	seq      int64
	log      []delivery
	dead     []string // MessageIds dead-lettered
}

// delivery is one POST of a message (or a timer run) to an instance.
type delivery struct {
	MessageID  string
	Count      int // DeliveryCount sent
	Instance   string
	Status     int    // 0: the connection broke (the instance died)
	Outcome    string // the reply's outcome (created, updated, duplicate, ...) on a 2xx
	Start, End time.Time
}

func (d delivery) ok() bool { return d.Status >= 200 && d.Status < 300 }

// message is one message to send: its queue, MessageId, body and enqueue time.
type message struct {
	Queue      string
	MessageID  string
	Body       []byte
	EnqueuedAt time.Time
}

// result is how a message ended: completed after Deliveries, or dead-lettered.
type result struct {
	Completed    bool
	Deliveries   int
	FirstFailed  bool   // the first delivery round did not complete it
	FinalOutcome string // the lock holder's outcome on completion
}

func newEmulator(fns []devhost.Function, seed uint64) *emulator {
	e := &emulator{queues: map[string]devhost.Function{}, timers: map[string]devhost.Function{},
		client:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}},
		rng:      rand.New(rand.NewPCG(seed, seed^0x5ca1e)),
		inflight: map[*instance]int{}}
	for _, fn := range fns {
		switch fn.Trigger {
		case devhost.ServiceBusTrigger:
			e.queues[fn.Queue] = fn
		case devhost.TimerTrigger:
			e.timers[fn.Name] = fn
		}
	}
	return e
}

// setPool makes instances the ones deliveries go to.
func (e *emulator) setPool(instances ...*instance) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pool = slices.Clone(instances)
}

// remove takes in out of the pool (before it is killed).
func (e *emulator) remove(in *instance) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pool = slices.DeleteFunc(e.pool, func(p *instance) bool { return p == in })
}

func (e *emulator) add(in *instance) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pool = append(e.pool, in)
}

// setDup turns the lost-lock duplicates on or off (every round posts twice at once).
func (e *emulator) setDup(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dup = on
}

// inFlight is how many deliveries in is handling now.
func (e *emulator) inFlight(in *instance) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inflight[in]
}

// pick returns n different instances of the pool (fewer when the pool is smaller), at random.
func (e *emulator) pick(n int) []*instance {
	e.mu.Lock()
	defer e.mu.Unlock()
	perm := e.rng.Perm(len(e.pool))
	var out []*instance
	for _, i := range perm[:min(n, len(perm))] {
		out = append(out, e.pool[i])
	}
	return out
}

// send delivers m until it is completed or dead-lettered (the emulator's redeliveries are
// immediate, as Service Bus makes an abandoned message available at once). first, when not nil,
// takes the first delivery alone.
func (e *emulator) send(ctx context.Context, m message, first *instance) result {
	fn, ok := e.queues[m.Queue]
	if !ok {
		panic("emulator: no function listens on queue " + m.Queue)
	}
	e.mu.Lock()
	e.seq++
	dm := devhost.Message{MessageID: m.MessageID, Body: m.Body, EnqueuedTime: m.EnqueuedAt, SequenceNumber: e.seq, ContentType: "application/json"}
	dup := e.dup
	e.mu.Unlock()
	var res result
	for round := 0; ctx.Err() == nil; round++ {
		targets := e.pick(1)
		if round == 0 && first != nil {
			targets = []*instance{first}
		} else if dup {
			targets = e.pick(2)
		}
		if len(targets) == 0 {
			time.Sleep(10 * time.Millisecond) // no instance alive: the message waits
			round--
			continue
		}
		outs := make([]delivery, len(targets))
		var wg sync.WaitGroup
		for i, in := range targets {
			wg.Add(1)
			go func() { defer wg.Done(); outs[i] = e.deliver(ctx, fn, in, dm, res.Deliveries+i+1) }()
		}
		wg.Wait()
		res.Deliveries += len(targets)
		holder := outs[len(outs)-1] // the later delivery holds the lock: it settles the message
		if holder.ok() {
			res.Completed, res.FinalOutcome = true, holder.Outcome
			return res
		}
		if round == 0 {
			res.FirstFailed = true
		}
		if res.Deliveries >= maxDeliveryCount {
			e.mu.Lock()
			e.dead = append(e.dead, m.MessageID)
			e.mu.Unlock()
			return res
		}
	}
	return res
}

// deliver posts one delivery of dm to in and records it.
func (e *emulator) deliver(ctx context.Context, fn devhost.Function, in *instance, dm devhost.Message, count int) delivery {
	now := time.Now().UTC()
	env, err := devhost.MessageEnvelope(fn, dm, count, newLockToken(), now)
	if err != nil {
		panic(err)
	}
	d := e.post(ctx, fn, in, env)
	d.MessageID, d.Count = dm.MessageID, count
	e.record(d)
	return d
}

// runTimer runs fn once on a random instance.
func (e *emulator) runTimer(ctx context.Context, name string) delivery {
	fn := e.timers[name]
	targets := e.pick(1)
	if len(targets) == 0 {
		return delivery{}
	}
	env, err := devhost.TimerEnvelope(fn, devhost.TimerInfo{}, time.Now().UTC())
	if err != nil {
		panic(err)
	}
	d := e.post(ctx, fn, targets[0], env)
	d.MessageID = "timer:" + name
	e.record(d)
	return d
}

// post sends one invocation to in and reads the reply's outcome from its Logs (invoke.Outcome).
func (e *emulator) post(ctx context.Context, fn devhost.Function, in *instance, env []byte) delivery {
	e.mu.Lock()
	e.inflight[in]++
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.inflight[in]--
		e.mu.Unlock()
	}()
	d := delivery{Instance: in.name, Start: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, functionTimeout)
	defer cancel()
	req, err := devhost.NewInvocation(ctx, in.url, fn, env)
	if err != nil {
		panic(err)
	}
	res, err := e.client.Do(req)
	if err == nil {
		var reply struct{ Logs []string }
		raw, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		if rerr == nil {
			d.Status = res.StatusCode
			if json.Unmarshal(raw, &reply) == nil && len(reply.Logs) > 0 {
				d.Outcome = invoke.Outcome(reply.Logs)
			}
		}
	}
	d.End = time.Now()
	return d
}

func (e *emulator) record(d delivery) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, d)
}

// deliveries returns a copy of the delivery log.
func (e *emulator) deliveries() []delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

func (e *emulator) deadLetters() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.dead)
}

// every runs the timer name every period on a random instance until ctx ends or stop is called;
// runs do not overlap (the host runs a timer on one instance at a time). pause holds it.
type ticker struct {
	mu     sync.Mutex
	paused bool
	done   chan struct{}
	stop   context.CancelFunc
}

func (e *emulator) every(ctx context.Context, name string, period time.Duration) *ticker {
	ctx, cancel := context.WithCancel(ctx)
	tk := &ticker{done: make(chan struct{}), stop: cancel}
	go func() {
		defer close(tk.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(period):
			}
			tk.mu.Lock()
			paused := tk.paused
			tk.mu.Unlock()
			if !paused {
				e.runTimer(ctx, name)
			}
		}
	}()
	return tk
}

func (tk *ticker) setPaused(p bool) {
	tk.mu.Lock()
	tk.paused = p
	tk.mu.Unlock()
}

func (tk *ticker) close() {
	tk.stop()
	<-tk.done
}

func newLockToken() string { return uuid.NewString() }
