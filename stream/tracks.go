package stream

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/pipeline"
)

// Audio is what happens to the input's audio tracks (-audio).
type Audio string

// The audio policies.
const (
	// AudioAuto (also "") copies each track that plays everywhere the
	// output container is played (browsers included) and re-encodes the
	// rest: AAC for .mp4 .m4v .mov, Opus for .webm; .mkv copies all.
	AudioAuto Audio = "auto"
	// AudioCopy copies every track the container can hold at all, and is
	// an error when it cannot hold one.
	AudioCopy Audio = "copy"
	// AudioNone writes no audio.
	AudioNone Audio = "none"
)

// ParseAudio reads an -audio value: auto (or ""), copy or none.
func ParseAudio(s string) (Audio, error) {
	switch a := Audio(strings.ToLower(strings.TrimSpace(s))); a {
	case "", AudioAuto:
		return AudioAuto, nil
	case AudioCopy, AudioNone:
		return a, nil
	}
	return "", fmt.Errorf("%w: audio %q: use auto, copy or none", ErrOutput, s)
}

// textSubtitles are the subtitle codecs ffmpeg decodes to text, which it
// can then encode as any text subtitle format.
var textSubtitles = map[string]bool{
	"subrip": true, "srt": true, "ass": true, "ssa": true, "webvtt": true, "mov_text": true,
	"text": true, "microdvd": true, "subviewer": true, "subviewer1": true, "sami": true,
	"realtext": true, "jacosub": true, "mpl2": true, "pjs": true, "vplayer": true, "stl": true,
}

// trackRules is what one container does with the input's other tracks.
type trackRules struct {
	// name is how messages call the container ("MP4").
	name string
	// holds: a copy of this audio codec goes into the container (measured
	// with ffmpeg 5.1; "experimental" ones excluded).
	holds func(codec string) bool
	// plays: copied by AudioAuto (plays wherever the container does).
	plays func(codec string) bool
	// encoder is the audio a track is re-encoded to, named for messages.
	encoder string
	// pcm: a PCM track the container cannot hold is converted to PCM
	// it holds (pcmEncode), not encoded to encoder.
	pcm bool
	// encode gives the codec options for output audio track n.
	encode func(n int, s media.Stream) []string
	// subtitle is the codec a subtitle track is written with ("copy", a
	// text encoder), or "" when the container cannot hold it.
	subtitle func(codec string) string
	// subtitleNote says, after "dropped", what this container holds.
	subtitleNote string
	// attachments: fonts and the like are copied (Matroska).
	attachments bool
	// titleTag is the stream tag a track's title goes in.
	titleTag string
}

// The layouts each encoder codes, as aformat lists them: libopus the
// Vorbis channel orders; ffmpeg's AAC its standard channel configurations
// (others up to 8 channels it writes with a program config element, which
// decoders read as channels without a layout).
const (
	opusLayouts = "aformat=channel_layouts=mono|stereo|3.0|quad|5.0|5.1|6.1|7.1"
	aacLayouts  = "aformat=channel_layouts=mono|stereo|3.0|4.0|5.0|5.1|7.1"
)

func aacEncode(n int, s media.Stream) []string {
	args := []string{fmt.Sprintf("-c:a:%d", n), "aac", fmt.Sprintf("-b:a:%d", n), audioBitrate(s.Channels, 192)}
	switch s.ChannelLayout {
	case "mono", "stereo", "3.0", "4.0", "5.0", "5.1", "7.1":
	default:
		// Another layout (5.1(side) from DVD and Blu-ray AC-3 and DTS,
		// 7.1(wide), 6.1; more than 8 channels, which the encoder
		// refuses, such as 22.2; a matrix "downmix"): remixed to the
		// nearest standard one, chosen as ffmpeg's filter graph does, so
		// that players know which channel is which.
		args = append(args, fmt.Sprintf("-filter:a:%d", n), aacLayouts)
	}
	return args
}

func opusEncode(n int, s media.Stream) []string {
	// libopus codes surround only in the Vorbis channel orders: 5.1 but
	// not 5.1(side) (DVD and Blu-ray AC-3, DTS), 2.1, 4.0, 7.1(wide) ….
	// The input is remixed to the nearest of them, chosen as ffmpeg's
	// filter graph chooses (side surrounds become back ones, 2.1's LFE
	// is folded into stereo); a track already in one passes unchanged.
	return []string{fmt.Sprintf("-c:a:%d", n), "libopus", fmt.Sprintf("-b:a:%d", n), audioBitrate(min(s.Channels, 8), 128),
		fmt.Sprintf("-filter:a:%d", n), opusLayouts}
}

// audioBitrate is the stereo rate (kbit/s) for up to two channels, plus
// a third of it for each channel above two (5.1 AAC: 192k + 4·64k).
func audioBitrate(channels, stereo int) string {
	if channels <= 2 {
		return fmt.Sprintf("%dk", stereo)
	}
	return fmt.Sprintf("%dk", stereo+(channels-2)*stereo/3)
}

func rulesFor(format string) trackRules {
	mp4Holds := map[string]bool{"aac": true, "mp3": true, "mp2": true, "ac3": true, "eac3": true, "dts": true, "alac": true, "opus": true, "vorbis": true}
	browser := func(c string) bool { return c == "aac" || c == "mp3" }
	movText := func(c string) string {
		switch {
		case c == "mov_text":
			return "copy"
		case textSubtitles[c]:
			return "mov_text"
		}
		return ""
	}
	switch format {
	case "mp4":
		return trackRules{name: "MP4", holds: func(c string) bool { return mp4Holds[c] }, plays: browser,
			encoder: "AAC", encode: aacEncode, subtitle: movText,
			subtitleNote: "MP4 holds text subtitles only (as mov_text); .mkv keeps them", titleTag: "handler_name"}
	case "mov":
		return trackRules{name: "MOV", holds: func(c string) bool {
			// QuickTime's own IMA ADPCM ("ima4", old cameras) too.
			return c != "opus" && mp4Holds[c] || movPCM[c] || c == "adpcm_ima_qt"
		}, plays: func(c string) bool {
			// MOV is the editors' container: uncompressed PCM is its
			// native audio (QuickTime, Resolve, Premiere, Final Cut), kept
			// as it is; AAC and MP3 too.
			return browser(c) || movPCM[c]
		}, encoder: "AAC", encode: aacEncode, pcm: true, subtitle: movText,
			subtitleNote: "MOV holds text subtitles only (as mov_text); .mkv keeps them", titleTag: "handler_name"}
	case "webm":
		vorbisOpus := func(c string) bool { return c == "opus" || c == "vorbis" }
		return trackRules{name: "WebM", holds: vorbisOpus, plays: vorbisOpus, encoder: "Opus", encode: opusEncode,
			subtitle: func(c string) string {
				switch {
				case c == "webvtt":
					return "copy"
				case textSubtitles[c]:
					return "webvtt"
				}
				return ""
			},
			subtitleNote: "WebM holds WebVTT subtitles only (text ones are converted); .mkv keeps them", titleTag: "title"}
	default: // matroska
		holds := func(c string) bool { return !mkvRefuses(c) }
		return trackRules{name: "MKV", holds: holds, plays: holds, encoder: "AAC", encode: aacEncode, pcm: true,
			subtitle: func(c string) string {
				switch {
				case c == "subrip" || c == "ass" || c == "ssa" || c == "webvtt" ||
					c == "dvd_subtitle" || c == "hdmv_pgs_subtitle" || c == "dvb_subtitle":
					return "copy"
				case textSubtitles[c]:
					return "srt"
				}
				return ""
			},
			subtitleNote: "Matroska takes text, DVD, DVB and Blu-ray subtitles", attachments: true, titleTag: "title"}
	}
}

// movPCM are the PCM codecs MOV has a sample entry for (sowt, twos,
// in24, in32, fl32, fl64, raw, alaw, ulaw). Others, Blu-ray's and DVD's
// LPCM among them, ffmpeg wrote into MOV under a tag no player knows
// (and the job "succeeded" without sound), or refused after the job had
// started.
var movPCM = map[string]bool{
	"pcm_s16le": true, "pcm_s16be": true, "pcm_s24le": true, "pcm_s24be": true, "pcm_s32le": true, "pcm_s32be": true,
	"pcm_f32le": true, "pcm_f32be": true, "pcm_f64le": true, "pcm_f64be": true, "pcm_u8": true, "pcm_s8": true,
	"pcm_alaw": true, "pcm_mulaw": true,
}

// mkvRefuses are the audio codecs ffmpeg's Matroska muxer has no codec ID
// or WAV format tag for: it refused them once the job had started ("No
// wav codec tag found", "Error initializing output stream"). They are
// re-encoded, or refused by -audio copy before anything is done; every
// other codec is copied, as before (AMR from phones' .3gp among them).
func mkvRefuses(c string) bool {
	switch c {
	case "pcm_bluray", "pcm_dvd", "s302m", "adpcm_ima_qt", "pcm_f32be", "pcm_f64be", "pcm_s8", "pcm_s64be",
		"pcm_s24daud", "pcm_lxf", "pcm_vidc", "pcm_sga", "pcm_f16le", "pcm_f24le", "comfortnoise", "dfpwm":
		return true
	}
	return strings.HasPrefix(c, "pcm_") && (strings.HasSuffix(c, "_planar") || strings.HasPrefix(c, "pcm_u") && c != "pcm_u8")
}

// isPCM reports whether an audio codec is uncompressed samples: any of
// ffmpeg's pcm_ codecs, and SMPTE 302M (PCM in broadcast TS).
func isPCM(c string) bool { return strings.HasPrefix(c, "pcm_") || c == "s302m" }

// pcmEncode converts a PCM track to little-endian PCM of its kind, which
// MOV and Matroska both hold: 32-bit float for float samples (nothing
// above full scale is clipped), else integers of 16 bits for up to 16,
// 24 for up to 24 (a 20- or 24-bit Blu-ray track loses nothing), 32
// above.
func pcmEncode(n int, s media.Stream) []string {
	codec := "pcm_s24le"
	switch {
	case strings.HasPrefix(s.SampleFmt, "flt") || strings.HasPrefix(s.SampleFmt, "dbl") || strings.HasPrefix(s.Codec, "pcm_f"):
		codec = "pcm_f32le"
	case s.Bits > 24:
		codec = "pcm_s32le"
	case s.Bits > 0 && s.Bits <= 16 || s.Bits == 0 && (strings.HasPrefix(s.SampleFmt, "s16") || strings.HasPrefix(s.SampleFmt, "u8")):
		codec = "pcm_s16le"
	}
	return []string{fmt.Sprintf("-c:a:%d", n), codec}
}

// codecLabel names an audio codec as people know it.
func codecLabel(c string) string {
	switch c {
	case "pcm_bluray":
		return "Blu-ray LPCM"
	case "pcm_dvd":
		return "DVD LPCM"
	case "s302m":
		return "SMPTE 302M PCM"
	case "adpcm_ima_qt":
		return "QuickTime IMA ADPCM"
	}
	if movPCM[c] {
		return "PCM"
	}
	switch c {
	case "ac3":
		return "AC-3"
	case "eac3":
		return "E-AC-3"
	case "dts":
		return "DTS"
	case "truehd":
		return "TrueHD"
	case "flac":
		return "FLAC"
	case "alac":
		return "ALAC"
	case "vorbis":
		return "Vorbis"
	case "opus":
		return "Opus"
	case "mp2":
		return "MP2"
	case "mp3":
		return "MP3"
	case "aac":
		return "AAC"
	}
	return c
}

// trackArgs are the ffmpeg options that take the input's other tracks
// (input 1) into the output: maps, codecs, per-stream tags, global
// metadata and chapters. Messages (one info line per re-encoded audio
// track, one warning for every subtitle track dropped) go to log; an
// audio track that AudioCopy cannot put in the container is an error.
// With strip, no metadata is copied but the tracks' languages, the
// chapters, the attachments' names and types, and the timecode.
//
// rate is the output's frame rate (zero when not known yet): a drop-frame
// timecode that cannot go with it is left out, with a warning, where
// ffmpeg would drop it without a word.
func trackArgs(format, path string, in *media.Info, audio Audio, strip bool, rate pipeline.Rate, log *slog.Logger) ([]string, error) {
	if in == nil {
		return nil, nil
	}
	r := rulesFor(format)
	ext := strings.ToLower(filepath.Ext(path))
	args := []string{"-map_metadata", "1", "-map_chapters", "1"}
	streamTags := streamTags
	if strip {
		// No tag of the file or of its tracks is copied (whatever its
		// key: ffprobe shows some keys other than they are, so none is
		// named); the chapters keep their titles, the tracks their
		// languages (below), the attachments their file names and
		// types (they need them), and the timecode is set again.
		args = []string{"-map_metadata:g", "-1", "-map_metadata:s", "-1", "-map_chapters", "1"}
		streamTags = func(kind string, n int, tags map[string]string, _ string) []string {
			return languageTag(kind, n, tags)
		}
	}
	// The video's own tags (language, title); not its rotation: frames
	// come upright.
	if v := in.Video(); v != nil {
		args = append(args, streamTags("v", 0, v.Tags, r.titleTag)...)
		var others []string
		for _, s := range in.OfType("video") { // cover art is not among them
			if s.Index != v.Index {
				others = append(others, fmt.Sprintf("%d (%s, %dx%d)", s.Index, s.Codec, s.Width, s.Height))
			}
		}
		if len(others) > 0 {
			what := "video stream " + others[0]
			if len(others) > 1 {
				what = "video streams " + strings.Join(others, ", ")
			}
			log.Warn(fmt.Sprintf("%s not used: vidstyle stylizes one video stream, %d (%s, %dx%d, the file's default)", what, v.Index, v.Codec, v.Width, v.Height))
		}
	}
	switch tc, global := timecode(in); {
	case tc == "":
	case !timecodeFits(tc, rate):
		log.Warn(fmt.Sprintf("the timecode %s is not kept: it is drop-frame, which needs a multiple of 29.97 fps, and the output runs at %s fps", tc, rate))
		if global {
			args = append(args, "-metadata", "timecode=")
		}
	case global && strip:
		args = append(args, "-metadata", "timecode="+tc)
	case !global:
		// A MOV's timecode (ProRes from a camera or an editor) is the
		// video track's and its tmcd track's, not the file's, so the
		// global metadata does not carry it: given as the file's, every
		// container keeps it (MP4 and MOV as a tmcd track).
		args = append(args, "-timecode", tc)
	}
	var codecs, tags []string
	na := 0
	if audio != AudioNone {
		for i, s := range in.OfType("audio") {
			c := s.Codec
			switch {
			case r.plays(c) || audio == AudioCopy && r.holds(c):
				codecs = append(codecs, fmt.Sprintf("-c:a:%d", na), "copy")
			case audio == AudioCopy:
				to := r.encoder
				if r.pcm && isPCM(c) {
					to = "PCM"
				}
				use := "use .mkv, or "
				if format == "matroska" || !rulesFor("matroska").holds(c) {
					use = ""
				}
				return nil, fmt.Errorf("%w %s: -audio copy: %s cannot hold audio track %d (%s): %s-audio auto to re-encode it to %s", ErrOutput, path, ext, i+1, c, use, to)
			default:
				why := fmt.Sprintf("%s cannot hold %s", r.name, codecLabel(c))
				if r.holds(c) {
					why = fmt.Sprintf("browsers play %s in %s silent; -audio copy keeps it", codecLabel(c), r.name)
				} else if format != "matroska" && rulesFor("matroska").holds(c) {
					why += "; .mkv keeps it"
				}
				to, encode := r.encoder, r.encode
				if r.pcm && isPCM(c) {
					// Lossless: samples stay samples.
					to, encode = "PCM", pcmEncode
				}
				log.Info(fmt.Sprintf("audio track %d (%s) re-encoded to %s: %s", i+1, c, to, why))
				codecs = append(codecs, encode(na, s)...)
			}
			args = append(args, "-map", fmt.Sprintf("1:%d", s.Index))
			tags = append(tags, streamTags("a", na, s.Tags, r.titleTag)...)
			na++
		}
	}
	ns := 0
	var dropped []string
	for i, s := range in.OfType("subtitle") {
		to := r.subtitle(s.Codec)
		if to == "" {
			dropped = append(dropped, fmt.Sprintf("%d (%s)", i+1, s.Codec))
			continue
		}
		args = append(args, "-map", fmt.Sprintf("1:%d", s.Index))
		codecs = append(codecs, fmt.Sprintf("-c:s:%d", ns), to)
		tags = append(tags, streamTags("s", ns, s.Tags, r.titleTag)...)
		ns++
	}
	if len(dropped) > 0 {
		what := "subtitle track " + dropped[0]
		if len(dropped) > 1 {
			what = "subtitle tracks " + strings.Join(dropped, ", ")
		}
		log.Warn(fmt.Sprintf("%s dropped: %s", what, r.subtitleNote))
	}
	if r.attachments {
		nt := 0
		for _, s := range in.Streams {
			if s.Type == "attachment" {
				args = append(args, "-map", fmt.Sprintf("1:%d", s.Index))
				if strip {
					// Its file name and type, which it needs, and no
					// other tag.
					for _, want := range []string{"filename", "mimetype"} {
						for k, v := range s.Tags {
							if strings.EqualFold(k, want) {
								args = append(args, fmt.Sprintf("-metadata:s:t:%d", nt), want+"="+v)
							}
						}
					}
				}
				nt++
			}
		}
		if nt > 0 {
			codecs = append(codecs, "-c:t", "copy")
		}
	}
	// Data tracks (timecode, GPS) are not mapped: nothing plays them.
	args = append(args, codecs...)
	return append(args, tags...), nil
}

// timecode is the file's start timecode: the global one (global true;
// Matroska writes TIMECODE, and -map_metadata takes it along), else the
// main video's, else a data track's ("" when there is none).
func timecode(in *media.Info) (tc string, global bool) {
	for k, v := range in.Tags {
		if strings.EqualFold(k, "timecode") && v != "" {
			return v, true
		}
	}
	streams := in.Streams
	if v := in.Video(); v != nil {
		streams = append([]media.Stream{*v}, streams...)
	}
	for _, s := range streams {
		if tc := s.Tags["timecode"]; tc != "" && (s.Type == "video" || s.Type == "data") {
			return tc, false
		}
	}
	return "", false
}

// timecodeFits reports whether ffmpeg can write timecode tc at rate: a
// drop-frame one (";" or "." before the frames, as ffmpeg reads it) needs
// a rate whose rounded frames per second are a multiple of 30. A zero rate
// is not known yet: anything fits.
func timecodeFits(tc string, rate pipeline.Rate) bool {
	i := strings.LastIndexAny(tc, ":;.")
	if i < 0 || tc[i] == ':' || rate.Num <= 0 || rate.Den <= 0 {
		return true
	}
	fps := (rate.Num + rate.Den/2) / rate.Den
	return fps > 0 && fps%30 == 0
}

// streamTags sets an output stream's language and title explicitly (the
// rest of its tags ffmpeg copies by itself). MP4 keeps a track's title as
// its handler name.
func streamTags(kind string, n int, tags map[string]string, titleTag string) []string {
	out := languageTag(kind, n, tags)
	if t := tags["title"]; t != "" {
		out = append(out, fmt.Sprintf("-metadata:s:%s:%d", kind, n), titleTag+"="+t)
	}
	return out
}

// movLanguages rewrites, for a MOV, the language codes QuickTime's old
// table spells the other way (ISO 639-2 has a bibliographic and a
// terminology code for 20 languages, and ffmpeg's MOV muxer knows one of
// each for 19 of them, neither for Maori: "fre" and "cze" were written as no language, where "fra"
// and "ces" are kept; measured on ffmpeg 5.1). A language the table lacks
// either way (Swedish, Croatian, …) is still lost: movLanguagesKept says
// so after the file is written.
func movLanguages(args []string) {
	for i, a := range args {
		l, ok := strings.CutPrefix(a, "language=")
		if !ok || i == 0 || !strings.HasPrefix(args[i-1], "-metadata:s:") {
			continue
		}
		l = strings.ToLower(l) // "ENG": the table is lower case
		if m := quickTimeSpelling(l); m != "" {
			l = m
		}
		args[i] = "language=" + l
	}
}

// quickTimeSpelling is the spelling of an ISO 639-2 code that ffmpeg's MOV
// muxer writes, where it differs ("" otherwise).
func quickTimeSpelling(l string) string {
	switch l {
	case "fre":
		return "fra"
	case "cze":
		return "ces"
	case "rum":
		return "ron"
	case "slo":
		return "slk"
	case "zho":
		return "chi"
	case "sqi":
		return "alb"
	case "hye":
		return "arm"
	case "eus":
		return "baq"
	case "mya":
		return "bur"
	case "nld":
		return "dut"
	case "kat":
		return "geo"
	case "deu":
		return "ger"
	case "ell":
		return "gre"
	case "isl":
		return "ice"
	case "mkd":
		return "mac"
	case "msa":
		return "may"
	case "fas":
		return "per"
	case "bod":
		return "tib"
	case "cym":
		return "wel"
	}
	return ""
}

// languagesAsked are the languages args give the output's tracks, by
// ffmpeg's stream specifier ("a:0", "s:1").
func languagesAsked(args []string) map[string]string {
	asked := map[string]string{}
	for i, a := range args {
		if l, ok := strings.CutPrefix(a, "language="); ok && i > 0 {
			if spec, ok := strings.CutPrefix(args[i-1], "-metadata:s:"); ok && l != "und" {
				asked[spec] = l
			}
		}
	}
	return asked
}

// lostLanguages names the tracks of a written file whose language, asked
// for, is not in it ("audio track 2 (swe)"), and says whether each of
// those is a three-letter code (which an MP4 would keep).
func lostLanguages(info *media.Info, asked map[string]string) (lost []string, codes bool) {
	codes = true
	for _, k := range []struct{ spec, kind, name string }{{"v", "video", "video"}, {"a", "audio", "audio"}, {"s", "subtitle", "subtitle"}} {
		for n, st := range info.OfType(k.kind) {
			if k.kind == "video" && n > 0 {
				break
			}
			l, ok := asked[fmt.Sprintf("%s:%d", k.spec, n)]
			if ok && !strings.EqualFold(st.Tags["language"], l) {
				lost = append(lost, fmt.Sprintf("%s track %d (%s)", k.name, n+1, l))
				codes = codes && len(l) == 3 && strings.Trim(strings.ToLower(l), "abcdefghijklmnopqrstuvwxyz") == ""
			}
		}
	}
	return lost, codes
}

// languageTag is the option that sets a track's language from its tags.
func languageTag(kind string, n int, tags map[string]string) []string {
	if l := tags["language"]; l != "" {
		return []string{fmt.Sprintf("-metadata:s:%s:%d", kind, n), "language=" + l}
	}
	return nil
}

// TracksLeftOut says that an output that holds only pictures leaves out
// the input's n sound and subtitle tracks ("one such track" for
// one).
func TracksLeftOut(n int) string {
	if n == 1 {
		return "the input's one such track is left out"
	}
	return fmt.Sprintf("the input's %d such tracks are left out", n)
}
