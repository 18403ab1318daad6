package serve

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kerasrun/kerasrun"
)

// VersionPolicy chooses which versions of a model serve, as TensorFlow
// Serving's model_version_policy and Triton's version_policy do.
type VersionPolicy struct {
	// All serves every version. Otherwise Specific, when set, lists the
	// versions to serve, and else the Latest (default 1) highest do.
	All      bool
	Latest   int
	Specific []int64
}

// ParseVersionPolicy reads "latest", "latest:N", "all" or "specific:1,3".
func ParseVersionPolicy(s string) (VersionPolicy, error) {
	kind, arg, _ := strings.Cut(s, ":")
	switch kind {
	case "latest":
		if arg == "" {
			return VersionPolicy{Latest: 1}, nil
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 {
			return VersionPolicy{}, fmt.Errorf("version policy %q: latest:N needs N >= 1", s)
		}
		return VersionPolicy{Latest: n}, nil
	case "all":
		return VersionPolicy{All: true}, nil
	case "specific":
		var p VersionPolicy
		for _, f := range strings.Split(arg, ",") {
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil || v < 1 {
				return VersionPolicy{}, fmt.Errorf("version policy %q: specific:V1,V2 needs versions >= 1", s)
			}
			p.Specific = append(p.Specific, v)
		}
		return p, nil
	}
	return VersionPolicy{}, fmt.Errorf("version policy %q: want latest, latest:N, all or specific:V1,V2", s)
}

// choose returns the versions the policy serves out of the available ones
// (sorted ascending).
func (p VersionPolicy) choose(available []int64) []int64 {
	switch {
	case p.All:
		return available
	case len(p.Specific) > 0:
		var out []int64
		for _, v := range available {
			for _, w := range p.Specific {
				if v == w {
					out = append(out, v)
				}
			}
		}
		return out
	}
	n := max(p.Latest, 1)
	if len(available) > n {
		return available[len(available)-n:]
	}
	return available
}

// modelFiles are the file names a repository version directory may hold,
// in the order they are looked for; a model JSON takes its weights from the
// first weights file present.
var (
	modelFiles   = []string{"model.keras", "model.h5", "model.json"}
	weightsFiles = []string{"model.weights.h5", "model_weights.h5", "weights.h5"}
)

// versionSource is one version found in the source: its files and a
// signature of their sizes and times, which changes when they are
// rewritten.
type versionSource struct {
	model, weights, sig string
}

// repository holds the serving versions of every model of one source.
type repository struct {
	source string
	single bool // source is one model file: model name, version 1
	s      *Server

	pollMu sync.Mutex // one poll at a time
	mu     sync.RWMutex
	closed bool
	models map[string]map[int64]*modelVersion
	// failed remembers the signature of files that did not load, so a
	// broken version is retried only once its files change.
	failed map[string]map[int64]string
}

func newRepository(source string, s *Server) (*repository, error) {
	st, err := os.Stat(source)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	r := &repository{source: source, s: s, models: map[string]map[int64]*modelVersion{}, failed: map[string]map[int64]string{}}
	r.single = !st.IsDir() || isFile(filepath.Join(source, "config.json"))
	return r, nil
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func signature(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		if p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(&b, "%s:missing;", p)
			continue
		}
		fmt.Fprintf(&b, "%s:%d:%d;", p, st.Size(), st.ModTime().UnixNano())
	}
	return b.String()
}

// scan lists the models and versions the source holds now.
func (r *repository) scan() (map[string]map[int64]versionSource, error) {
	out := map[string]map[int64]versionSource{}
	if r.single {
		name := r.s.opts.ModelName
		if name == "" {
			base := filepath.Base(r.source)
			name = strings.TrimSuffix(base, filepath.Ext(base))
		}
		vs := versionSource{model: r.source, weights: r.s.opts.Weights}
		vs.sig = signature(vs.model, vs.weights)
		out[name] = map[int64]versionSource{1: vs}
		return out, nil
	}
	names, err := os.ReadDir(r.source)
	if err != nil {
		return nil, fmt.Errorf("serve: repository %s: %w", r.source, err)
	}
	for _, n := range names {
		if !n.IsDir() || strings.HasPrefix(n.Name(), ".") {
			continue
		}
		dirs, err := os.ReadDir(filepath.Join(r.source, n.Name()))
		if err != nil {
			return nil, fmt.Errorf("serve: repository %s: %w", r.source, err)
		}
		for _, d := range dirs {
			v, err := strconv.ParseInt(d.Name(), 10, 64)
			if !d.IsDir() || err != nil || v < 1 {
				continue
			}
			dir := filepath.Join(r.source, n.Name(), d.Name())
			vs, ok := findModelFiles(dir)
			if !ok {
				continue
			}
			if out[n.Name()] == nil {
				out[n.Name()] = map[int64]versionSource{}
			}
			out[n.Name()][v] = vs
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("serve: repository %s holds no model: want NAME/VERSION/%s", r.source, strings.Join(modelFiles, "|"))
	}
	return out, nil
}

func findModelFiles(dir string) (versionSource, bool) {
	for _, f := range modelFiles {
		p := filepath.Join(dir, f)
		if !isFile(p) {
			continue
		}
		vs := versionSource{model: p}
		if f == "model.json" {
			for _, w := range weightsFiles {
				if isFile(filepath.Join(dir, w)) {
					vs.weights = filepath.Join(dir, w)
					break
				}
			}
		}
		vs.sig = signature(vs.model, vs.weights)
		return vs, true
	}
	return versionSource{}, false
}

// poll brings the serving versions in line with the source and the version
// policy. Versions that fail to load are skipped (the policy then chooses
// among the others, so the version serving before keeps serving); on the
// first poll every model must end up with a version.
func (r *repository) poll(first bool) error {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	found, err := r.scan()
	if err != nil {
		return err
	}
	var errs []error
	for name, versions := range found {
		if err := r.syncModel(name, versions); err != nil {
			errs = append(errs, err)
		}
	}
	r.mu.Lock()
	for name, serving := range r.models {
		if _, ok := found[name]; !ok {
			for _, v := range serving {
				r.s.log.Info("unload", "model", name, "version", v.version, "reason", "removed from the repository")
				r.retire(v)
			}
			delete(r.models, name)
			delete(r.failed, name)
		}
	}
	r.mu.Unlock()
	if first {
		r.mu.RLock()
		for name := range found {
			if len(r.models[name]) == 0 {
				errs = append(errs, fmt.Errorf("serve: model %q has no version that loads", name))
			}
		}
		r.mu.RUnlock()
	}
	return errors.Join(errs...)
}

func (r *repository) syncModel(name string, found map[int64]versionSource) error {
	var errs []error
	loadable := make([]int64, 0, len(found))
	for v, vs := range found {
		if r.failed[name][v] != vs.sig {
			loadable = append(loadable, v)
		}
	}
	sort.Slice(loadable, func(i, j int) bool { return loadable[i] < loadable[j] })
	for {
		want := r.s.opts.VersionPolicy.choose(loadable)
		var failedNow []int64
		for _, v := range want {
			vs := found[v]
			r.mu.RLock()
			cur := r.models[name][v]
			r.mu.RUnlock()
			if cur != nil && cur.sig == vs.sig {
				continue
			}
			mv, err := r.load(name, v, vs)
			if err != nil {
				if r.failed[name] == nil {
					r.failed[name] = map[int64]string{}
				}
				r.failed[name][v] = vs.sig
				r.s.metrics.loadFailures.WithLabelValues(name, strconv.FormatInt(v, 10)).Inc()
				r.s.log.Error("load failed", "model", name, "version", v, "file", vs.model, "err", err)
				errs = append(errs, err)
				failedNow = append(failedNow, v)
				continue
			}
			delete(r.failed[name], v)
			r.install(mv)
		}
		if len(failedNow) == 0 {
			break
		}
		// Choose again without the versions that just failed: under
		// "latest" the previous version stays (or comes back).
		loadable = without(loadable, failedNow)
	}
	want := r.s.opts.VersionPolicy.choose(loadable)
	r.mu.Lock()
	for v, mv := range r.models[name] {
		if !contains(want, v) {
			r.s.log.Info("unload", "model", name, "version", v, "reason", "not chosen by the version policy")
			delete(r.models[name], v)
			r.retire(mv)
		}
	}
	r.mu.Unlock()
	return errors.Join(errs...)
}

func without(xs, drop []int64) []int64 {
	var out []int64
	for _, x := range xs {
		if !contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(xs []int64, x int64) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// load reads a version and warms it with one zero row, so that the first
// request finds weights packed and a model that runs.
func (r *repository) load(name string, version int64, vs versionSource) (*modelVersion, error) {
	start := time.Now()
	var opts []kerasrun.LoadOption
	if vs.weights != "" {
		opts = append(opts, kerasrun.WithWeights(vs.weights))
	}
	m, err := kerasrun.Load(vs.model, opts...)
	if err != nil {
		return nil, fmt.Errorf("serve: model %q version %d: %w", name, version, err)
	}
	mv := &modelVersion{name: name, version: version, model: m, inputs: m.Inputs(), outputs: m.Outputs(), path: vs.model, sig: vs.sig}
	if err := mv.warm(); err != nil {
		return nil, fmt.Errorf("serve: model %q version %d (%s): warm-up: %w", name, version, vs.model, err)
	}
	r.s.log.Info("loaded", "model", name, "version", version, "file", vs.model, "inputs", len(mv.inputs), "outputs", len(mv.outputs), "took", time.Since(start).Round(time.Millisecond))
	return mv, nil
}

// install starts a version serving, replacing (and retiring) a version of
// the same number loaded from older files.
func (r *repository) install(mv *modelVersion) {
	mv.batcher = newBatcher(mv, r.s)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models[mv.name] == nil {
		r.models[mv.name] = map[int64]*modelVersion{}
	}
	if old := r.models[mv.name][mv.version]; old != nil {
		r.retire(old)
	}
	r.models[mv.name][mv.version] = mv
	r.s.metrics.loaded.WithLabelValues(mv.name, mv.versionLabel()).Set(1)
}

// retire stops a version taking requests; the ones it holds finish. The
// caller holds r.mu.
func (r *repository) retire(mv *modelVersion) {
	mv.batcher.retire()
	if cur := r.models[mv.name][mv.version]; cur == nil || cur == mv {
		r.s.metrics.loaded.DeleteLabelValues(mv.name, mv.versionLabel())
	}
}

// get returns the serving version of a model; version "" is the latest.
func (r *repository) get(name, version string) (*modelVersion, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, &Error{Status: http.StatusServiceUnavailable, Msg: "the server is shutting down"}
	}
	versions, ok := r.models[name]
	if !ok || len(versions) == 0 {
		return nil, notFound("unknown model %q (serving: %s)", name, strings.Join(r.namesLocked(), ", "))
	}
	if version == "" {
		var best *modelVersion
		for _, mv := range versions {
			if best == nil || mv.version > best.version {
				best = mv
			}
		}
		return best, nil
	}
	v, err := strconv.ParseInt(version, 10, 64)
	if mv := versions[v]; err == nil && mv != nil {
		return mv, nil
	}
	return nil, notFound("model %q has no version %q serving (serving: %v)", name, version, sortedVersions(versions))
}

func (r *repository) namesLocked() []string {
	names := make([]string, 0, len(r.models))
	for n, vs := range r.models {
		if len(vs) > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// list returns every serving version, by model name then version.
func (r *repository) list() []*modelVersion {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*modelVersion
	for _, n := range r.namesLocked() {
		for _, v := range sortedVersions(r.models[n]) {
			out = append(out, r.models[n][v])
		}
	}
	return out
}

// versionsOf returns the serving version numbers of a model.
func (r *repository) versionsOf(name string) []int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return sortedVersions(r.models[name])
}

func sortedVersions(m map[int64]*modelVersion) []int64 {
	out := make([]int64, 0, len(m))
	for v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (r *repository) ready() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed || len(r.models) == 0 {
		return false
	}
	for _, vs := range r.models {
		if len(vs) == 0 {
			return false
		}
	}
	return true
}

// close retires every version and waits for their requests to finish.
func (r *repository) close() {
	r.mu.Lock()
	r.closed = true
	var all []*modelVersion
	for _, vs := range r.models {
		for _, mv := range vs {
			r.retire(mv)
			all = append(all, mv)
		}
	}
	r.models = map[string]map[int64]*modelVersion{}
	r.mu.Unlock()
	for _, mv := range all {
		mv.batcher.wait()
	}
}
