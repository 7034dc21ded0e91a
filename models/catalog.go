package models

import "strings"

// CatalogEntry is a model vidstyle knows how to download.
type CatalogEntry struct {
	Name        string
	File        string // file name at the source
	URL         string
	Size        int64
	SHA256      string
	License     string
	Description string
}

// zooBase is where the ONNX model zoo keeps its fast neural style models.
const zooBase = "https://github.com/onnx/models/raw/main/validated/vision/style_transfer/fast_neural_style/model/"

// Catalog lists the downloadable models: the ONNX model zoo's "fast neural
// style" networks (Johnson architecture, pytorch/examples weights, BSD-3,
// opset 9, input "input1" fixed at 1×3×224×224, RGB 0..255). Sizes and
// hashes are those of the repository's Git LFS objects.
func Catalog() []CatalogEntry {
	zoo := func(name, file, sha, desc string) CatalogEntry {
		return CatalogEntry{Name: name, File: file, URL: zooBase + file, Size: 6728029, SHA256: sha,
			License: "BSD-3-Clause (pytorch/examples)", Description: desc}
	}
	return []CatalogEntry{
		zoo("mosaic", "mosaic-9.onnx", "fa646dedade881243f8d5a2ceb7de2b93675b21fc24f7482894ac4851a9a0a47", "mosaic tiles, strong colour"),
		zoo("candy", "candy-9.onnx", "9d11a3529d1e547da6ae07201d93484dbab2ec0a3614535752c8f40f0fe2968a", "candy-coloured swirls"),
		zoo("rain-princess", "rain-princess-9.onnx", "4162912e6f75fedef6f810ae989b9e10d3d5d43308dab34b027c850cf255e152", "Afremov's Rain Princess: warm palette-knife strokes"),
		zoo("udnie", "udnie-9.onnx", "8656b6ce7dec8f22ee13c2d557d6b67bd6f550dde88d0f2e7c9972aeb765cc0d", "Picabia's Udnie: cubist planes"),
		zoo("pointilism", "pointilism-9.onnx", "5ee2b8d4d6bc60a777f54e0fe96a1b717360a004b79d56c67390d4a975b14d98", "Seurat-like dots"),
	}
}

// LookupCatalog finds a catalog entry by name.
func LookupCatalog(name string) (CatalogEntry, bool) {
	for _, e := range Catalog() {
		if e.Name == name {
			return e, true
		}
	}
	return CatalogEntry{}, false
}

// WithMirror returns the entry fetched from mirror (a base URL) instead of
// its source; the size and hash still apply.
func (e CatalogEntry) WithMirror(mirror string) CatalogEntry {
	if mirror != "" {
		e.URL = strings.TrimSuffix(mirror, "/") + "/" + e.File
	}
	return e
}
