/**
 * The prompts drawn over a viewport: green dots for positive points, red for negative, a dashed
 * rectangle for the box (and the one being dragged). An SVG layer above the viewport, redrawn
 * from image coordinates whenever the viewport renders (pan, zoom, scroll).
 */
import type { Prompt } from './prompts.js';
import type { Peers } from './peers.js';
import type { Point2, StackViewport } from './viewer-types.js';

const SVG = 'http://www.w3.org/2000/svg';

export class MarkerLayer {
  private svg: SVGSVGElement | null = null;
  private viewport: StackViewport | null = null;
  private imageId: string | null = null;
  private prompts: Prompt[] = [];
  private dragBox: [Point2, Point2] | null = null;
  private readonly onRender = () => this.draw();

  constructor(private readonly peers: Peers) {}

  attach(viewport: StackViewport): void {
    if (this.viewport === viewport && this.svg?.isConnected) return;
    this.detach();
    this.viewport = viewport;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('data-glmedsa', 'markers');
    Object.assign(svg.style, { position: 'absolute', inset: '0', width: '100%', height: '100%', pointerEvents: 'none', zIndex: '5' });
    viewport.element.appendChild(svg);
    this.svg = svg;
    viewport.element.addEventListener(this.peers.cornerstone.Enums.Events['IMAGE_RENDERED']!, this.onRender);
  }

  detach(): void {
    if (this.viewport) this.viewport.element.removeEventListener(this.peers.cornerstone.Enums.Events['IMAGE_RENDERED']!, this.onRender);
    this.svg?.remove();
    this.svg = null;
    this.viewport = null;
  }

  set(imageId: string | null, prompts: Prompt[]): void {
    this.imageId = imageId;
    this.prompts = [...prompts];
    this.draw();
  }

  setDragBox(box: [Point2, Point2] | null): void {
    this.dragBox = box;
    this.draw();
  }

  private toCanvas(x: number, y: number): Point2 | null {
    if (!this.viewport || !this.imageId) return null;
    const world = this.peers.cornerstone.utilities.imageToWorldCoords(this.imageId, [x, y]);
    return world ? this.viewport.worldToCanvas(world) : null;
  }

  private draw(): void {
    const svg = this.svg;
    if (!svg) return;
    while (svg.firstChild) svg.firstChild.remove();
    const onImage = this.viewport && this.imageId && this.viewport.getCurrentImageId() === this.imageId;
    if (onImage) {
      for (const p of this.prompts) {
        if (p.kind === 'point') {
          const c = this.toCanvas(p.point.x, p.point.y);
          if (!c) continue;
          const dot = document.createElementNS(SVG, 'circle');
          dot.setAttribute('cx', String(c[0]));
          dot.setAttribute('cy', String(c[1]));
          dot.setAttribute('r', '5');
          dot.setAttribute('fill', p.point.label ? '#22c55e' : '#ef4444');
          dot.setAttribute('stroke', 'white');
          dot.setAttribute('stroke-width', '1.5');
          dot.setAttribute('data-label', String(p.point.label));
          svg.appendChild(dot);
        } else {
          const a = this.toCanvas(p.box.x1, p.box.y1);
          const b = this.toCanvas(p.box.x2, p.box.y2);
          if (a && b) svg.appendChild(rect(a, b, '#facc15'));
        }
      }
    }
    if (this.dragBox) svg.appendChild(rect(this.dragBox[0], this.dragBox[1], '#facc15'));
  }
}

function rect(a: Point2, b: Point2, colour: string): SVGRectElement {
  const r = document.createElementNS(SVG, 'rect');
  r.setAttribute('x', String(Math.min(a[0], b[0])));
  r.setAttribute('y', String(Math.min(a[1], b[1])));
  r.setAttribute('width', String(Math.abs(a[0] - b[0])));
  r.setAttribute('height', String(Math.abs(a[1] - b[1])));
  r.setAttribute('fill', 'none');
  r.setAttribute('stroke', colour);
  r.setAttribute('stroke-dasharray', '4 3');
  r.setAttribute('stroke-width', '1.5');
  return r;
}
