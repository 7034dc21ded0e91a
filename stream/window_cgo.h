#ifndef VIDSTYLE_WINDOW_CGO_H
#define VIDSTYLE_WINDOW_CGO_H
#ifdef __cplusplus
extern "C" {
#endif

// vidstyle_named_window creates a window that shows images at their exact
// size, without Qt's toolbar and zooming.
void vidstyle_named_window(const char* name);

#ifdef __cplusplus
}
#endif
#endif
