// Chart.js, tree-shaken: only the controllers, elements and scales these pages draw. Animations
// off, so a chart is drawn when it is created (the data-ready marker means what it says).
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement,
  ScatterController, Tooltip, type ChartConfiguration,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, ScatterController, CategoryScale, LinearScale, Legend, Tooltip, Filler);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.color = '#1f2933';

export const COLORS = { blue: '#1d4ed8', green: '#15803d', red: '#b91c1c', amber: '#b45309', grey: '#4b5563', purple: '#6d28d9', teal: '#0f766e' };

/** A chart with a text alternative: the canvas is an image described by `label`. */
export function ChartBox(props: { config: ChartConfiguration; label: string; height?: number; id?: string; onDrawn?: () => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, props.config);
    props.onDrawn?.();
    return () => chart.destroy();
  }, [props.config]);
  return (
    <div class="chart" style={{ height: `${props.height ?? 260}px` }} data-chart={props.id}>
      <canvas ref={canvas} role="img" aria-label={props.label} />
    </div>
  );
}
