package capture

import (
	"fmt"
	"log/slog"

	"github.com/vidstyle/vidstyle/media"
)

// readProfile reads a picture's RGB colour profile (media.ReadProfile);
// one that is damaged is said once and left out, and the picture is then
// taken as sRGB, as a browser takes it.
func readProfile(path string, log *slog.Logger) *media.Profile {
	p, err := media.ReadProfile(path)
	if err != nil {
		log.Warn(fmt.Sprintf("input %s: its colour profile cannot be read (%v): its colours are taken as sRGB", path, err))
		return nil
	}
	if p != nil {
		log.Debug(fmt.Sprintf("input %s: colour profile %s (%d bytes)", path, p, len(p.Data)))
	}
	return p
}
