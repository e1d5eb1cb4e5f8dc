// etcd_bench: a closed-loop put/get load generator for etcd 3.4, the
// counterpart of redis-benchmark for paxos_kv (see scripts/bench-vs-etcd).
//
// -clients goroutines each issue one request, wait for its reply, and issue
// the next, until -n requests are done in total. Like etcd's own
// tools/benchmark, the goroutines share a few gRPC connections (-conns,
// round-robin) rather than opening one each: gRPC multiplexes requests over
// a connection, so one per goroutine would only measure connection setup.
//
// Gets are linearizable by default (etcd's default, a quorum read through
// the leader's read index), to match paxos_kv whose GET is a read-index
// read; -serializable reads the local member instead.
//
// Build against Debian's golang-etcd-server-dev, no module proxy needed:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o etcd_bench etcd_bench.go
package main

import (
	"context"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"google.golang.org/grpc/grpclog"
)

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client URLs or host:port")
	clients := flag.Int("clients", 1, "concurrent closed-loop clients (goroutines)")
	conns := flag.Int("conns", 8, "gRPC connections shared round-robin by the clients (at most -clients)")
	n := flag.Int("n", 10000, "total requests")
	size := flag.Int("d", 8, "value size in bytes")
	op := flag.String("op", "put", "put or get")
	keys := flag.Int("keys", 1000, "key space: keys key:0 .. key:K-1")
	serializable := flag.Bool("serializable", false, "serializable (local, possibly stale) gets instead of linearizable")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	limit := flag.Duration("limit", 120*time.Second, "bound on the whole run")
	flag.Parse()

	if *op != "put" && *op != "get" {
		fail("-op must be put or get")
	}
	if *clients < 1 || *n < 1 || *keys < 1 || *size < 0 {
		fail("-clients, -n and -keys must be positive, -d not negative")
	}
	if *conns < 1 {
		*conns = 1
	}
	if *conns > *clients {
		*conns = *clients
	}
	// grpc logs every reconnect attempt to stderr; keep the output to our line.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(ioutil.Discard, ioutil.Discard, os.Stderr))

	eps := strings.Split(*endpoints, ",")
	cs := make([]*clientv3.Client, *conns)
	for i := range cs {
		c, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: *timeout})
		if err != nil {
			fail("connect: %v", err)
		}
		defer c.Close()
		cs[i] = c
	}

	run, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	value := strings.Repeat("x", *size)
	// The same key names as redis-benchmark -r K uses (key:%012d), so both
	// systems carry the same key bytes.
	key := func(i int64) string { return fmt.Sprintf("key:%012d", i%int64(*keys)) }
	put := func(ctx context.Context, c *clientv3.Client, i int64) error {
		_, err := c.Put(ctx, key(i), value)
		return err
	}
	var getOpts []clientv3.OpOption
	if *serializable {
		getOpts = append(getOpts, clientv3.WithSerializable())
	}
	get := func(ctx context.Context, c *clientv3.Client, i int64) error {
		_, err := c.Get(ctx, key(i), getOpts...)
		return err
	}

	// Gets read keys that exist: write the whole key space first (untimed),
	// so a get never measures the cheaper "key not found" path.
	if *op == "get" {
		if _, errs, _ := closedLoop(run, cs, *clients, int64(*keys), *timeout, put); errs > 0 {
			fail("preloading %d keys: %d puts failed", *keys, errs)
		}
	}

	do := put
	if *op == "get" {
		do = get
	}
	all, errs, elapsed := closedLoop(run, cs, *clients, int64(*n), *timeout, do)
	if len(all) == 0 {
		fail("no request succeeded (%d errors)", errs)
	}
	pct := func(p float64) float64 { // nearest rank, in milliseconds
		i := int(p * float64(len(all)-1))
		return float64(all[i].Microseconds()) / 1000
	}
	fmt.Printf("op=%s clients=%d conns=%d bytes=%d n=%d ok=%d errors=%d ops_per_s=%.0f p50_ms=%.3f p99_ms=%.3f linearizable=%t\n",
		*op, *clients, len(cs), *size, *n, len(all), errs,
		float64(len(all))/elapsed.Seconds(), pct(0.50), pct(0.99), *op == "put" || !*serializable)
	if run.Err() != nil {
		fmt.Fprintf(os.Stderr, "etcd_bench: stopped at the %v run limit\n", *limit)
		os.Exit(1)
	}
	if errs > 0 {
		os.Exit(1)
	}
}

// closedLoop runs requests 0..count-1 on `clients` goroutines, each waiting
// for its reply before taking the next number; goroutine g uses connection
// g mod len(cs). It returns the successful requests' latencies, sorted, the
// number of failed ones, and the wall time.
func closedLoop(run context.Context, cs []*clientv3.Client, clients int, count int64,
	timeout time.Duration, do func(context.Context, *clientv3.Client, int64) error,
) ([]time.Duration, int64, time.Duration) {
	var next int64 = -1
	var errs int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < clients; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c := cs[g%len(cs)]
			mine := make([]time.Duration, 0, count/int64(clients)+1)
			for run.Err() == nil {
				i := atomic.AddInt64(&next, 1)
				if i >= count {
					break
				}
				ctx, done := context.WithTimeout(run, timeout)
				t := time.Now()
				err := do(ctx, c, i)
				d := time.Since(t)
				done()
				if err != nil {
					atomic.AddInt64(&errs, 1)
					continue
				}
				mine = append(mine, d)
			}
			lat[g] = mine
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	return all, errs, elapsed
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "etcd_bench: "+format+"\n", args...)
	os.Exit(2)
}
