package testmodels_test

import (
	"testing"

	"github.com/vidstyle/vidstyle/internal/testmodels"
)

func TestBrokenGraphRefusesAnUnknownKind(t *testing.T) {
	if _, err := testmodels.BrokenGraph("sideways"); err == nil {
		t.Error("BrokenGraph took an unknown kind")
	}
}
