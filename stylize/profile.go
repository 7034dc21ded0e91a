package stylize

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// OpTime is the time one kind of operator took, per model run, in an ONNX
// Runtime profile.
type OpTime struct {
	Op      string        `json:"op"`
	PerRun  time.Duration `json:"per_run_ns"`
	Share   float64       `json:"share"` // of all operators' time
	Kernels int           `json:"kernels"`
}

// ReadProfile sums the operator times of the profile that a Stylizer made
// with Config.ProfilePrefix prefix (the newest such file), per operator
// type and per model run, largest first. It removes the file.
func ReadProfile(prefix string) ([]OpTime, error) {
	files, _ := filepath.Glob(prefix + "*.json")
	if len(files) == 0 {
		return nil, fmt.Errorf("no ONNX Runtime profile named %s*.json", prefix)
	}
	slices.Sort(files)
	file := files[len(files)-1]
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	os.Remove(file)
	var events []struct {
		Cat  string `json:"cat"`
		Name string `json:"name"`
		Dur  int64  `json:"dur"` // microseconds
		Args struct {
			OpName string `json:"op_name"`
		} `json:"args"`
	}
	if err := json.Unmarshal(data, &events); err != nil {
		return nil, fmt.Errorf("profile %s: %w", file, err)
	}
	runs := 0
	sums := map[string]int64{}
	kernels := map[string]int{}
	var total int64
	for _, e := range events {
		switch {
		case e.Cat == "Session" && e.Name == "model_run":
			runs++
		case e.Cat == "Node" && strings.HasSuffix(e.Name, "_kernel_time") && e.Args.OpName != "":
			sums[e.Args.OpName] += e.Dur
			kernels[e.Args.OpName]++
			total += e.Dur
		}
	}
	if runs == 0 || total == 0 {
		return nil, fmt.Errorf("profile %s: no model runs or operator times", file)
	}
	out := make([]OpTime, 0, len(sums))
	for op, us := range sums {
		out = append(out, OpTime{Op: op, PerRun: time.Duration(us) * time.Microsecond / time.Duration(runs),
			Share: float64(us) / float64(total), Kernels: kernels[op] / runs})
	}
	slices.SortFunc(out, func(a, b OpTime) int { return int(b.PerRun - a.PerRun) })
	return out, nil
}
