/**
 * SAM's ViT image encoder with GLMed-SA adapters: patch embedding, absolute position embedding,
 * windowed / global attention blocks with decomposed relative position bias, and the neck.
 * Runs at any input size that is a multiple of the patch size: position tables are resized
 * (bicubic for the absolute embedding, linear for global blocks' relative tables).
 */
import type { Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import { int64 } from '../tensor.js';
import { type ModelConfig, adapterDim, embedGrid, hasGlobalAdapter, hasLocalAdapters } from './config.js';
import { bicubicMatrix, linearMatrix } from '../util/interpolation.js';
import { type Forward, adapter, conv2d, layerNorm, layerNorm2d, linear } from './layers.js';
import type { Param, ParamScope } from './param-scope.js';

const ENCODER_LN_EPS = 1e-6;

/** Checkpoint names of the adapters in each block (Med-SA's own for the space and MLP adapters). */
const ADAPTER_NAMES = { space: 'Space_Adapter', mlp: 'MLP_Adapter', global: 'Global_Adapter' } as const;

/** The image encoder at `s` (image_encoder): normalised image [B, 3, S, S] -> embeddings [B, prompt_dim, S/p, S/p]. */
export function imageEncoder(s: ParamScope, c: ModelConfig): (x: Value, inputSize?: number) => Value {
  const D = c.embed_dim;
  const C = c.prompt_dim;
  const E0 = embedGrid(c);
  const patchEmbed = conv2d(s, 'patch_embed.proj', 3, D, c.patch_size, { strides: [c.patch_size, c.patch_size] });
  const pos = s.param('pos_embed', [1, E0, E0, D], 'trunc_normal');
  const blocks = Array.from({ length: c.depth }, (_, i) => vitBlock(s.child(`blocks.${i}`), c, i));
  const neck0 = conv2d(s, 'neck.0', D, C, 1, { bias: false });
  const neck1 = layerNorm2d(s, 'neck.1', C);
  const neck2 = conv2d(s, 'neck.2', C, C, 3, { bias: false, pads: [1, 1, 1, 1] });
  const neck3 = layerNorm2d(s, 'neck.3', C);

  return (x, inputSize = c.img_size) => {
    if (inputSize % c.patch_size !== 0) throw new Error(`encoder input size ${inputSize} is not a multiple of ${c.patch_size}`);
    const E = inputSize / c.patch_size;
    let h = patchEmbed(x);
    h = op.transpose(h, [0, 2, 3, 1]); // [B, E, E, D]
    h = op.add(h, positionEmbedding(pos, c, E));
    blocks.forEach((block, i) => {
      h = h.graph.scoped(`block${i}`, () => block(h, E));
    });
    h = op.transpose(h, [0, 3, 1, 2]);
    return neck3(neck2(neck1(neck0(h))));
  };
}

/** The absolute position embedding [1, E, E, D], bicubically resized when E differs. */
function positionEmbedding(param: Param, c: ModelConfig, E: number): Value {
  const pos = param.value();
  const E0 = embedGrid(c);
  if (E === E0) return pos;
  const D = c.embed_dim;
  const M = op.constant(pos.graph, bicubicMatrix(E0, E), 'bicubic');
  // Rows: [E, E0] @ [E0, E0*D]; columns: per output row, [E, E0] @ [E0, D].
  const rows = op.reshape(op.matmul(M, op.reshape(pos, [E0, E0 * D])), [E, E0, D]);
  return op.unsqueeze(op.matmul(M, rows), [0]);
}

/** One ViT block (image_encoder.blocks.i) with the GLMed-SA adapters of the config's variant. */
function vitBlock(s: ParamScope, c: ModelConfig, i: number): (x: Value, E: number) => Value {
  const D = c.embed_dim;
  const windowed = c.window > 0 && !c.global_attn_indexes.includes(i);
  const norm1 = layerNorm(s, 'norm1', D, ENCODER_LN_EPS);
  const attn = attention(s.child('attn'), c, windowed ? c.window : embedGrid(c));
  const norm2 = layerNorm(s, 'norm2', D, ENCODER_LN_EPS);
  const hidden = Math.floor(D * c.mlp_ratio);
  const lin1 = linear(s, 'mlp.lin1', D, hidden);
  const lin2 = linear(s, 'mlp.lin2', hidden, D);
  const ad = adapterDim(c);
  const local = hasLocalAdapters(c.variant);
  const spaceAdapter = local ? adapter(s, ADAPTER_NAMES.space, 'local_adapter', D, ad, c.space_adapter_act) : null;
  const mlpAdapter = local ? adapter(s, ADAPTER_NAMES.mlp, 'local_adapter', D, ad, c.mlp_adapter_act) : null;
  const globalAdapter = hasGlobalAdapter(c.variant) ? adapter(s, ADAPTER_NAMES.global, 'global_adapter', D, ad, c.global_adapter_act) : null;

  return (x, E) => {
    const shortcut = x;
    let a = norm1(x);
    if (windowed) {
      const parts = windowPartition(a, c.window, E);
      a = windowUnpartition(attn(parts.windows, c.window, c.window), c.window, parts.padded, E);
    } else {
      a = attn(a, E, E);
    }
    if (spaceAdapter) a = op.add(a, spaceAdapter(a));
    x = op.add(shortcut, a);
    const xn = norm2(x);
    let y = op.add(x, lin2(op.gelu(lin1(xn))));
    if (mlpAdapter) y = op.add(y, op.mulScalar(mlpAdapter(xn), c.mlp_adapter_scale));
    if (globalAdapter) y = op.add(y, op.mulScalar(globalAdapter(shortcut), c.global_adapter_scale));
    return y;
  };
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
function relativePositions(param: Param, q: number, k: number): Value {
  let table = param.value();
  const g = table.graph;
  const L = table.dim(0) as number;
  const maxDist = 2 * Math.max(q, k) - 1;
  if (L !== maxDist) table = op.matmul(op.constant(g, linearMatrix(L, maxDist), 'relpos_interp'), table);
  const qScale = Math.max(k / q, 1);
  const kScale = Math.max(q / k, 1);
  const idx: number[] = [];
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < k; j++) idx.push(Math.trunc(i * qScale - j * kScale + (k - 1) * kScale));
  }
  return op.gather(table, op.constant(g, int64([q, k], idx), 'relpos_idx'), 0);
}

/**
 * Multi-head self-attention (blocks.i.attn) over [B', h, w, D] tokens with decomposed relative
 * position bias; `size` is the token grid the checkpoint's relative tables were trained for.
 */
function attention(s: ParamScope, c: ModelConfig, size: number): (x: Value, h: number, w: number) => Value {
  const D = c.embed_dim;
  const nH = c.heads;
  const hd = D / nH;
  const qkvProj: Forward = linear(s, 'qkv', D, 3 * D);
  const proj: Forward = linear(s, 'proj', D, D);
  const relPosH = s.param('rel_pos_h', [2 * size - 1, hd], 'trunc_normal');
  const relPosW = s.param('rel_pos_w', [2 * size - 1, hd], 'trunc_normal');

  return (x, h, w) => {
    const n = h * w;
    const qkv = qkvProj(x); // [B', h, w, 3D]
    const heads = op.reshape(op.transpose(op.reshape(qkv, [-1, n, 3, nH, hd]), [2, 0, 3, 1, 4]), [3, -1, n, hd]);
    const [q, k, v] = op.split(heads, [1, 1, 1], 0).map((t) => op.squeeze(t, [0])) as [Value, Value, Value];
    let attn = op.matmul(op.mulScalar(q, hd ** -0.5), op.transpose(k, [0, 2, 1])); // [B'nH, n, n]

    // Decomposed relative position bias: rel_h[b,y,x,ky] = q[b,y,x,:]·Rh[y,ky,:], likewise for columns.
    const Rh = relativePositions(relPosH, h, h); // [h, kh, hd]
    const Rw = relativePositions(relPosW, w, w); // [w, kw, hd]
    const rq = op.reshape(q, [-1, h, w, hd]);
    const relH = op.matmul(rq, op.transpose(Rh, [0, 2, 1])); // [b, h, w, kh]
    const relW = op.transpose(op.matmul(op.transpose(rq, [0, 2, 1, 3]), op.transpose(Rw, [0, 2, 1])), [0, 2, 1, 3]); // [b, h, w, kw]
    attn = op.reshape(attn, [-1, h, w, h, w]);
    attn = op.add(op.add(attn, op.unsqueeze(relH, [4])), op.unsqueeze(relW, [3]));
    attn = op.softmax(op.reshape(attn, [-1, n, n]), -1);

    const out = op.matmul(attn, v); // [B'nH, n, hd]
    const merged = op.reshape(op.transpose(op.reshape(out, [-1, nH, h, w, hd]), [0, 2, 3, 1, 4]), [-1, h, w, D]);
    return proj(merged);
  };
}
