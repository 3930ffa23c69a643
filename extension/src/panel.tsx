/**
 * The GLMed-SA panel: server status and device, model (selectable when there are several),
 * the last click's latency split, the prompts and candidates on show, and errors as sentences.
 * Rendered with Preact inside the viewer's panel (see host-panel.ts).
 */
import { useEffect, useState } from 'preact/hooks';
import type { Controller } from './controller.js';
import { hostPanel } from './host-panel.js';
import { decodeLine } from './segmenter/decode-router.js';
import { type PanelState, modelLabel } from './status.js';

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
          <button data-glmedsa="save" style={button} onClick={() => actions.saveSeg()} title="Store the segmentation in the PACS as DICOM SEG">
            Save as SEG
          </button>
        </div>
        <div data-glmedsa="keys" style={{ marginTop: '8px', fontSize: '11px', color: '#71717a' }}>
          Click: include. Shift+click: exclude. Drag: box. Enter: accept, Esc: reject, U: undo prompt, M: next candidate mask, N: accept and go to the next slice with the same prompts, Ctrl+Z / Ctrl+Y: undo / redo an accepted mask.
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
