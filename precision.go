package vidstyle

import (
	"bytes"
	"fmt"
	"os"

	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// Precisions that Config.Precision accepts.
const (
	PrecisionAuto = "auto"
	PrecisionFP32 = "fp32"
	PrecisionINT8 = "int8"
)

// HasVNNI reports whether /proc/cpuinfo-style text lists an integer
// dot-product extension (avx512_vnni or avx_vnni), which makes INT8
// convolutions worth it on the CPU.
func HasVNNI(cpuinfo []byte) bool {
	for _, line := range bytes.Split(cpuinfo, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("flags")) {
			continue
		}
		for _, f := range bytes.Fields(line) {
			if string(f) == "avx512_vnni" || string(f) == "avx_vnni" {
				return true
			}
		}
	}
	return false
}

// cpuHasVNNI reads /proc/cpuinfo (false when it cannot).
func cpuHasVNNI() bool {
	data, err := os.ReadFile("/proc/cpuinfo")
	return err == nil && HasVNNI(data)
}

// pickPrecision returns the model to run for m under the engine's
// precision: its quantized sibling NAME.int8 in the models folder for
// int8, and for auto when the sibling exists, the device is the CPU's and
// the CPU has VNNI; m itself otherwise (a model that is quantized itself
// runs as it is). One log line says which and why (for auto without a
// sibling, a debug line).
func (e *Engine) pickPrecision(m models.Model) (models.Model, error) {
	p := e.cfg.Precision
	if m.IsBuiltin() || m.Path == "" {
		return m, nil
	}
	if data, err := models.ReadFile(m.Path); err == nil {
		if g, err := models.ParseGraph(data); err == nil && g.Precision() != PrecisionFP32 {
			e.log.Info(fmt.Sprintf("precision %s: %s is a quantized model", g.Precision(), m.Name))
			return m, nil
		}
	}
	if p == PrecisionFP32 {
		e.log.Info(fmt.Sprintf("precision fp32 for %s: -precision fp32", m.Name))
		return m, nil
	}
	sibling := models.QuantizedName(m.Name)
	has := e.store.Has(sibling)
	switch {
	case p == PrecisionINT8 && !has:
		return m, usagef("-precision int8: %s has no INT8 version in the models folder (make one with vidstyle models quantize %s)", m.Name, m.Name)
	case p == PrecisionINT8:
	case !has:
		e.log.Debug(fmt.Sprintf("precision fp32 for %s: no quantized sibling %s (vidstyle models quantize %s makes one)", m.Name, sibling, m.Name))
		return m, nil
	case !cpuHasVNNI():
		e.log.Info(fmt.Sprintf("precision fp32 for %s: this CPU has no VNNI (avx512_vnni, avx_vnni), where INT8 gains little", m.Name))
		return m, nil
	case e.sessionDevice() != stylize.DeviceCPU:
		e.log.Info(fmt.Sprintf("precision fp32 for %s: the INT8 version is for the CPU, the device is %s", m.Name, e.sessionDevice()))
		return m, nil
	}
	q := models.Model{Name: sibling, Path: e.store.Path(sibling)}
	data, err := models.ReadFile(q.Path)
	if err == nil {
		_, err = models.ParseGraph(data)
	}
	if err != nil {
		if p == PrecisionINT8 {
			return m, fmt.Errorf("-precision int8: %s: %w", q.Path, err)
		}
		e.log.Warn(fmt.Sprintf("precision fp32 for %s: its INT8 version %s cannot be used: %v", m.Name, q.Path, err))
		return m, nil
	}
	e.log.Info(fmt.Sprintf("precision int8 for %s: running %s (-precision fp32 for the float model)", m.Name, q.Path))
	return q, nil
}

// otherPrecision finds the same style at the other precision: a float
// model's quantized sibling in the models folder, or the stored float
// model a quantized one names as its source.
func (e *Engine) otherPrecision(m stylize.Model, g *models.Graph) (stylize.Model, bool) {
	name := models.QuantizedName(m.Name)
	if g.Precision() != PrecisionFP32 {
		from, ok := g.MetadataValue(models.MetaQuantizedName)
		if !ok {
			return stylize.Model{}, false
		}
		name = from
	}
	if !e.store.Has(name) {
		return stylize.Model{}, false
	}
	data, err := models.ReadFile(e.store.Path(name))
	if err != nil {
		return stylize.Model{}, false
	}
	if _, err := models.ParseGraph(data); err != nil {
		e.log.Warn(fmt.Sprintf("bench: %s is not compared: %v", name, err))
		return stylize.Model{}, false
	}
	return stylize.Model{Name: name, ONNX: data, Convention: m.Convention}, true
}

// sessionDevice is where the engine's sessions run: the device asked for,
// or for auto the one a session lands on with this runtime (tried once
// with the built-in style at 32×32, then kept; cpu when it cannot be
// told).
func (e *Engine) sessionDevice() string {
	if e.cfg.Device != stylize.DeviceAuto {
		return e.cfg.Device
	}
	e.mu.Lock()
	dev := e.autoDevice
	e.mu.Unlock()
	if dev != "" {
		return dev
	}
	dev, err := e.probeDevice()
	if err != nil {
		e.log.Debug(fmt.Sprintf("where -device auto lands is not known (%v): taken as the CPU", err))
		dev = stylize.DeviceCPU
	}
	e.mu.Lock()
	e.autoDevice = dev
	e.mu.Unlock()
	return dev
}

// probeDevice opens a session of the built-in style at 32×32 with
// -device auto and says where it landed.
func (e *Engine) probeDevice() (string, error) {
	rt, release, err := e.useRuntime()
	if err != nil {
		return "", err
	}
	defer release() // Close refuses until this call returns
	m, err := models.Resolve(models.DefaultStyle)
	if err != nil {
		return "", err
	}
	graph, err := m.ONNX()
	if err != nil {
		return "", err
	}
	cfg := e.sessionConfig(32, 32, 32, 32)
	cfg.Log = nil // the jobs' own sessions say which device and why
	s, err := stylize.New(rt, stylize.Model{Name: m.Name, ONNX: graph}, cfg)
	if err != nil {
		return "", err
	}
	defer s.Close()
	return s.Device(), nil
}
