/**
 * SAM's ViT image encoder with GLMed-SA adapters: patch embedding, absolute position embedding,
 * windowed / global attention blocks with decomposed relative position bias, and the neck.
 * Runs at any input size that is a multiple of the patch size: position tables are resized
 * (bicubic for the absolute embedding, linear for global blocks' relative tables).
 */
import type { Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import { int64 } from '../tensor.js';
import { type ModelConfig, embedGrid, hasGlobalAdapter, hasLocalAdapters } from './config.js';
import { bicubicMatrix, linearMatrix } from '../util/interpolation.js';
import { type ModuleContext, adapter, layerNorm, layerNorm2d, linear } from './layers.js';
import { ADAPTER_NAMES } from './parameters.js';

const ENCODER_LN_EPS = 1e-6;

/** x: normalised image [B, 3, S, S] -> image embeddings [B, prompt_dim, S/p, S/p]. */
export function imageEncoder(m: ModuleContext, c: ModelConfig, x: Value, inputSize = c.img_size): Value {
  if (inputSize % c.patch_size !== 0) throw new Error(`encoder input size ${inputSize} is not a multiple of ${c.patch_size}`);
  const E = inputSize / c.patch_size;
  const pe = 'image_encoder.patch_embed.proj';
  let h = op.conv(x, m.p(`${pe}.weight`), m.p(`${pe}.bias`), { strides: [c.patch_size, c.patch_size] });
  h = op.transpose(h, [0, 2, 3, 1]); // [B, E, E, D]
  h = op.add(h, positionEmbedding(m, c, E));
  for (let i = 0; i < c.depth; i++) {
    h = m.g.scoped(`block${i}`, () => block(m, c, i, h, E));
  }
  h = op.transpose(h, [0, 3, 1, 2]);
  h = op.conv(h, m.p('image_encoder.neck.0.weight'), null);
  h = layerNorm2d(m, 'image_encoder.neck.1', h);
  h = op.conv(h, m.p('image_encoder.neck.2.weight'), null, { pads: [1, 1, 1, 1] });
  return layerNorm2d(m, 'image_encoder.neck.3', h);
}

/** The absolute position embedding [1, E, E, D], bicubically resized when E differs. */
function positionEmbedding(m: ModuleContext, c: ModelConfig, E: number): Value {
  const pos = m.p('image_encoder.pos_embed');
  const E0 = embedGrid(c);
  if (E === E0) return pos;
  const D = c.embed_dim;
  const M = op.constant(m.g, bicubicMatrix(E0, E), 'bicubic');
  // Rows: [E, E0] @ [E0, E0*D]; columns: per output row, [E, E0] @ [E0, D].
  const rows = op.reshape(op.matmul(M, op.reshape(pos, [E0, E0 * D])), [E, E0, D]);
  return op.unsqueeze(op.matmul(M, rows), [0]);
}

/** One ViT block with the GLMed-SA adapters of the config's variant. */
function block(m: ModuleContext, c: ModelConfig, i: number, x: Value, E: number): Value {
  const b = `image_encoder.blocks.${i}`;
  const windowed = c.window > 0 && !c.global_attn_indexes.includes(i);
  const shortcut = x;
  let a = layerNorm(m, `${b}.norm1`, x, ENCODER_LN_EPS);
  if (windowed) {
    const parts = windowPartition(a, c.window, E);
    a = windowUnpartition(attention(m, c, b, parts.windows, c.window, c.window), c.window, parts.padded, E);
  } else {
    a = attention(m, c, b, a, E, E);
  }
  if (hasLocalAdapters(c.variant)) a = op.add(a, adapter(m, `${b}.${ADAPTER_NAMES.space}`, a, c.space_adapter_act));
  x = op.add(shortcut, a);
  const xn = layerNorm(m, `${b}.norm2`, x, ENCODER_LN_EPS);
  let y = op.add(x, linear(m, `${b}.mlp.lin2`, op.gelu(linear(m, `${b}.mlp.lin1`, xn))));
  if (hasLocalAdapters(c.variant)) {
    y = op.add(y, op.mulScalar(adapter(m, `${b}.${ADAPTER_NAMES.mlp}`, xn, c.mlp_adapter_act), c.mlp_adapter_scale));
  }
  if (hasGlobalAdapter(c.variant)) {
    const g = adapter(m, `${b}.${ADAPTER_NAMES.global}`, shortcut, c.global_adapter_act);
    y = op.add(y, op.mulScalar(g, c.global_adapter_scale));
  }
  return y;
}

/** [B, E, E, C] -> [B * nWindows, w, w, C], zero-padding bottom/right to a multiple of w. */
function windowPartition(x: Value, w: number, E: number): { windows: Value; padded: number } {
  const P = Math.ceil(E / w) * w;
  const C = x.dim(-1) as number;
  const padded = P > E ? op.pad(x, [0, 0, 0, 0, 0, P - E, P - E, 0]) : x;
  const n = P / w;
  const grid = op.reshape(padded, [0, n, w, n, w, C]);
  return { windows: op.reshape(op.transpose(grid, [0, 1, 3, 2, 4, 5]), [-1, w, w, C]), padded: P };
}

function windowUnpartition(windows: Value, w: number, P: number, E: number): Value {
  const C = windows.dim(-1) as number;
  const n = P / w;
  const grid = op.reshape(windows, [-1, n, n, w, w, C]);
  const x = op.reshape(op.transpose(grid, [0, 1, 3, 2, 4, 5]), [-1, P, P, C]);
  return P > E ? op.slice(x, [1, 2], [0, 0], [E, E]) : x;
}

/**
 * Relative position table gathered for q and k positions: [q, k, hd] from the parameter
 * [L, hd], linearly resized to 2*max(q,k)-1 rows when L differs (SAM's get_rel_pos).
 */
function relativePositions(m: ModuleContext, name: string, q: number, k: number): Value {
  let table = m.p(name);
  const L = table.dim(0) as number;
  const maxDist = 2 * Math.max(q, k) - 1;
  if (L !== maxDist) table = op.matmul(op.constant(m.g, linearMatrix(L, maxDist), 'relpos_interp'), table);
  const qScale = Math.max(k / q, 1);
  const kScale = Math.max(q / k, 1);
  const idx: number[] = [];
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < k; j++) idx.push(Math.trunc(i * qScale - j * kScale + (k - 1) * kScale));
  }
  return op.gather(table, op.constant(m.g, int64([q, k], idx), 'relpos_idx'), 0);
}

/** Multi-head self-attention over [B', h, w, D] tokens with decomposed relative position bias. */
function attention(m: ModuleContext, c: ModelConfig, b: string, x: Value, h: number, w: number): Value {
  const D = c.embed_dim;
  const nH = c.heads;
  const hd = D / nH;
  const n = h * w;
  const qkv = linear(m, `${b}.attn.qkv`, x); // [B', h, w, 3D]
  const heads = op.reshape(op.transpose(op.reshape(qkv, [-1, n, 3, nH, hd]), [2, 0, 3, 1, 4]), [3, -1, n, hd]);
  const [q, k, v] = op.split(heads, [1, 1, 1], 0).map((t) => op.squeeze(t, [0])) as [Value, Value, Value];
  let attn = op.matmul(op.mulScalar(q, hd ** -0.5), op.transpose(k, [0, 2, 1])); // [B'nH, n, n]

  // Decomposed relative position bias: rel_h[b,y,x,ky] = q[b,y,x,:]·Rh[y,ky,:], likewise for columns.
  const Rh = relativePositions(m, `${b}.attn.rel_pos_h`, h, h); // [h, kh, hd]
  const Rw = relativePositions(m, `${b}.attn.rel_pos_w`, w, w); // [w, kw, hd]
  const rq = op.reshape(q, [-1, h, w, hd]);
  const relH = op.matmul(rq, op.transpose(Rh, [0, 2, 1])); // [b, h, w, kh]
  const relW = op.transpose(op.matmul(op.transpose(rq, [0, 2, 1, 3]), op.transpose(Rw, [0, 2, 1])), [0, 2, 1, 3]); // [b, h, w, kw]
  attn = op.reshape(attn, [-1, h, w, h, w]);
  attn = op.add(op.add(attn, op.unsqueeze(relH, [4])), op.unsqueeze(relW, [3]));
  attn = op.softmax(op.reshape(attn, [-1, n, n]), -1);

  const out = op.matmul(attn, v); // [B'nH, n, hd]
  const merged = op.reshape(op.transpose(op.reshape(out, [-1, nH, h, w, hd]), [0, 2, 3, 1, 4]), [-1, h, w, D]);
  return linear(m, `${b}.attn.proj`, merged);
}
