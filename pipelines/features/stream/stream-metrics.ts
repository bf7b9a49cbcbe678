// The stream processors' metrics, on the process's registry: lag from event time to the online
// write, and events by outcome. Get-or-create, so building the services twice on one registry
// (tests) does not throw on a duplicate name.
import { Counter, Histogram, type Registry } from 'prom-client';

export const STREAM_LAG_METRIC = 'gigintel_feature_stream_lag_seconds';
export const STREAM_EVENTS_METRIC = 'gigintel_feature_stream_events_total';

export interface StreamMetrics {
  /** Seconds from an event's event time to the moment its entities' online values were written. */
  lag: Histogram;
  /** Events by outcome: counted (new), repeated (already counted), poison (dead-lettered). */
  events: Counter<'outcome'>;
}

export function streamMetrics(registry: Registry): StreamMetrics {
  const lag = registry.getSingleMetric(STREAM_LAG_METRIC) as Histogram | undefined ?? new Histogram({
    name: STREAM_LAG_METRIC,
    help: 'Stream feature lag: event time to online feature write, per event',
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60],
    registers: [registry],
  });
  const events = registry.getSingleMetric(STREAM_EVENTS_METRIC) as Counter<'outcome'> | undefined ?? new Counter({
    name: STREAM_EVENTS_METRIC,
    help: 'Events seen by the stream processors, by outcome (counted, repeated, poison)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return { lag, events };
}
