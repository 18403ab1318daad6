// Command serveload drives an Open Inference Protocol v2 REST endpoint at a
// fixed concurrency and prints infer/s and latency percentiles, the same
// client for every server compared by bench/serve.sh (perf_analyzer needs
// Triton's /config endpoint, which KServe's Python server lacks).
//
//	serveload -url http://127.0.0.1:8080/v2/models/mlp/infer -body req.json -c 8 -d 5s
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "infer endpoint")
	bodyFile := flag.String("body", "", "request body (JSON)")
	conc := flag.Int("c", 1, "concurrent requests")
	dur := flag.Duration("d", 5*time.Second, "measurement time (after 1s of warm-up)")
	label := flag.String("label", "", "row label")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	warm := time.Now().Add(time.Second)
	end := warm.Add(*dur)
	var wg sync.WaitGroup
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := time.Now()
				if start.After(end) {
					return
				}
				resp, err := client.Post(*url, "application/json", bytes.NewReader(body))
				ok := err == nil && resp.StatusCode == 200
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(start)
				if start.Before(warm) {
					continue
				}
				mu.Lock()
				if ok {
					lat = append(lat, d)
				} else {
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		fmt.Fprintf(os.Stderr, "serveload: no successful request (%d errors)\n", errs)
		os.Exit(1)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	fmt.Printf("| %s | %d | %.0f | %.2f | %.2f | %d |\n", *label, *conc, float64(len(lat))/dur.Seconds(), pct(0.5), pct(0.99), errs)
	if errs > 0 {
		os.Exit(1)
	}
}
