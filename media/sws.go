package media

// SwsFlags are the swscale flags vidstyle converts between YUV and RGB
// with, both ways (decoding to BGR, encoding back): bicubic scaling, the
// chroma interpolated at full resolution, and accurate rounding. With
// swscale's defaults, limited-range BT.709 video read to BGR and written
// back came out 1.5–1.7 levels darker in luma on average (real footage,
// 640×360, 43 dB); with accurate rounding alone 0.7 darker and 0.8 off
// in chroma (49 dB); with both, within 0.05 (59 dB). The price is in
// ffmpeg's processes, beside the inference: decoding to planar RGB (as
// package capture does) about 2 ms more a 1280×720 frame, encoding about
// 3 ms more, on the 2-core test machine.
const SwsFlags = "bicubic+accurate_rnd+full_chroma_int"
