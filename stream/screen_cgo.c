#include <X11/Xlib.h>
#include "screen_cgo.h"

int vidstyle_screen_size(int* w, int* h) {
    Display* d = XOpenDisplay(NULL);
    if (d == NULL) {
        return 0;
    }
    Screen* s = DefaultScreenOfDisplay(d);
    *w = WidthOfScreen(s);
    *h = HeightOfScreen(s);
    XCloseDisplay(d);
    return 1;
}
