#ifndef VIDSTYLE_SCREEN_CGO_H
#define VIDSTYLE_SCREEN_CGO_H
#ifdef __cplusplus
extern "C" {
#endif

// vidstyle_screen_size stores the size of the X display's default screen
// (DISPLAY) in w and h, or of its first monitor when Xinerama says it has
// several, and returns 1; it returns 0 when no display opens.
int vidstyle_screen_size(int* w, int* h);

#ifdef __cplusplus
}
#endif
#endif
