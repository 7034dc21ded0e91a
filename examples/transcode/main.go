// Command transcode stylizes a video file with vidstyle's engine and
// switches to the next style halfway through:
//
//	go run ./examples/transcode -in movie.mp4 -out styled.mp4 -model candy,toon
//
// A catalog model (candy) is downloaded into the models folder on first use.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/vidstyle/vidstyle"
)

func main() {
	in, out := flag.String("in", "", "input video"), flag.String("out", "styled.mp4", "output video")
	model := flag.String("model", "candy,toon", "styles: the first, then the next from halfway")
	mirror := flag.String("catalog-mirror", "", "fetch catalog models from this base URL")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt) // Ctrl-C keeps what is done
	defer stop()

	eng, err := vidstyle.New(vidstyle.Config{CatalogMirror: *mirror, Log: log})
	if err != nil {
		log.Error(err.Error())
		os.Exit(2)
	}
	defer eng.Close()
	var t *vidstyle.Transcoder
	var half int64
	t, err = eng.Open(ctx, vidstyle.Job{In: *in, Out: *out, Model: *model, OnFrame: func(n int64) {
		if n == half {
			go t.Styles().Next() // builds the next style's session off the frame path
		}
	}})
	if err != nil {
		log.Error(err.Error())
		os.Exit(1)
	}
	defer t.Close()
	half = t.Info().Total / 2
	res, err := t.Run(ctx)
	if err != nil {
		log.Error(err.Error())
		os.Exit(1)
	}
	fmt.Printf("%s: %d frames, %.1f fps\n", res.Out, res.Frames, res.FPS())
}
