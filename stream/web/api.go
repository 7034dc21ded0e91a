package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
)

// hasMediaType reports whether the request's Content-Type is want
// (parameters such as charset aside).
func hasMediaType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

// readBody reads a limited body; too large → 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("request body over %d bytes", limit), http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
		}
		return nil, false
	}
	return body, true
}

// decode reads a small JSON body strictly: Content-Type application/json
// (415 otherwise: a form another site's page posts cannot set it), no
// unknown fields, and nothing after the one JSON value.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if !hasMediaType(r, "application/json") {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return false
	}
	body, ok := readBody(w, r, maxJSON)
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		http.Error(w, "bad JSON: data after the value", http.StatusBadRequest)
		return false
	}
	return true
}

func (s *Server) apiState(w http.ResponseWriter, r *http.Request) {
	s.writeState(w, s.cfg.Control.State())
}

func (s *Server) writeState(w http.ResponseWriter, st State) {
	st.Viewers = s.Viewers()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(st)
}

// reply sends the state a command answered with, or its error.
func (s *Server) reply(w http.ResponseWriter, st State, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.writeState(w, st)
}

func (s *Server) apiStyle(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Index *int   `json:"index"`
		Name  string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	i := -1
	styles := s.cfg.Control.State().Styles
	if req.Name != "" {
		i = slices.Index(styles, req.Name) // the first of that name
		if i < 0 || req.Index != nil && *req.Index != i && !(*req.Index >= 0 && *req.Index < len(styles) && styles[*req.Index] == req.Name) {
			// A name that is no style, or an index that is not that
			// name's, is a bad value: not the index's style, quietly.
			http.Error(w, "give an existing style's index or name (both: the same style)", http.StatusBadRequest)
			return
		}
		if req.Index != nil {
			i = *req.Index
		}
	} else if req.Index != nil {
		i = *req.Index
	}
	if i < 0 {
		http.Error(w, "give an existing style's index or name", http.StatusBadRequest)
		return
	}
	st, err := s.cfg.Control.SetStyle(r.Context(), i)
	s.reply(w, st, err)
}

func (s *Server) apiStrength(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Value *float64 `json:"value"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Value == nil || *req.Value < 0 || *req.Value > 1 {
		http.Error(w, "value must be 0 to 1", http.StatusBadRequest)
		return
	}
	st, err := s.cfg.Control.SetStrength(r.Context(), *req.Value)
	s.reply(w, st, err)
}

func (s *Server) apiColors(w http.ResponseWriter, r *http.Request) {
	// keep_colors is the state's name for it; keep is the page's.
	var req struct {
		Keep       *bool `json:"keep"`
		KeepColors *bool `json:"keep_colors"`
	}
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.Keep != nil && req.KeepColors != nil && *req.Keep != *req.KeepColors:
		http.Error(w, "give keep_colors or keep, not both with different values", http.StatusBadRequest)
		return
	case req.Keep == nil && req.KeepColors == nil:
		http.Error(w, "give keep_colors: true or false", http.StatusBadRequest)
		return
	case req.Keep == nil:
		req.Keep = req.KeepColors
	}
	st, err := s.cfg.Control.SetKeepColors(r.Context(), *req.Keep)
	s.reply(w, st, err)
}

func (s *Server) apiPause(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Paused *bool `json:"paused"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Paused == nil {
		http.Error(w, "give paused: true or false", http.StatusBadRequest)
		return
	}
	st, err := s.cfg.Control.SetPaused(r.Context(), *req.Paused)
	s.reply(w, st, err)
}
