/**
 * The models' propagation loop run on a PACS series by the server: each slice's embedding comes
 * from the embedding cache clicks use (same key, so slices a propagation encoded are warm for
 * clicks and the other way round), encoded and decoded by the inference workers at background
 * priority (every click goes first), the next slices' embeddings encoded ahead on free workers.
 * A full inference queue is waited out (background work yields), not turned into a failure.
 */
import type { SliceAnswer, SlicePrompt, SliceSegmenter } from '@glmedsa/models';
import type { DicomWebClient } from '../dicom/dicomweb-client.js';
import { fetchFrame } from '../dicom/image-source.js';
import type { ImageRef, Voi } from '../dicom/image-ref.js';
import { isDomainError } from '../errors.js';
import type { InferencePool } from '../inference/pool.js';
import type { ServedModel } from '../catalog/model-catalog.js';
import type { SegmentationService } from '../segmentation/service.js';
import type { LoadedSeries } from '../series/series-reader.js';

interface SeriesSegmenterOptions {
  service: SegmentationService;
  pool: InferencePool;
  client: DicomWebClient;
  model: ServedModel;
  series: LoadedSeries;
  voi: Voi | undefined;
  /** Stops everything this segmenter started (the propagation's own signal). */
  signal: AbortSignal;
  /** Embeddings being computed ahead at most. */
  maxAhead: number;
  /** How long a busy inference queue is waited out before the propagation fails. */
  busyWaitMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class SeriesSegmenter implements SliceSegmenter {
  private readonly ahead = new Map<number, Promise<unknown>>();

  constructor(private readonly o: SeriesSegmenterOptions) {}

  private ref(index: number): ImageRef {
    const s = this.o.series.slices[index]!;
    const { studyInstanceUID, seriesInstanceUID } = this.o.series.ref;
    return { studyInstanceUID, seriesInstanceUID, sopInstanceUID: s.sopInstanceUID, frame: s.frame, ...(this.o.voi ? { voi: this.o.voi } : {}) };
  }

  /** Background work waits while the inference queue is full (503) instead of failing. */
  private async patiently<T>(work: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + (this.o.busyWaitMs ?? 120_000);
    for (;;) {
      try {
        return await work();
      } catch (err) {
        const retry = isDomainError(err) && err.kind === 'busy' && err.retryAfterSeconds !== undefined && !this.o.signal.aborted && performance.now() < deadline;
        if (!retry) throw err;
        await sleep(Math.min(2000, (err.retryAfterSeconds ?? 1) * 500), this.o.signal);
      }
    }
  }

  private embedding(index: number) {
    const ref = this.ref(index);
    const series = this.o.series;
    return this.patiently(() =>
      this.o.service.frameEmbedding(
        this.o.model,
        {
          ref,
          width: series.columns,
          height: series.rows,
          fetch: () => fetchFrame(this.o.client, ref, ref.frame, { metadata: series.pixelModules.get(ref.sopInstanceUID), signal: this.o.signal }),
        },
        'background',
        this.o.signal,
      ),
    );
  }

  prefetch(indices: number[]): void {
    for (const i of indices) {
      if (this.ahead.size >= this.o.maxAhead) return;
      if (this.ahead.has(i)) continue;
      // Errors surface when the slice itself is segmented; here they only end the warm-up.
      const p = this.embedding(i)
        .catch(() => undefined)
        .finally(() => this.ahead.delete(i));
      this.ahead.set(i, p);
    }
  }

  async segment(index: number, prompt: SlicePrompt, signal?: AbortSignal): Promise<SliceAnswer> {
    const emb = await this.embedding(index);
    const r = await this.patiently(() =>
      this.o.pool.decode(
        {
          kind: 'decode',
          model: this.o.model.runtimeId,
          embeddings: emb.embeddings,
          originalSize: emb.originalSize,
          prompts: { points: prompt.points, labels: prompt.labels, box: prompt.box },
          maskInput: prompt.maskInput,
          multimask: prompt.multimask,
        },
        signal ?? this.o.signal,
        'background',
      ),
    );
    const best = r.masks[r.best]!;
    return { counts: best.counts, score: best.score, lowRes: r.lowRes };
  }
}
