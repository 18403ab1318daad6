package kerasbeam

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/kerasrun/kerasrun"
)

// maxCachedModels bounds the process-wide model cache: a streaming
// pipeline that refreshes its model keeps the newest few and drops the
// least recently used (a DoFn still holding one keeps it alive).
const maxCachedModels = 4

// maxModelBytes bounds one model file read into memory.
const maxModelBytes = 4 << 30

// cache is the process-wide model cache, keyed by model and weights URI:
// Setup runs once per DoFn instance and a worker process holds many, all
// of which share one loaded model (a kerasrun.Model is safe for
// concurrent use).
var cache = struct {
	sync.Mutex
	entries map[string]*cacheEntry
	tick    int64
}{entries: map[string]*cacheEntry{}}

type cacheEntry struct {
	ready chan struct{} // closed once loaded
	model *kerasrun.Model
	err   error
	used  int64
}

// loadReport is one model load for the load metrics.
type loadReport struct {
	name    string
	latency time.Duration
	bytes   int64
}

// loadModel returns the model at uri (with the weights at weightsURI for a
// model JSON) from the process-wide cache, loading it on first use; the
// report is non-nil only for the call that loaded it. A failed load stays
// cached: a fixed model gets a new URI, as WatchFilePattern sees new files.
func loadModel(ctx context.Context, uri, weightsURI string) (*kerasrun.Model, *loadReport, error) {
	key := uri + "\x00" + weightsURI
	cache.Lock()
	cache.tick++
	e, ok := cache.entries[key]
	if ok {
		e.used = cache.tick
		cache.Unlock()
		<-e.ready
		return e.model, nil, e.err
	}
	e = &cacheEntry{ready: make(chan struct{}), used: cache.tick}
	cache.entries[key] = e
	evictLocked()
	cache.Unlock()

	start := time.Now()
	var size int64
	e.model, size, e.err = readModel(ctx, uri, weightsURI)
	close(e.ready)
	if e.err != nil {
		return nil, nil, e.err
	}
	return e.model, &loadReport{latency: time.Since(start), bytes: size}, nil
}

func evictLocked() {
	for len(cache.entries) > maxCachedModels {
		var oldKey string
		var oldest int64 = -1
		for k, e := range cache.entries {
			if oldest < 0 || e.used < oldest {
				oldKey, oldest = k, e.used
			}
		}
		delete(cache.entries, oldKey)
	}
}

// readModel reads a model file, and its weights file when given, through
// Beam's filesystems and loads it; size is the bytes read.
func readModel(ctx context.Context, uri, weightsURI string) (*kerasrun.Model, int64, error) {
	if uri == "" {
		return nil, 0, fmt.Errorf("kerasbeam: no model URI")
	}
	if isLocalDir(uri) {
		// A .keras archive saved unzipped: only a local path can be one.
		var opts []kerasrun.LoadOption
		if weightsURI != "" {
			opts = append(opts, kerasrun.WithWeights(weightsURI))
		}
		m, err := kerasrun.Load(uri, opts...)
		return m, 0, err
	}
	data, err := readFile(ctx, uri)
	if err != nil {
		return nil, 0, err
	}
	size := int64(len(data))
	opts := []kerasrun.LoadOption{kerasrun.WithName(uri)}
	if weightsURI != "" {
		w, err := readFile(ctx, weightsURI)
		if err != nil {
			return nil, 0, err
		}
		size += int64(len(w))
		opts = append(opts, kerasrun.WithWeightsReader(bytes.NewReader(w), int64(len(w))))
	}
	m, err := kerasrun.LoadBytes(data, opts...)
	if err != nil {
		return nil, 0, err
	}
	return m, size, nil
}

func isLocalDir(uri string) bool {
	if strings.Contains(uri, "://") {
		return false
	}
	st, err := os.Stat(uri)
	return err == nil && st.IsDir()
}

// readFile reads a whole file from the Beam filesystem its URI names.
func readFile(ctx context.Context, uri string) ([]byte, error) {
	fs, err := filesystem.New(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("kerasbeam: %s: %w", uri, err)
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("kerasbeam: %s: %w", uri, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("kerasbeam: read %s: %w", uri, err)
	}
	if len(data) > maxModelBytes {
		return nil, fmt.Errorf("kerasbeam: %s is larger than %d bytes", uri, maxModelBytes)
	}
	return data, nil
}
