/**
 * Parameters are declared by the module that uses them: a module's builder names each tensor
 * (relative to its scope), gives its shape, group and init, and gets back a handle that its
 * forward code turns into a graph value. The same builders serve two purposes:
 * - recording: the declarations are collected, in declaration order, as the model's parameter
 *   inventory (checkpoint validation, fresh weights, counts, trainable sets); no weights needed;
 * - binding: each handle becomes a graph initializer named like the checkpoint key, holding the
 *   weight of that name, the first time the forward code uses it.
 */
import type { Graph, Value } from '../ir/graph.js';
import { type Tensor, shapeString } from '../tensor.js';

export type ParamGroup = 'encoder' | 'local_adapter' | 'global_adapter' | 'prompt_encoder' | 'decoder';

/** How fresh weights start (checkpoints normally provide them). */
type ParamInit = 'zeros' | 'ones' | 'normal' | 'linear' | 'conv' | 'trunc_normal';

export interface ParamSpec {
  /** The checkpoint key. */
  name: string;
  shape: number[];
  group: ParamGroup;
  init: ParamInit;
  /** Fan-in of the layer the tensor belongs to (its 'linear'/'conv' init draws from +-1/sqrt(fanIn)). */
  fanIn?: number;
  /** Key prefix of the adapter the tensor belongs to: adapters come and go as a whole. */
  adapter?: string;
  /** A registered buffer (in the state dict, never trained, not counted as a parameter). */
  buffer?: boolean;
}

interface ParamSink {
  declare(spec: ParamSpec): void;
  value(spec: ParamSpec): Value;
}

/** A declared parameter. */
export class Param {
  constructor(
    readonly spec: ParamSpec,
    private readonly sink: ParamSink,
  ) {}

  /** The parameter as a graph value (an initializer named like the checkpoint key). */
  value(): Value {
    return this.sink.value(this.spec);
  }
}

abstract class UniqueNames implements ParamSink {
  private readonly names = new Set<string>();
  declare(spec: ParamSpec): void {
    if (this.names.has(spec.name)) throw new Error(`parameter '${spec.name}' is declared twice`);
    this.names.add(spec.name);
  }
  abstract value(spec: ParamSpec): Value;
}

class Recorder extends UniqueNames {
  readonly specs: ParamSpec[] = [];
  override declare(spec: ParamSpec): void {
    super.declare(spec);
    this.specs.push(spec);
  }
  value(spec: ParamSpec): Value {
    throw new Error(`parameter '${spec.name}' was declared for an inventory, not for a graph`);
  }
}

class GraphBinding extends UniqueNames {
  constructor(
    private readonly g: Graph,
    private readonly weights: ReadonlyMap<string, Tensor<'float32'>>,
  ) {
    super();
  }
  value(spec: ParamSpec): Value {
    const t = this.weights.get(spec.name);
    if (!t) throw new Error(`weight '${spec.name}' is missing`);
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new Error(`weight '${spec.name}' has shape ${shapeString(t.shape)}; the model declares ${shapeString(spec.shape)}`);
    }
    return this.g.param(spec.name, t);
  }
}

interface ParamOptions {
  fanIn?: number;
  buffer?: boolean;
}

/** Where a module declares its parameters: a key prefix, a group, and the sink they go to. */
export class ParamScope {
  private constructor(
    private readonly sink: ParamSink,
    readonly prefix: string,
    readonly group: ParamGroup | undefined,
    private readonly adapter: string | undefined,
  ) {}

  /** A scope that records declarations; `specs` fills as the builders run. */
  static recording(): { scope: ParamScope; specs: ParamSpec[] } {
    const recorder = new Recorder();
    return { scope: new ParamScope(recorder, '', undefined, undefined), specs: recorder.specs };
  }

  /** A scope whose parameters are `weights`' tensors, as initializers of `g`. */
  static binding(g: Graph, weights: ReadonlyMap<string, Tensor<'float32'>>): ParamScope {
    return new ParamScope(new GraphBinding(g, weights), '', undefined, undefined);
  }

  private key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** The scope of a sub-module at `name`, optionally in another group or as an adapter. */
  child(name: string, o: { group?: ParamGroup; adapter?: boolean } = {}): ParamScope {
    const prefix = this.key(name);
    return new ParamScope(this.sink, prefix, o.group ?? this.group, o.adapter ? prefix : this.adapter);
  }

  param(name: string, shape: number[], init: ParamInit, o: ParamOptions = {}): Param {
    const key = this.key(name);
    if (!this.group) throw new Error(`parameter '${key}' is declared outside a group`);
    if ((init === 'linear' || init === 'conv') && o.fanIn === undefined) throw new Error(`parameter '${key}': a ${init} init needs its fan-in`);
    const spec: ParamSpec = {
      name: key,
      shape: [...shape],
      group: this.group,
      init,
      ...(o.fanIn !== undefined ? { fanIn: o.fanIn } : {}),
      ...(this.adapter !== undefined ? { adapter: this.adapter } : {}),
      ...(o.buffer ? { buffer: true } : {}),
    };
    this.sink.declare(spec);
    return new Param(spec, this.sink);
  }
}
