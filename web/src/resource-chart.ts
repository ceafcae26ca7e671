/** The health page's resource chart (uPlot): CPU, memory and disk use in %, temperature in °C, with thresholds. */
import uPlot from 'uplot';
import { ChartBox } from './chart-box.ts';
import { timeTicks } from './format.ts';
import type { HealthSettings, ResourceHistory } from './types.ts';

const HEIGHT = 220;
const AXIS = { stroke: '#5b6472', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#eef0f3' } };

export class ResourceChart extends ChartBox {
  constructor(box: HTMLElement) {
    super(box, 'Loading the resource history…', HEIGHT);
  }

  /** Thresholds are drawn as dashed lines in the colour of their series, so a crossing is visible at a glance. */
  update(hist: ResourceHistory, th: HealthSettings): void {
    const xs: number[] = [];
    const cpu: number[] = [];
    const mem: number[] = [];
    const disk: number[] = [];
    const temp: Array<number | null> = [];
    for (const p of hist.PointList) {
      const t = Date.parse(p.Time_dt);
      if (!Number.isFinite(t)) continue;
      xs.push(t / 1000);
      cpu.push(p.CpuPercent_u32);
      mem.push(p.MemoryPercent_u32);
      disk.push(p.DiskPercent_u32);
      temp.push(p.TemperatureKnown_bool ? p.TemperatureC_u32 : null);
    }
    const hasTemp = temp.some((v) => v !== null);
    const flat = (v: number) => xs.map(() => v);
    const data: uPlot.AlignedData = [xs, cpu, mem, disk, temp, flat(th.CpuWarnPercent_u32), flat(th.MemoryWarnPercent_u32), flat(th.TemperatureWarnC_u32)];
    if (xs.length < 2) {
      this.note(`Collecting data: a point is recorded every ${hist.Interval_u32} s; the chart starts with the second.`);
      return;
    }
    this.clearNote();
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    const pct = (_u: uPlot, v: number | null) => (v == null ? '–' : `${v} %`);
    const deg = (_u: uPlot, v: number | null) => (v == null ? '–' : `${v} °C`);
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { pct: { range: [0, 100] }, temp: { range: (_u, _min, max) => [0, Math.max(100, (max ?? 0) + 10)] } },
        axes: [
          { ...AXIS, space: 70, values: (_u, vals) => timeTicks(vals) },
          { ...AXIS, scale: 'pct', size: 48, label: '%', labelSize: 14 },
          { ...AXIS, scale: 'temp', side: 1, size: 48, label: '°C', labelSize: 14, show: hasTemp, grid: { show: false } },
        ],
        series: [
          {},
          { label: 'CPU', scale: 'pct', stroke: '#1f6feb', width: 1.5, value: pct },
          { label: 'Memory', scale: 'pct', stroke: '#8250df', width: 1.5, value: pct },
          { label: 'Disk', scale: 'pct', stroke: '#5b6472', width: 1.5, value: pct },
          { label: 'Temperature', scale: 'temp', stroke: '#d9730d', width: 1.5, value: deg, show: hasTemp },
          { label: 'CPU limit', scale: 'pct', stroke: '#1f6feb', width: 1, dash: [4, 4], value: pct },
          { label: 'Memory limit', scale: 'pct', stroke: '#8250df', width: 1, dash: [4, 4], value: pct },
          { label: 'Temperature limit', scale: 'temp', stroke: '#d9730d', width: 1, dash: [4, 4], value: deg, show: hasTemp },
        ],
      },
      data,
      this.box,
    );
  }
}
