/**
 * The graph IR: a directed acyclic graph of ONNX operators over named values, built in
 * topological order by the op functions in ops/. Every value carries a dtype and a shape whose
 * dimensions are numbers or symbols (strings, e.g. 'B' for a dynamic batch).
 */
import { type DType, type Tensor, shapeString } from '../tensor.js';
import { type Attrs } from './attrs.js';
import { opDef } from './registry.js';

export type Dim = number | string;
export type Shape = Dim[];

export interface ValueType {
  dtype: DType;
  shape: Shape;
}

export class Value {
  /** The node that computes this value; undefined for graph inputs and initializers. */
  producer: Node | undefined;
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** The shape as numbers; throws when a dimension is symbolic. */
  staticShape(): number[] {
    return this.shape.map((d, i) => {
      if (typeof d !== 'number') {
        throw new Error(`${this.name}: dimension ${i} of ${shapeString(this.shape)} is not static`);
      }
      return d;
    });
  }

  /** Dimension i, with negative indices counting from the end. */
  dim(i: number): Dim {
    const d = this.shape[i < 0 ? this.shape.length + i : i];
    if (d === undefined) throw new Error(`${this.name}: no dimension ${i} in ${shapeString(this.shape)}`);
    return d;
  }

  toString(): string {
    return `${this.name}:${this.dtype}${shapeString(this.shape)}`;
  }
}

export class Node {
  constructor(
    readonly graph: Graph,
    readonly opType: string,
    readonly inputs: (Value | null)[],
    readonly outputs: Value[],
    readonly attrs: Attrs,
    readonly name: string,
    readonly domain = '',
  ) {}
}

interface GraphOptions {
  name?: string;
}

export class Graph {
  readonly name: string;
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly nodes: Node[] = [];
  /** Initializer tensors by value name (constants and parameters). */
  readonly initializers = new Map<string, Tensor>();
  /** Names of initializers that are model parameters (checkpoint tensors), as opposed to constants. */
  readonly params = new Set<string>();
  private readonly values = new Map<string, Value>();
  private counter = 0;
  private scopes: string[] = [];

  constructor(options: GraphOptions = {}) {
    this.name = options.name ?? 'graph';
  }

  /** A fresh unique name, prefixed by the current scope. */
  freshName(hint: string): string {
    const prefix = this.scopes.length ? `${this.scopes.join('/')}/` : '';
    let name: string;
    do {
      name = `${prefix}${hint}_${this.counter++}`;
    } while (this.values.has(name));
    return name;
  }

  /** Runs fn with names of new nodes and values prefixed by `scope`. */
  scoped<T>(scope: string, fn: () => T): T {
    this.scopes.push(scope);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private register(value: Value): Value {
    if (this.values.has(value.name)) throw new Error(`duplicate value name '${value.name}'`);
    this.values.set(value.name, value);
    return value;
  }

  value(name: string): Value | undefined {
    return this.values.get(name);
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    const v = this.register(new Value(this, name, dtype, [...shape]));
    this.inputs.push(v);
    return v;
  }

  /** A constant tensor (initializer) with a generated name. */
  constant(t: Tensor, hint = 'const'): Value {
    const name = this.freshName(hint);
    this.initializers.set(name, t);
    return this.register(new Value(this, name, t.dtype, [...t.shape]));
  }

  /** A model parameter: an initializer named exactly like the checkpoint tensor. */
  param(name: string, t: Tensor): Value {
    const existing = this.values.get(name);
    if (existing) {
      if (!this.params.has(name)) throw new Error(`'${name}' exists and is not a parameter`);
      return existing;
    }
    this.initializers.set(name, t);
    this.params.add(name);
    return this.register(new Value(this, name, t.dtype, [...t.shape]));
  }

  /** The tensor behind a value when it is an initializer (constant or parameter). */
  constantValue(v: Value): Tensor | undefined {
    return v.producer ? undefined : this.initializers.get(v.name);
  }

  /**
   * Appends a node. Output types come from the op's shape inference in the registry;
   * `outputNames` may fix the names (graph outputs), otherwise they are generated.
   */
  emit(
    opType: string,
    inputs: (Value | null)[],
    attrs: Attrs = {},
    options: { outputs?: number; names?: string[]; domain?: string } = {},
  ): Value[] {
    for (const v of inputs) {
      if (v && v.graph !== this) throw new Error(`${opType}: input ${v.name} belongs to another graph`);
    }
    const def = opDef(opType);
    const types = def.infer({ graph: this, inputs, attrs, outputs: options.outputs ?? 1 });
    const nodeName = this.freshName(opType);
    const outs = types.map((t, i) =>
      this.register(new Value(this, options.names?.[i] ?? `${nodeName}:${i}`, t.dtype, t.shape)),
    );
    const node = new Node(this, opType, inputs, outs, attrs, nodeName, options.domain ?? '');
    for (const o of outs) o.producer = node;
    this.nodes.push(node);
    return outs;
  }

  /**
   * Gives an existing node more outputs (optional outputs a gradient rule needs, such as
   * LayerNormalization's Mean and InvStdDev), typed by the op's shape inference.
   */
  extendOutputs(node: Node, count: number): void {
    const types = opDef(node.opType).infer({ graph: this, inputs: node.inputs, attrs: node.attrs, outputs: count });
    for (let i = node.outputs.length; i < count; i++) {
      const t = types[i];
      if (!t) throw new Error(`${node.opType} has no output ${i}`);
      const v = this.register(new Value(this, `${node.name}:${i}`, t.dtype, t.shape));
      v.producer = node;
      node.outputs.push(v);
    }
  }

  /** Declares `v` a graph output under `name` (adds an Identity when the name differs). */
  output(v: Value, name?: string): Value {
    let out = v;
    if (name !== undefined && name !== v.name) {
      [out] = this.emit('Identity', [v], {}, { names: [name] }) as [Value];
    }
    this.outputs.push(out);
    return out;
  }

  /** Removes parameters from the initializers and makes them graph inputs (for training graphs). */
  promoteToInput(name: string): Value {
    const v = this.values.get(name);
    if (!v || !this.initializers.has(name)) throw new Error(`'${name}' is not an initializer`);
    this.initializers.delete(name);
    this.inputs.push(v);
    return v;
  }

  /** Drops nodes and initializers that no graph output depends on. */
  prune(): void {
    const live = new Set<Value>(this.outputs);
    const keep: Node[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (n.outputs.some((o) => live.has(o))) {
        keep.push(n);
        for (const v of n.inputs) if (v) live.add(v);
      }
    }
    keep.reverse();
    this.nodes.splice(0, this.nodes.length, ...keep);
    for (const name of [...this.initializers.keys()]) {
      const v = this.values.get(name);
      if (!v || !live.has(v)) {
        this.initializers.delete(name);
        this.params.delete(name);
      }
    }
  }

}
