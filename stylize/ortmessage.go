package stylize

import (
	"regexp"
	"strings"
)

// sourceLocation finds where ONNX Runtime names the C++ source of an
// error: "/onnxruntime_src/onnxruntime/core/graph/model.cc:181 ".
var sourceLocation = regexp.MustCompile(`[\w./-]*\.(?:cc|cpp|cu|h):\d+ `)

// signature is the C++ function ONNX Runtime names after the source
// location: an optional return type, a qualified name, its parameters.
var signature = regexp.MustCompile(`^(?:[\w:<>*&]+ ){0,3}[\w:<>~]*::[\w<>~]+\(`)

// stripSourceLocations drops ONNX Runtime's source locations and the C++
// signatures after them from a message ("…model.cc:181
// onnxruntime::Model::Model(onnx::ModelProto&&, …) Unsupported model IR
// version: 999" becomes "Unsupported model IR version: 999"): internals a
// user cannot act on, hundreds of characters long.
func stripSourceLocations(s string) string {
	for range 8 {
		loc := sourceLocation.FindStringIndex(s)
		if loc == nil {
			break
		}
		end := loc[1]
		if m := signature.FindStringIndex(s[end:]); m != nil {
			j, depth := end+m[1]-1, 0
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					if depth--; depth == 0 {
						j++
						break
					}
				}
			}
			// " const", " noexcept", " [with T = float]" after it.
			for {
				rest := s[j:]
				if w, ok := strings.CutPrefix(rest, " const"); ok {
					j += len(rest) - len(w)
					continue
				}
				if w, ok := strings.CutPrefix(rest, " noexcept"); ok {
					j += len(rest) - len(w)
					continue
				}
				if strings.HasPrefix(rest, " [with ") {
					if k := strings.IndexByte(rest, ']'); k >= 0 {
						j += k + 1
						continue
					}
				}
				break
			}
			end = j
		}
		head := strings.TrimRight(s[:loc[0]], " ")
		tail := strings.TrimLeft(s[end:], " ")
		switch {
		case head == "":
			s = tail
		case strings.HasSuffix(head, ":"):
			s = head + " " + tail
		default:
			s = head + ": " + tail
		}
	}
	return s
}
