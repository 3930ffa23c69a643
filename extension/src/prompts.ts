/**
 * The prompts on one image and the answers to them: what to send next (all points so far, the
 * box, the previous mask id), which answer is current (only the latest prompt's answer counts,
 * however fast the clicks come), the candidate masks best-first, and undo of the last prompt.
 * Pure state: no DOM, no network.
 */
import type { Box as PromptBox, EncodedMask, ImageRef, Point as PromptPoint, SegmentRequestInput as SegmentRequest, SegmentResponse } from '@glmedsa/server/api';

export type Prompt = { kind: 'point'; point: PromptPoint } | { kind: 'box'; box: PromptBox };

interface Answer {
  maskId: string;
  /** The mask `maskId` stands for on the server (the server keeps its best mask's logits only); undefined when the browser decoded it. */
  best: EncodedMask | undefined;
  /** Candidates sorted by predicted IoU, best first. */
  masks: EncodedMask[];
  width: number;
  height: number;
}

export class PromptSession {
  readonly prompts: Prompt[] = [];
  /** answers[i] answers prompts[0..i]; undefined while in flight or dropped. */
  private answers: (Answer | undefined)[] = [];
  private seq = 0;
  private candidate = 0;

  constructor(readonly imageKey: string, readonly image: Omit<ImageRef, 'voi'>) {}

  /**
   * A session on another image with the same prompts and no answers yet (N: the next slice keeps
   * the markers). Send `request()` with the ticket `resend()` gives.
   */
  static carrying(from: PromptSession, imageKey: string, image: Omit<ImageRef, 'voi'>): PromptSession {
    const next = new PromptSession(imageKey, image);
    next.prompts.push(...from.prompts);
    next.answers.length = next.prompts.length;
    return next;
  }

  get points(): PromptPoint[] {
    return this.prompts.flatMap((p) => (p.kind === 'point' ? [p.point] : []));
  }

  get box(): PromptBox | undefined {
    const boxes = this.prompts.flatMap((p) => (p.kind === 'box' ? [p.box] : []));
    return boxes[boxes.length - 1];
  }

  /** Adds a prompt and returns the request for it with a ticket; `accept(ticket, answer)` later. */
  add(prompt: Prompt, voi?: ImageRef['voi'], model?: string): { ticket: number; request: SegmentRequest } {
    this.prompts.push(prompt);
    this.answers.length = this.prompts.length;
    this.seq++;
    return { ticket: this.seq, request: this.request(voi, model) };
  }

  /** The request for the prompts as they are now (used again after a retry). */
  request(voi?: ImageRef['voi'], model?: string, withMask = true): SegmentRequest {
    const previous = withMask ? this.latestAnswerBefore(this.prompts.length - 1) : undefined;
    const box = this.box;
    return {
      image: { ...this.image, ...(voi ? { voi } : {}) },
      ...(model ? { model } : {}),
      points: this.points,
      ...(box ? { box } : {}),
      ...(previous ? { maskId: previous.maskId } : {}),
    };
  }

  private latestAnswerBefore(index: number): Answer | undefined {
    for (let i = index - 1; i >= 0; i--) if (this.answers[i]) return this.answers[i];
    return undefined;
  }

  /** Whether a ticket still belongs to the latest prompt. */
  isCurrent(ticket: number): boolean {
    return ticket === this.seq;
  }

  /**
   * Records the answer to `ticket` (`decodedOnServer`: whether its mask id is the server's, which a
   * propagation can start from); returns false (and keeps nothing) when a newer prompt came since.
   */
  accept(ticket: number, res: SegmentResponse, decodedOnServer = true): boolean {
    if (!this.isCurrent(ticket)) return false;
    const masks = [...res.masks].sort((a, b) => b.score - a.score);
    this.answers[this.prompts.length - 1] = { maskId: res.maskId, best: decodedOnServer ? res.masks[res.best] : undefined, masks, width: res.image.width, height: res.image.height };
    this.candidate = 0;
    return true;
  }

  /** The mask on show: the current candidate of the latest answer. */
  current(): { mask: EncodedMask; width: number; height: number; candidate: number; candidates: number } | null {
    const a = this.answers[this.prompts.length - 1];
    if (!a || a.masks.length === 0) return null;
    const i = Math.min(this.candidate, a.masks.length - 1);
    return { mask: a.masks[i]!, width: a.width, height: a.height, candidate: i, candidates: a.masks.length };
  }

  /**
   * The mask id the server keeps for the mask on show, when it keeps that one: the server stores the
   * logits of its best mask only, so another candidate on show (M) has none.
   */
  currentMaskId(): string | undefined {
    const a = this.answers[this.prompts.length - 1];
    if (!a || a.masks.length === 0) return undefined;
    return a.masks[Math.min(this.candidate, a.masks.length - 1)] === a.best ? a.maskId : undefined;
  }

  /** Next candidate (wrapping), when the latest answer has several. */
  cycle(): boolean {
    const a = this.answers[this.prompts.length - 1];
    if (!a || a.masks.length < 2) return false;
    this.candidate = (this.candidate + 1) % a.masks.length;
    return true;
  }

  /** Removes the last prompt; the answer before it is on show again (in-flight answers are dropped). */
  undo(): boolean {
    if (!this.prompts.length) return false;
    this.prompts.pop();
    this.answers.length = this.prompts.length;
    this.seq++;
    this.candidate = 0;
    return true;
  }

  /** Whether the prompts left have an answer on hand (otherwise they must be sent again). */
  hasAnswer(): boolean {
    return this.prompts.length === 0 || this.answers[this.prompts.length - 1] !== undefined;
  }

  /** A fresh ticket for re-sending the current prompts (after undo onto an unanswered prompt, or a retry). */
  resend(): number {
    this.seq++;
    return this.seq;
  }
}
