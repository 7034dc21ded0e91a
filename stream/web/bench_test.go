package web

import (
	"context"
	"image"
	"image/color"
	"log/slog"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// BenchmarkBroadcast640x360 sends 5 s of 640x360 frames at 30 fps to one
// connected viewer and reports the encoder's cost per frame (BGR→I420 +
// VP8) and the CPU the whole process used (server, encoder, and the test's
// own pion viewer) as a share of one core.
//
//	go test ./stream/web -run '^$' -bench Broadcast -benchtime 1x
func BenchmarkBroadcast640x360(b *testing.B) {
	for range b.N {
		bc, err := NewBroadcaster(0, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		srv, err := NewServer(Config{Addr: "127.0.0.1:0", Control: &fakeControl{}}, bc.Track(), bc.RequestKeyframe)
		if err != nil {
			b.Fatal(err)
		}
		url, err := srv.Listen()
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); bc.Run(ctx) }()
		v := connect(b, url[:len(url)-1], "")
		// A real picture is harder to encode than a flat one: noise.
		src := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC3)
		gocv.RandU(&src, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
		pool := pipeline.NewPool(func() *gocv.Mat { m := gocv.NewMat(); return &m }, func(m *gocv.Mat) { m.Close() })
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		start := time.Now()
		tick := time.NewTicker(time.Second / 30)
		for i := range 150 {
			<-tick.C
			ref := pool.Get()
			src.CopyTo(ref.V)
			gocv.Circle(ref.V, imagePt(20+i*4, 180), 40, colorWhite(), -1) // motion
			bc.Send(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Captured: time.Now()}, Image: ref})
		}
		tick.Stop()
		wall := time.Since(start)
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
		n, per := bc.Stats()
		b.ReportMetric(float64(per.Microseconds())/1000, "ms/frame-encode")
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%cpu-of-one-core")
		b.ReportMetric(float64(v.frames.Load()), "frames-received")
		b.ReportMetric(float64(n), "frames-encoded")
		b.ReportMetric(0, "ns/op")
		cancel()
		wg.Wait()
		v.pc.Close()
		srv.Close()
		bc.Close()
		pool.Close()
		src.Close()
		runtime.GC()
	}
}

func imagePt(x, y int) image.Point { return image.Pt(x, y) }

func colorWhite() color.RGBA { return color.RGBA{255, 255, 255, 0} }
