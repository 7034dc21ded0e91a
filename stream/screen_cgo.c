#include <X11/Xlib.h>
#include <X11/extensions/Xinerama.h>
#include "screen_cgo.h"

int vidstyle_screen_size(int* w, int* h) {
    Display* d = XOpenDisplay(NULL);
    if (d == NULL) {
        return 0;
    }
    Screen* s = DefaultScreenOfDisplay(d);
    *w = WidthOfScreen(s);
    *h = HeightOfScreen(s);
    // Several monitors make one X screen: the window opens on one of
    // them, so the first (the primary, which RandR's Xinerama lists
    // first) is the one a picture must fit.
    int event, error, n = 0;
    if (XineramaQueryExtension(d, &event, &error) && XineramaIsActive(d)) {
        XineramaScreenInfo* heads = XineramaQueryScreens(d, &n);
        if (heads != NULL) {
            if (n > 0 && heads[0].width > 0 && heads[0].height > 0) {
                *w = heads[0].width;
                *h = heads[0].height;
            }
            XFree(heads);
        }
    }
    XCloseDisplay(d);
    return 1;
}
