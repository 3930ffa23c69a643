/** Prometheus metrics of propagations, registered on the server's registry (GET /metrics). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class PropagationMetrics {
  readonly finished: Counter<'state'>;
  readonly refused: Counter<'reason'>;
  readonly running: Gauge;
  readonly queued: Gauge;
  readonly slices: Counter<'result'>;
  readonly sliceSeconds: Histogram;
  readonly seconds: Histogram<'state'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.finished = new Counter({ name: 'glmedsa_propagations_total', help: 'Propagations through a series that ended, by state (succeeded, cancelled, failed)', labelNames: ['state'], registers });
    this.refused = new Counter({ name: 'glmedsa_propagations_refused_total', help: 'Propagations refused before they started, by reason (busy, not_a_volume, conflict, invalid, other)', labelNames: ['reason'], registers });
    this.running = new Gauge({ name: 'glmedsa_propagations_running', help: 'Propagations computing now', registers });
    this.queued = new Gauge({ name: 'glmedsa_propagations_queued', help: 'Propagations waiting for a turn', registers });
    this.slices = new Counter({ name: 'glmedsa_propagation_slices_total', help: 'Slices decided by propagations, by result (kept: the object goes on; ended: where it stopped)', labelNames: ['result'], registers });
    this.sliceSeconds = new Histogram({
      name: 'glmedsa_propagation_slice_seconds',
      help: 'Time between two slices decided by one propagation front (fetch, encode, decode and waiting behind clicks)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.seconds = new Histogram({ name: 'glmedsa_propagation_seconds', help: 'Duration of propagations from start to end, by state', labelNames: ['state'], buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800], registers });
  }
}
