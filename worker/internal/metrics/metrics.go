// Package metrics holds the worker's Prometheus metrics. Every Metrics has its
// own registry, so several workers can run in one process (tests).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
)

// Metrics are the worker's counters. A nil *Metrics is valid and records nothing.
type Metrics struct {
	registry     *prometheus.Registry
	bytesRead    prometheus.Counter
	bytesWritten prometheus.Counter
	ufsReads     prometheus.Counter
	ufsBytesRead prometheus.Counter
	ufsWritten   prometheus.Counter
}

// New creates the metrics, with gauges that read the store on every scrape.
func New(store *blockstore.Store) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	f := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "alluxio", Subsystem: "worker", Name: name, Help: help})
		m.registry.MustRegister(c)
		return c
	}
	m.bytesRead = f("bytes_read_total", "Bytes served to clients by ReadBlock.")
	m.bytesWritten = f("bytes_written_total", "Bytes received from clients by WriteBlock.")
	m.ufsReads = f("ufs_reads_total", "Reads of blocks from the under file system.")
	m.ufsBytesRead = f("ufs_bytes_read_total", "Bytes read from the under file system.")
	m.ufsWritten = f("ufs_bytes_written_total", "Bytes written to the under file system.")
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if store != nil {
		m.registry.MustRegister(&storeCollector{store: store})
	}
	return m
}

// GaugeFunc adds a gauge (alluxio_worker_<name>) whose value f returns at scrape time.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "alluxio", Subsystem: "worker", Name: name, Help: help}, f))
}

// CounterFunc adds a counter (alluxio_worker_<name>) whose value f returns at scrape time.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "alluxio", Subsystem: "worker", Name: name, Help: help}, f))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Registry is the metrics' own registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// BytesRead counts bytes sent to clients.
func (m *Metrics) BytesRead(n int) {
	if m != nil {
		m.bytesRead.Add(float64(n))
	}
}

// BytesWritten counts bytes received from clients.
func (m *Metrics) BytesWritten(n int) {
	if m != nil {
		m.bytesWritten.Add(float64(n))
	}
}

// UFSRead counts one block read from the UFS.
func (m *Metrics) UFSRead() {
	if m != nil {
		m.ufsReads.Inc()
	}
}

// UFSBytesRead counts bytes read from the UFS.
func (m *Metrics) UFSBytesRead(n int) {
	if m != nil {
		m.ufsBytesRead.Add(float64(n))
	}
}

// UFSBytesWritten counts bytes written to the UFS.
func (m *Metrics) UFSBytesWritten(n int) {
	if m != nil {
		m.ufsWritten.Add(float64(n))
	}
}

var (
	descBlocks   = prometheus.NewDesc("alluxio_worker_blocks", "Committed blocks per tier.", []string{"tier"}, nil)
	descUsed     = prometheus.NewDesc("alluxio_worker_used_bytes", "Bytes used per tier (committed and reserved).", []string{"tier"}, nil)
	descCapacity = prometheus.NewDesc("alluxio_worker_capacity_bytes", "Capacity per tier.", []string{"tier"}, nil)
	descEvict    = prometheus.NewDesc("alluxio_worker_evictions_total", "Blocks evicted (moved down or dropped).", nil, nil)
	descEvictB   = prometheus.NewDesc("alluxio_worker_evicted_bytes_total", "Bytes evicted.", nil, nil)
	descPromote  = prometheus.NewDesc("alluxio_worker_promotions_total", "Blocks promoted to a faster tier.", nil, nil)
)

type storeCollector struct{ store *blockstore.Store }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBlocks, descUsed, descCapacity, descEvict, descEvictB, descPromote} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, u := range c.store.Usage() {
		ch <- prometheus.MustNewConstMetric(descBlocks, prometheus.GaugeValue, float64(u.Blocks), u.Alias)
		ch <- prometheus.MustNewConstMetric(descUsed, prometheus.GaugeValue, float64(u.Used), u.Alias)
		ch <- prometheus.MustNewConstMetric(descCapacity, prometheus.GaugeValue, float64(u.Capacity), u.Alias)
	}
	st := c.store.Stats()
	ch <- prometheus.MustNewConstMetric(descEvict, prometheus.CounterValue, float64(st.Evictions))
	ch <- prometheus.MustNewConstMetric(descEvictB, prometheus.CounterValue, float64(st.EvictedBytes))
	ch <- prometheus.MustNewConstMetric(descPromote, prometheus.CounterValue, float64(st.Promotions))
}
