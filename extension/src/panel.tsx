/**
 * The GLMed-SA panel: server status and device, model (selectable when there are several),
 * the last click's latency split, the prompts and candidates on show, a propagation's progress,
 * the lesion's volume and longest axial diameter, and errors as sentences.
 * Rendered with Preact inside the viewer's panel (see host-panel.ts).
 */
import { useEffect, useState } from 'preact/hooks';
import type { Controller } from './controller.js';
import { hostPanel } from './host-panel.js';
import { decodeLine } from './segmenter/decode-router.js';
import { type LesionFigures, type PanelState, type PropagationView, modelLabel } from './status.js';

/** The progress bar's sentence: slices done, the current image, the time left; or how it ended. */
function propagationLine(p: PropagationView): string {
  const what = p.kind === 'fill' ? 'Filling the gap' : p.kind === 'refine' ? 'Propagating the corrected slice' : 'Propagating';
  const range = p.first !== null && p.last !== null ? ` (images ${p.first}-${p.last})` : '';
  switch (p.state) {
    case 'starting':
      return `${what}: starting...${p.reason ? ` ${p.reason}` : ''}`;
    case 'queued':
      return `${what}: waiting for the server (other propagations are running)...`;
    case 'running': {
      const at = p.current !== null ? `, image ${p.current} of ${p.images}` : '';
      const left = p.etaSeconds !== null ? `, at most ${Math.ceil(p.etaSeconds)} s left` : '';
      return `${what}: ${p.done} of at most ${p.total} slices${at}${left}.`;
    }
    case 'done':
      return `Proposal on ${p.slices} slice${p.slices === 1 ? '' : 's'}${range}: Enter accepts all of it, Esc rejects it, a click on a slice corrects it there and beyond.`;
    case 'cancelled':
      return `Stopped: the proposal holds ${p.slices} slice${p.slices === 1 ? '' : 's'}${range}.`;
    case 'failed':
      return `The propagation failed${p.reason ? `: ${p.reason.replace(/[.\s]+$/, '')}` : ''}. The slices found until then (${p.slices}) are on show.`;
  }
}

const mm = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ml = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** "4.21 mL, longest axial diameter 23.4 mm (image 31), 9 slices" */
function figuresLine(f: LesionFigures): string {
  const d = f.longestAxialMm !== null ? `, longest axial diameter ${mm(f.longestAxialMm)} mm${f.longestOnImage !== null ? ` (image ${f.longestOnImage})` : ''}` : '';
  return `${ml(f.volumeMl)} mL${d}, ${f.slices} slice${f.slices === 1 ? '' : 's'}`;
}

export function makePanel(controller: Controller, actions: { saveSeg(): void }) {
  function GlmedsaPanel() {
    const [s, setS] = useState<PanelState>(controller.status.get());
    useEffect(() => controller.status.subscribe(setS), []);
    const row = { display: 'flex', justifyContent: 'space-between', gap: '8px', padding: '2px 0' };
    const button = { padding: '4px 8px', borderRadius: '4px', background: '#1f3a5f', color: 'white', border: '1px solid #3b6ea5', cursor: 'pointer' };
    const serverText = s.server === 'up' ? `connected${s.device ? ` (${s.device})` : ''}` : s.server === 'down' ? 'unreachable' : 'checking...';
    const model = s.models.find((m) => m.id === s.model);
    return (
      <div data-glmedsa="panel" style={{ padding: '8px', color: '#d4d4d8', fontSize: '13px', lineHeight: '1.4' }}>
        <div style={row}>
          <span>Server</span>
          <span data-glmedsa="server" data-state={s.server}>{serverText}</span>
        </div>
        <div style={row}>
          <span>Model</span>
          {s.models.length > 1 ? (
            <select data-glmedsa="model" value={s.model ?? ''} onChange={(e) => controller.selectModel(e.currentTarget.value)} style={{ background: '#111', color: 'inherit' }}>
              {s.models.map((m) => (
                <option key={m.id} value={m.id}>
                  {modelLabel(m)}
                </option>
              ))}
            </select>
          ) : (
            <span data-glmedsa="model">{model ? modelLabel(model) : s.model ?? '-'}</span>
          )}
        </div>
        <div style={row}>
          <span>Adapter</span>
          <span data-glmedsa="adapter">{model?.activeAdapter ?? 'none (base model)'}</span>
        </div>
        {s.decode ? (
          <div data-glmedsa="decode-path" data-path={s.decode.path} data-backend={s.decode.backend ?? ''} style={{ fontSize: '12px', padding: '2px 0' }}>
            {decodeLine(s.decode)}
          </div>
        ) : null}
        <div style={row}>
          <span>Last click</span>
          <span data-glmedsa="latency">
            {s.busy ? (
              <span data-glmedsa="spinner">segmenting...</span>
            ) : s.last ? (
              `${s.last.totalMs} ms${s.last.cached ? ' (warm)' : ''}`
            ) : (
              '-'
            )}
          </span>
        </div>
        {s.last ? (
          <div data-glmedsa="latency-split" style={{ fontSize: '11px', color: '#a1a1aa' }}>
            network {s.last.networkMs} ms, fetch {s.last.fetchMs} ms, encode {s.last.encodeMs} ms, decode {s.last.decodeMs} ms
          </div>
        ) : null}
        <div style={row}>
          <span>Prompts</span>
          <span data-glmedsa="prompts">
            {s.prompts}
            {s.candidates ? `, mask ${s.candidates.index + 1} of ${s.candidates.count}` : ''}
          </span>
        </div>
        {s.propagation ? (
          <div data-glmedsa="propagation" data-state={s.propagation.state} data-done={s.propagation.done} data-total={s.propagation.total} data-slices={s.propagation.slices} style={{ marginTop: '6px' }}>
            <div style={{ height: '6px', background: '#27272a', borderRadius: '3px', overflow: 'hidden' }}>
              <div
                data-glmedsa="progress-bar"
                style={{
                  height: '100%',
                  width: `${s.propagation.state === 'running' || s.propagation.state === 'starting' || s.propagation.state === 'queued' ? Math.round((100 * s.propagation.done) / Math.max(1, s.propagation.total)) : 100}%`,
                  background: s.propagation.state === 'failed' ? '#b91c1c' : '#3b82f6',
                }}
              />
            </div>
            <div data-glmedsa="propagation-line" style={{ fontSize: '12px', padding: '2px 0' }}>
              {propagationLine(s.propagation)}
            </div>
          </div>
        ) : null}
        {s.measures?.segment || s.measures?.withProposal ? (
          <div data-glmedsa="measures" style={{ marginTop: '6px', fontSize: '12px' }}>
            {s.measures.segment ? (
              <div data-glmedsa="volume" data-ml={s.measures.segment.volumeMl} data-mm={s.measures.segment.longestAxialMm ?? ''} data-voxels={s.measures.segment.voxels}>
                {s.measures.segmentLabel}: {figuresLine(s.measures.segment)}
              </div>
            ) : null}
            {s.measures.withProposal ? (
              <div data-glmedsa="proposal-volume" data-ml={s.measures.withProposal.volumeMl} data-mm={s.measures.withProposal.longestAxialMm ?? ''} data-voxels={s.measures.withProposal.voxels} style={{ color: '#a1a1aa' }}>
                With the proposal: {figuresLine(s.measures.withProposal)}
              </div>
            ) : null}
          </div>
        ) : null}
        {s.error ? (
          <div data-glmedsa="error" data-kind={s.errorKind ?? ''} role="alert" style={{ marginTop: '6px', padding: '6px', background: '#3f1d1d', borderRadius: '4px', color: '#fecaca' }}>
            {s.error}
          </div>
        ) : null}
        <div style={{ display: 'flex', flexWrap: 'wrap', gap: '6px', marginTop: '8px' }}>
          <button data-glmedsa="undo" style={button} onClick={() => void controller.undoPrompt()} title="Remove the last prompt (U)">
            Undo prompt
          </button>
          <button data-glmedsa="accept" style={button} onClick={() => controller.accept()} title="Keep the proposed mask (Enter)">
            Accept
          </button>
          <button data-glmedsa="reject" style={button} onClick={() => controller.reject()} title="Discard the proposed mask (Esc)">
            Reject
          </button>
          <button data-glmedsa="propagate" style={button} onClick={() => void controller.propagate()} title="Carry the mask on this slice through the series (P)">
            Propagate
          </button>
          <button data-glmedsa="fill" style={button} onClick={() => void controller.fillBetween()} title="Propagate from two accepted slices toward each other across the empty slices between them (F)">
            Fill between
          </button>
          <button data-glmedsa="save" style={button} onClick={() => actions.saveSeg()} title="Store the segmentation in the PACS as DICOM SEG">
            Save as SEG
          </button>
        </div>
        <div data-glmedsa="keys" style={{ marginTop: '8px', fontSize: '11px', color: '#71717a' }}>
          Click: include. Shift+click: exclude. Drag: box. Enter: accept, Esc: reject, U: undo prompt, M: next candidate mask, N: accept and go to the next slice with the same prompts, P: propagate the mask through the series (Esc stops it, Enter accepts all slices), F: fill between two accepted slices, Ctrl+Z / Ctrl+Y: undo / redo an accepted mask.
        </div>
      </div>
    );
  }
  return hostPanel('panel', () => <GlmedsaPanel />);
}

/** What the panel shows in a viewer the extension could not register in: the reason, as a sentence. */
export function makeUnavailablePanel(reason: string) {
  return hostPanel('panel', () => (
    <div data-glmedsa="panel" data-unavailable="true" style={{ padding: '8px', color: '#d4d4d8', fontSize: '13px', lineHeight: '1.4' }}>
      <div data-glmedsa="error" data-kind="unavailable" role="alert" style={{ padding: '6px', background: '#3f1d1d', borderRadius: '4px', color: '#fecaca' }}>
        {reason}
      </div>
    </div>
  ));
}
