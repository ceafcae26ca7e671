/** The per-cascade throughput chart (uPlot, bundled): receive and send rate over GetTrafficHistory's window. */
import uPlot from 'uplot';
import { ChartBox } from './chart-box.ts';
import { bitsShort, rate, timeTicks } from './format.ts';
import type { TrafficHistory } from './types.ts';

const HEIGHT = 190;

export class TrafficChart extends ChartBox {
  constructor(box: HTMLElement) {
    super(box, 'Loading the throughput history…', HEIGHT);
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
    this.clearNote();
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
}
