package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"time"
)

// PlotPoint is one concurrency level of the create-file sweep.
type PlotPoint struct {
	Clients int
	Rate    float64       // ops/s
	P99     time.Duration // latency
}

var (
	colBG    = color.RGBA{255, 255, 255, 255}
	colAxis  = color.RGBA{40, 40, 40, 255}
	colGrid  = color.RGBA{225, 225, 225, 255}
	colRate  = color.RGBA{31, 119, 180, 255}
	colLat   = color.RGBA{214, 39, 40, 255}
	colRef   = color.RGBA{120, 120, 120, 255}
	colTitle = color.RGBA{0, 0, 0, 255}
)

// PlotCreate draws create-file throughput (top) and p99 latency (bottom)
// against client concurrency on a log2 axis as a PNG. ref, when positive,
// is drawn as a dashed horizontal line in the throughput panel (refLabel).
func PlotCreate(w io.Writer, title string, pts []PlotPoint, ref float64, refLabel string) error {
	if len(pts) == 0 {
		return fmt.Errorf("bench: plot: no points")
	}
	const W, H = 960, 760
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fillRect(img, 0, 0, W, H, colBG)
	drawText(img, (W-textWidth(title, 2))/2, 14, title, 2, colTitle)

	left, right := 120, W-40
	panels := []struct {
		top, bottom int
		label       string
		col         color.Color
		val         func(PlotPoint) float64
		ref         float64
		fmt         func(float64) string
	}{
		{50, 360, "create-file ops/s", colRate, func(p PlotPoint) float64 { return p.Rate }, ref, axisLabel},
		{420, 690, "p99 latency (ms)", colLat, func(p PlotPoint) float64 { return float64(p.P99) / float64(time.Millisecond) }, 0,
			axisLabel},
	}
	minX, maxX := math.Log2(float64(pts[0].Clients)), math.Log2(float64(pts[len(pts)-1].Clients))
	if maxX == minX {
		maxX = minX + 1
	}
	xAt := func(clients int) int {
		return left + int(float64(right-left)*(math.Log2(float64(clients))-minX)/(maxX-minX)+0.5)
	}
	for _, p := range panels {
		maxY := p.ref
		for _, pt := range pts {
			maxY = math.Max(maxY, p.val(pt))
		}
		top, step := niceScale(maxY)
		yAt := func(v float64) int { return p.bottom - int(float64(p.bottom-p.top)*v/top+0.5) }
		for v := 0.0; v <= top+step/2; v += step {
			y := yAt(v)
			hline(img, left, right, y, colGrid)
			s := p.fmt(v)
			drawText(img, left-10-textWidth(s, 2), y-7, s, 2, colAxis)
		}
		for _, pt := range pts {
			x := xAt(pt.Clients)
			vline(img, x, p.top, p.bottom, colGrid)
			s := fmt.Sprint(pt.Clients)
			drawText(img, x-textWidth(s, 2)/2, p.bottom+8, s, 2, colAxis)
		}
		hline(img, left, right, p.bottom, colAxis)
		vline(img, left, p.top, p.bottom, colAxis)
		drawTextVertical(img, 14, (p.top+p.bottom)/2+textWidth(p.label, 2)/2, p.label, 2, p.col)
		if p.ref > 0 {
			y := yAt(p.ref)
			for x := left; x < right; x += 12 {
				fillRect(img, x, y-1, 6, 2, colRef)
			}
			ly := y - 20
			if ly < p.top {
				ly = y + 8
			}
			drawText(img, right-textWidth(refLabel, 2), ly, refLabel, 2, colRef)
		}
		for i := 1; i < len(pts); i++ {
			line(img, xAt(pts[i-1].Clients), yAt(p.val(pts[i-1])), xAt(pts[i].Clients), yAt(p.val(pts[i])), 3, p.col)
		}
		for _, pt := range pts {
			fillRect(img, xAt(pt.Clients)-4, yAt(p.val(pt))-4, 9, 9, p.col)
		}
	}
	xl := "concurrent clients"
	drawText(img, (left+right-textWidth(xl, 2))/2, H-36, xl, 2, colAxis)
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	return nil
}

// niceScale returns an axis top at or above max and a tick step (1, 2 or 5
// times a power of ten, about five ticks).
func niceScale(max float64) (top, step float64) {
	if max <= 0 {
		return 1, 0.2
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	top = math.Ceil(max/step) * step
	return top, step
}

func axisLabel(v float64) string {
	if v >= 1000 {
		return fmtNum(v)
	}
	return trimFloat(v)
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

// line draws a thick line from (x0, y0) to (x1, y1).
func line(img *image.RGBA, x0, y0, x1, y1, width int, c color.Color) {
	dx, dy := float64(x1-x0), float64(y1-y0)
	n := int(math.Max(math.Abs(dx), math.Abs(dy)))
	if n == 0 {
		n = 1
	}
	for i := 0; i <= n; i++ {
		x := x0 + int(dx*float64(i)/float64(n)+0.5)
		y := y0 + int(dy*float64(i)/float64(n)+0.5)
		fillRect(img, x-width/2, y-width/2, width, width, c)
	}
}
