// Command live plays a camera or a video file through vidstyle's live
// engine and serves it to browsers over WebRTC (page, OBS overlay, WHEP):
//
//	go run ./examples/live -in cam:0 -model toon,pencil
//
// It prints the page's URL and runs until Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/stream/web"
)

func main() {
	in := flag.String("in", "cam:0", "camera (cam:N) or video file, looped")
	model := flag.String("model", "toon,pencil", "styles to switch between on the page")
	listen := flag.String("listen", "127.0.0.1:8080", "where the page is served")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	eng, err := vidstyle.New(vidstyle.Config{Log: log})
	if err != nil {
		log.Error(err.Error())
		os.Exit(2)
	}
	defer eng.Close()
	err = eng.Live(ctx, vidstyle.LiveJob{In: *in, Model: *model, Size: vidstyle.Size{Scale: 0.5}, Live: live.Config{
		Loop:     true,
		Web:      &web.Config{Addr: *listen},
		OnListen: func(url string) { fmt.Println(url) },
	}})
	if err != nil {
		log.Error(err.Error())
		os.Exit(1)
	}
}
