/**
 * The application: a registry of tasks plus the producer side (sending, results). Worker nodes take
 * an App and consume its queues (src/worker/).
 */
import { Keys } from '../broker/keys.js';
import { RedisFactory, type Redis } from '../broker/redis-factory.js';
import { defineScripts, runScript } from '../broker/scripts.js';
import { AsyncResult } from './async-result.js';
import { ControlClient } from './control-client.js';
import type { BeatSchedule } from './beat-spec.js';
import { resolveAppConfig, type AppConfig, type AppOptions } from './config.js';
import type { TaskContext } from './context.js';
import { OptionError, TaskqError } from '../errors.js';
import { Producer, type SendSpec } from './producer.js';
import { ResultStore, type RevokeResult } from './result-store.js';
import { Router } from './routing.js';
import { parseRateLimit, type RateLimit } from './rate-limit.js';
import { randomUUID } from 'node:crypto';
import { callKwargs, Signature, type Canvas, type CanvasSender, type Kwargs, type SignatureOptions } from './canvas/canvas.js';
import { freezeCanvas } from './canvas/freeze.js';
import { isChord, isGroup, PASS_TASK, shapeOf, type FrozenNode, type ResultShape } from './canvas/frozen.js';
import { applyNode, emptyPlan } from './canvas/plan.js';
import { GroupResult } from './group-result.js';
import { assertTaskName, defineTask, Task, type ApplyOptions, type TaskDefinition, type TaskOptions, type TaskSender } from './task.js';

export class App implements TaskSender, CanvasSender {
  readonly config: AppConfig;
  readonly keys: Keys;
  readonly router: Router;
  /** Every connection of this app comes from here. */
  readonly redis: RedisFactory;
  private readonly registry = new Map<string, TaskDefinition>();
  private readonly producer: Producer;
  private readonly results: ResultStore;
  private commandClient: Promise<Redis> | undefined;
  private controlClient: ControlClient | undefined;
  private closing: Promise<void> | undefined;
  /** The periodic entries `taskq beat` sends (checked when beat starts, once the tasks are registered). */
  readonly beatSchedule: BeatSchedule;

  constructor(options: AppOptions = {}) {
    this.config = resolveAppConfig(options);
    this.beatSchedule = { ...(options.beatSchedule ?? {}) };
    this.keys = new Keys(this.config.keyPrefix);
    this.router = new Router(this.config.routes, this.config.defaultQueue);
    this.redis = new RedisFactory({ url: this.config.broker });
    this.producer = new Producer(this.config, this.keys, this.router, () => this.client(), this.redis.display);
    this.results = new ResultStore(this.redis, this.keys, () => this.client());
    // Built in, as Celery's celery.* tasks (the worker banner leaves it out, as Celery's): a chord body that is not one task runs behind it.
    this.registry.set(PASS_TASK, defineTask(PASS_TASK, (value: unknown) => value));
  }

  /**
   * Registers a task. With `bind: true` the handler receives a {@link TaskContext} first.
   * Names are unique within an app.
   */
  task<A extends unknown[], R>(name: string, handler: (ctx: TaskContext, ...args: A) => R, options: TaskOptions & { bind: true }): Task<A, Awaited<R>>;
  task<A extends unknown[], R>(name: string, handler: (...args: A) => R, options?: TaskOptions & { bind?: false }): Task<A, Awaited<R>>;
  task(name: string, handler: (...args: never[]) => unknown, options: TaskOptions = {}): Task {
    if (this.registry.has(name)) {
      throw new TaskqError('TASKQ_TASK_DUPLICATE', `task ${JSON.stringify(name)} is registered twice in this app`, { exitCode: 64 });
    }
    const def = defineTask(name, handler, options);
    this.registry.set(name, def);
    return new Task(def, this);
  }

  /** The registered task definitions, by name. */
  get tasks(): ReadonlyMap<string, TaskDefinition> {
    return this.registry;
  }

  /** Queues this app's tasks and routes send to (for workers started without -Q). */
  knownQueues(): string[] {
    const queues = new Set<string>([this.config.defaultQueue]);
    for (const def of this.registry.values()) queues.add(this.router.route(def.name, def.queue));
    return [...queues];
  }

  /**
   * Sends a task by name, without importing its code (Celery's `send_task(name, args, kwargs, **options)`).
   * With `link` or `linkError` it is sent as a canvas.
   */
  async send<R = unknown>(name: string, args: unknown[] = [], kwargsGiven?: Kwargs | null, optionsGiven?: SignatureOptions): Promise<AsyncResult<R>> {
    assertTaskName(name, 'app.send');
    const kwargs = callKwargs(`app.send(${JSON.stringify(name)})`, kwargsGiven, optionsGiven);
    const options = optionsGiven ?? {};
    if (options.link !== undefined || options.linkError !== undefined) return (await this.signature(name, args, kwargs, options).applyAsync()) as AsyncResult<R>;
    return (await this.sendSpec({ task: name, def: this.registry.get(name), args, kwargs, options })) as AsyncResult<R>;
  }

  /** Remote control and inspection of the worker nodes (Celery's `app.control`). */
  get control(): ControlClient {
    return (this.controlClient ??= new ControlClient(this));
  }

  /** A handle on a task's result, from its id. */
  result<R = unknown>(id: string): AsyncResult<R> {
    return new AsyncResult<R>(id, this.results, undefined, false, this.config);
  }

  /** Revokes a task by id (see AsyncResult.revoke). */
  revoke(id: string, options: { terminate?: boolean } = {}): Promise<RevokeResult> {
    return this.results.revoke(id, options, this.config);
  }

  /**
   * Changes a task's rate limit at run time, for every node at once (`null` restores the task's own).
   * Takes effect on the nodes' next take, without restarts.
   */
  async setRateLimit(task: string, rate: RateLimit | null): Promise<void> {
    if (rate !== null) parseRateLimit(rate, `task ${task}:`);
    const client = await this.client();
    const k = this.keys;
    await runScript(client, 'taskqRateReset', [k.rates, k.queues, `${k.ratePrefix}${task}`], [task, rate === null ? '' : String(rate), `${k.prefix}:`]);
    await client.publish(this.keys.control, JSON.stringify({ op: 'rate_limit', task }));
  }

  /**
   * A signature of a task by name (Celery's `app.signature`), for canvases of tasks this process does
   * not import. When the app registers tasks, an unknown name is refused when the canvas is sent.
   */
  signature<R = unknown>(name: string, args: unknown[] = [], kwargs: Kwargs = {}, options: SignatureOptions = {}): Signature<R> {
    assertTaskName(name, 'app.signature');
    return new Signature<R>(this, name, args, kwargs, options);
  }

  /** @internal used by canvases: freezes, plans and sends one in a single script call. */
  async applyCanvas(canvas: Canvas, args: unknown[], kwargs: Kwargs, options: SignatureOptions): Promise<AsyncResult | GroupResult> {
    this.assertOpen();
    const now = Date.now();
    const frozen = freezeCanvas(canvas, args, kwargs, options, { router: this.router, tasks: this.registry, newId: randomUUID, now });
    const plan = emptyPlan();
    applyNode(plan, frozen, { keys: this.keys, now, sentEvents: this.config.events && this.config.sentEvents });
    await this.producer.sendPlan(plan, queuesOf(frozen), describe(frozen), options);
    return this.handle(shapeOf(frozen));
  }

  private handle(shape: ResultShape): AsyncResult | GroupResult {
    if ('group' in shape) return new GroupResult(shape.id, shape.group.map((s) => this.handle(s)));
    const result = new AsyncResult(shape.id, this.results, shape.task, shape.ignoreResult, this.config);
    if (shape.parent) result.parent = this.handle(shape.parent);
    if (shape.chordBody) result.followsParent = false;
    return result;
  }

  /** @internal used by Task. */
  dispatch(def: TaskDefinition, args: unknown[], kwargs: Kwargs, options: ApplyOptions): Promise<AsyncResult> {
    return this.sendSpec({ task: def.name, def, args, kwargs, options });
  }

  /** @internal used by Task. */
  async dispatchBulk(def: TaskDefinition, argsList: unknown[][], options: ApplyOptions): Promise<AsyncResult[]> {
    this.assertOpen();
    if (!Array.isArray(argsList)) throw new OptionError(`${def.name}.applyBulk: expected an array of argument arrays`);
    const sent = await this.producer.sendBulk(def.name, def, argsList, options);
    const ignore = options.ignoreResult ?? def.ignoreResult;
    return sent.map((s) => new AsyncResult(s.id, this.results, def.name, ignore, this.config));
  }

  private sendSpec(spec: SendSpec): Promise<AsyncResult> {
    try {
      this.assertOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const ignore = spec.options.ignoreResult ?? spec.def?.ignoreResult ?? false;
    return this.producer.send(spec, (sent) => new AsyncResult(sent.id, this.results, spec.task, ignore, this.config));
  }

  /**
   * The app's shared command connection. The first call connects (failing with exit code 69 and the
   * broker URL if Redis is not there); afterwards ioredis reconnects by itself.
   */
  client(): Promise<Redis> {
    this.assertOpen();
    this.commandClient ??= this.redis.connected('command', 'app').then(
      (client) => {
        defineScripts(client);
        client.on('error', () => {}); // reconnects on its own; commands wait meanwhile
        return client;
      },
      (err: unknown) => {
        this.commandClient = undefined;
        throw err;
      },
    );
    return this.commandClient;
  }

  private assertOpen(): void {
    if (this.closing) throw new TaskqError('TASKQ_CLOSED', 'this app was closed; create a new one to send tasks', { exitCode: 70 });
  }

  /** Closes every connection the app opened (idempotent). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.producer.close();
      await this.results.close();
      await this.redis.closeAll();
    })();
    return this.closing;
  }
}

/** Creates an app. `broker` falls back to TASKQ_BROKER_URL, then redis://127.0.0.1:6379/0. */
export function createApp(options: AppOptions = {}): App {
  return new App(options);
}

/** Every queue a frozen canvas sends to (registered when it is sent). */
function queuesOf(node: FrozenNode, out = new Set<string>()): Set<string> {
  if (isGroup(node)) node.group.forEach((m) => queuesOf(m, out));
  else if (isChord(node)) {
    node.chord.forEach((m) => queuesOf(m, out));
    queuesOf(node.body, out);
  } else {
    out.add(node.queue);
    for (const n of [...(node.chain ?? []), ...(node.link ?? []), ...(node.linkError ?? [])]) queuesOf(n, out);
  }
  return out;
}

function describe(node: FrozenNode): string {
  if (isGroup(node)) return `a group of ${node.group.length}`;
  if (isChord(node)) return `a chord of ${node.chord.length}`;
  return node.chain?.length ? `a chain starting with ${node.task}` : `task ${node.task}`;
}
