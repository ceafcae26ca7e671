/** What every uPlot chart of the UI shares: it follows its box's width and shows a line of text until it can draw. */
import type uPlot from 'uplot';

export abstract class ChartBox {
  protected plot: uPlot | null = null;
  protected readonly box: HTMLElement;
  protected readonly height: number;
  private readonly resize: ResizeObserver;

  constructor(box: HTMLElement, loadingText: string, height: number) {
    this.box = box;
    this.height = height;
    this.resize = new ResizeObserver(() => {
      const w = this.width();
      if (this.plot && w > 0 && Math.abs(this.plot.width - w) > 2) this.plot.setSize({ width: w, height: this.height });
    });
    this.resize.observe(box);
    this.note(loadingText);
  }

  /** A line of text in place of the chart (while loading, or while there are too few points to draw). */
  protected note(text: string): void {
    let el = this.box.querySelector('.chart-note');
    if (!el) {
      el = document.createElement('p');
      el.className = 'chart-note muted small';
      this.box.append(el);
    }
    el.textContent = text;
  }

  protected clearNote(): void {
    this.box.querySelector('.chart-note')?.remove();
  }

  protected width(): number {
    return Math.max(200, Math.floor(this.box.clientWidth));
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
