/**
 * A Segmenter turns the prompts on an image (points, box, the previous mask's id) into candidate
 * masks with their predicted IoU, the best one's index and timings: the answer of POST /v1/segment.
 * Two implementations: the server decodes (ServerSegmenter), or the browser does with the
 * server's embedding (BrowserSegmenter).
 */
import type { SegmentRequestInput as SegmentRequest, SegmentResponse } from '@glmedsa/server/api';
import type { GlmedsaClient } from '../client.js';

type DecodePath = 'browser' | 'server';

export interface Segmenter {
  readonly path: DecodePath;
  segment(req: SegmentRequest): Promise<SegmentResponse>;
}

/** Today's path: every prompt is a POST /v1/segment. */
export class ServerSegmenter implements Segmenter {
  readonly path = 'server' as const;
  constructor(private readonly client: GlmedsaClient) {}
  segment(req: SegmentRequest): Promise<SegmentResponse> {
    return this.client.segment(req);
  }
}
