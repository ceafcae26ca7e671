/** The per-cascade throughput chart (uPlot, bundled): receive and send rate over GetTrafficHistory's window. */
import uPlot from 'uplot';
import { bitsShort, rate, timeTicks } from './format.ts';
import type { TrafficHistory } from './types.ts';

const HEIGHT = 190;

export class TrafficChart {
  private plot: uPlot | null = null;
  private readonly box: HTMLElement;
  private readonly resize: ResizeObserver;

  constructor(box: HTMLElement) {
    this.box = box;
    this.resize = new ResizeObserver(() => {
      const w = this.width();
      if (this.plot && w > 0 && Math.abs(this.plot.width - w) > 2) this.plot.setSize({ width: w, height: HEIGHT });
    });
    this.resize.observe(box);
    this.note('Loading the throughput history…');
  }

  /** A line of text in place of the chart (while loading, or while there are too few points to draw). */
  private note(text: string): void {
    let el = this.box.querySelector('.chart-note');
    if (!el) {
      el = document.createElement('p');
      el.className = 'chart-note muted small';
      this.box.append(el);
    }
    el.textContent = text;
  }

  private width(): number {
    return Math.max(200, Math.floor(this.box.clientWidth));
  }

  update(hist: TrafficHistory): void {
    const pts = hist.PointList;
    const xs: number[] = [];
    const rx: number[] = [];
    const tx: number[] = [];
    for (const p of pts) {
      const t = Date.parse(p.Time_dt);
      if (!Number.isFinite(t)) continue;
      xs.push(t / 1000);
      rx.push(p.BytesInPerSec_u64 * 8);
      tx.push(p.BytesOutPerSec_u64 * 8);
    }
    const data: uPlot.AlignedData = [xs, rx, tx];
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    if (xs.length < 2) {
      // An empty box looks broken: say why there is no line yet (a point is recorded every interval).
      this.note(`Collecting data: the chart starts after ${hist.Interval_u32 ? `${hist.Interval_u32 * 2} s` : 'a few seconds'} of traffic counting.`);
      return;
    }
    this.box.querySelector('.chart-note')?.remove();
    const bits = (v: number) => rate(v / 8);
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(8000, max * 1.1)] } },
        axes: [
          { stroke: '#5b6472', space: 70, values: (_u, vals) => timeTicks(vals), grid: { stroke: '#eef0f3' }, ticks: { stroke: '#eef0f3' } },
          { stroke: '#5b6472', size: 56, label: 'bit/s', labelSize: 14, values: (_u, vals) => vals.map(bitsShort), grid: { stroke: '#eef0f3' }, ticks: { stroke: '#eef0f3' } },
        ],
        series: [
          {},
          { label: 'Received', stroke: '#1f6feb', width: 1.5, fill: 'rgba(31,111,235,0.08)', value: (_u, v) => (v == null ? '–' : bits(v)) },
          { label: 'Sent', stroke: '#d9730d', width: 1.5, value: (_u, v) => (v == null ? '–' : bits(v)) },
        ],
      },
      data,
      this.box,
    );
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
