/** Live curves on a canvas: training loss per batch and validation accuracy per epoch. */
export interface CurvePoints {
  /** [fraction of the run, loss] per reported batch. */
  readonly batchLoss: [number, number][];
  /** [epoch, val_accuracy] per epoch. */
  readonly valAccuracy: [number, number][];
}

export function drawCurves(canvas: HTMLCanvasElement, points: CurvePoints, epochs: number): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width, height } = canvas;
  const pad = 36;
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = '#999';
  ctx.strokeRect(pad, 8, width - pad - 8, height - pad - 8);
  ctx.fillStyle = '#444';
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillText('loss (blue) · val accuracy (orange)', pad + 6, 22);
  ctx.fillText('epoch →', width - 60, height - 10);
  const maxLoss = Math.max(0.5, ...points.batchLoss.map(([, l]) => l));
  const x = (epoch: number) => pad + (epoch / Math.max(1, epochs)) * (width - pad - 8);
  const y = (fraction: number) => height - pad - fraction * (height - pad - 16);
  const line = (pts: [number, number][], color: string, scale: (v: number) => number) => {
    if (pts.length === 0) return;
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    pts.forEach(([e, v], i) => {
      if (i === 0) ctx.moveTo(x(e), y(scale(v)));
      else ctx.lineTo(x(e), y(scale(v)));
    });
    ctx.stroke();
  };
  line(points.batchLoss, '#1f77b4', (l) => Math.min(1, l / maxLoss));
  line(points.valAccuracy, '#ff7f0e', (a) => a);
  for (let e = 0; e <= epochs; e++) ctx.fillText(String(e), x(e) - 3, height - pad + 14);
}
