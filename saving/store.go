package saving

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kerasrun/kerasrun/h5"
)

// Store finds the variables Keras 3's saving_lib stored for an object
// path ("" for the model itself, "layers/dense_1", ...): the groups holding
// the datasets "0", "1", ...; several for a variable group split across
// shards, none when the file has nothing at that path.
type Store interface {
	Get(path string) ([]*h5.Group, error)
}

// H5Store is one Keras 3 weights HDF5 file.
type H5Store struct{ Root *h5.Group }

// Get looks a path up as Keras's H5IOStore.get does, including its
// fallback for Keras 2.13 files (_layer_checkpoint_dependencies instead of
// layers), and the group names tf-keras wrote on Windows, where the whole
// path is one name with backslashes ("layers\\dense").
func (s H5Store) Get(path string) ([]*h5.Group, error) {
	candidates := []string{path}
	if path != "" {
		if has, _ := HasChild(s.Root, "_layer_checkpoint_dependencies"); has {
			candidates = append(candidates, strings.ReplaceAll(path, "layers", "_layer_checkpoint_dependencies"))
		}
		for _, c := range candidates[:len(candidates):len(candidates)] {
			if strings.Contains(c, "/") {
				candidates = append(candidates, strings.ReplaceAll(c, "/", "\\"))
			}
		}
	}
	for _, c := range candidates {
		g := s.Root
		if c != "" {
			var err error
			if g, err = LookupGroup(s.Root, c); err != nil {
				if errors.Is(err, h5.ErrNotFound) {
					continue
				}
				return nil, err
			}
		}
		vg, err := g.Group("vars")
		if errors.Is(err, h5.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return []*h5.Group{vg}, nil
	}
	return nil, nil
}

// LookupGroup opens a group by a "/"-separated path, or by a single name
// holding backslashes.
func LookupGroup(root *h5.Group, path string) (*h5.Group, error) {
	if !strings.Contains(path, "/") {
		if has, err := HasChild(root, path); err != nil || !has {
			if err == nil {
				err = fmt.Errorf("%s: %w", path, h5.ErrNotFound)
			}
			return nil, err
		}
	}
	return root.Group(path)
}

// HasChild reports whether g has a child named name.
func HasChild(g *h5.Group, name string) (bool, error) {
	names, err := g.Children()
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

// ShardedStore is Keras 3's sharded weights: a .weights.json map from
// variable group ("/layers/dense/vars") to the shard file(s) holding it,
// as written by model.save_weights("x.weights.json", max_shard_size=...).
type ShardedStore struct {
	path      string
	dir       string
	weightMap map[string][]string
	files     map[string]*h5.File
}

// maxShards caps how many shard files one map may name.
const maxShards = 1 << 16

// OpenSharded reads a sharded weights map (model.weights.json); its shards
// open on first use.
func OpenSharded(path string) (*ShardedStore, error) {
	data, err := ReadCapped(path, MaxConfigBytes)
	if err != nil {
		return nil, err
	}
	var doc struct {
		WeightMap map[string]json.RawMessage `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("kerasrun: %s: sharded weights map: %w", path, err)
	}
	if doc.WeightMap == nil {
		return nil, fmt.Errorf("kerasrun: %s: a JSON weights file must be a sharded weights map with a weight_map (this looks like something else, perhaps a model config)", path)
	}
	s := &ShardedStore{path: path, dir: filepath.Dir(path), weightMap: map[string][]string{}, files: map[string]*h5.File{}}
	shards := map[string]bool{}
	for k, raw := range doc.WeightMap {
		var names []string
		var one string
		if err := json.Unmarshal(raw, &one); err == nil {
			names = []string{one}
		} else if err := json.Unmarshal(raw, &names); err != nil {
			return nil, fmt.Errorf("kerasrun: %s: weight_map[%q] is neither a file name nor a list of them", path, k)
		}
		for _, n := range names {
			if n == "" || n != filepath.Base(n) || strings.ContainsAny(n, "/\\") || n == ".." {
				return nil, fmt.Errorf("kerasrun: %s: weight_map[%q] names %q, which is not a file beside the map", path, k, n)
			}
			shards[n] = true
		}
		s.weightMap[k] = names
	}
	if len(shards) > maxShards {
		return nil, fmt.Errorf("kerasrun: %s: weight_map names %d shard files, more than %d", path, len(shards), maxShards)
	}
	return s, nil
}

// Get finds path's variable groups in the shards the map names.
func (s *ShardedStore) Get(path string) ([]*h5.Group, error) {
	key := "/" + JoinPath(path, "vars")
	names, ok := s.weightMap[key]
	if !ok {
		names = s.weightMap["/"+path]
	}
	var out []*h5.Group
	for _, n := range names {
		f, ok := s.files[n]
		if !ok {
			var err error
			if f, err = h5.Open(filepath.Join(s.dir, n)); err != nil {
				return nil, fmt.Errorf("shard %s of %s: %w", n, s.path, err)
			}
			s.files[n] = f
		}
		gs, err := H5Store{f.Root()}.Get(path)
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", n, err)
		}
		out = append(out, gs...)
	}
	return out, nil
}

// Close closes the shards opened so far.
func (s *ShardedStore) Close() {
	for _, f := range s.files {
		f.Close()
	}
}

// JoinPath joins Keras object paths ("layers/dense" + "vars").
func JoinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "/" + b
}
