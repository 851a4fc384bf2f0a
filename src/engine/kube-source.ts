/**
 * The Kubernetes datastore source (`--datastore kubernetes`, Calico's KDD mode; issue 10), read
 * the way calico-node reads it, fed to the engine as events (events.ts):
 *
 *   /apis/crd.projectcalico.org/v1/ippools              IPPool (the CRD object: spec as Calico v3)
 *   /apis/crd.projectcalico.org/v1/blockaffinities      BlockAffinity (spec.deleted is a string)
 *   /apis/crd.projectcalico.org/v1/felixconfigurations  FelixConfiguration
 *   /api/v1/nodes                                       core Nodes, converted as libcalico-go's
 *                                                       K8sNodeToCalico does (annotations below)
 *
 * Each object is a source of its own (id `kubernetes:<collection path>/<name>`, load order = that
 * key), like the etcd source. Driven by @kubernetes/client-node 1.4.0's informer (ListWatch), one
 * per collection. Start: each informer lists and opens its watch; the four lists are delivered in
 * one sink call. Afterwards the informers' add/update/delete callbacks become replace/remove events,
 * batched per tick (a relist's callbacks land in one sink call). The library relists by itself
 * after a 410 (Expired) watch error; on any other error (a failed list, a watch answered with
 * 429/500, a connection dropped mid-stream) the informer STOPS: this source restarts it with
 * backoff (it resumes the watch from the last resourceVersion, or relists if that is gone) and
 * reports onConnection(false, why) meanwhile, onConnection(true) once every informer is back.
 * An object that fails its own rules is reported and skipped — its last good version, if any,
 * stays — so one bad object never stops the node from following the rest.
 *
 * Watches ask for bookmarks and a server-side timeout, as client-go's reflector does
 * (allowWatchBookmarks=true, timeoutSeconds 5–10 min, random): the apiserver ends each watch
 * cleanly now and then, the informer resumes it from the last resourceVersion, and bookmarks keep
 * that version recent on quiet collections, so a resume rarely meets 410 and relists.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ListWatch,
  Watch,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';

import type { ConfigDiagnostic } from '../config/diagnostics.js';
import type { RawDocument } from '../config/documents.js';
import { CALICO_API_VERSION, CALICO_CRD_API_VERSION } from '../config/schema.js';
import { errorsAlone, type DatastoreHooks } from './datastore.js';
import type { SourceEvent } from './events.js';

/** What this source reads: the collection path of each kind (`Node` is the core Kubernetes Node). */
export const KUBE_COLLECTIONS = {
  IPPool: `/apis/${CALICO_CRD_API_VERSION}/ippools`,
  BlockAffinity: `/apis/${CALICO_CRD_API_VERSION}/blockaffinities`,
  FelixConfiguration: `/apis/${CALICO_CRD_API_VERSION}/felixconfigurations`,
  Node: '/api/v1/nodes',
} as const;
export type KubeKind = keyof typeof KUBE_COLLECTIONS;
const KINDS = Object.keys(KUBE_COLLECTIONS) as KubeKind[];
const PLURALS: Record<Exclude<KubeKind, 'Node'>, string> = { IPPool: 'ippools', BlockAffinity: 'blockaffinities', FelixConfiguration: 'felixconfigurations' };

/** The annotations calico-node writes on its Kubernetes Node (libcalico-go lib/backend/k8s/resources/node.go). */
export const NODE_ANNOTATIONS = {
  ipv4Address: 'projectcalico.org/IPv4Address',
  ipv4IPIPTunnelAddr: 'projectcalico.org/IPv4IPIPTunnelAddr',
  ipv4VXLANTunnelAddr: 'projectcalico.org/IPv4VXLANTunnelAddr',
  vxlanTunnelMACAddr: 'projectcalico.org/VXLANTunnelMACAddr',
  ipv6Address: 'projectcalico.org/IPv6Address',
  asNumber: 'projectcalico.org/ASNumber',
  routeReflectorClusterID: 'projectcalico.org/RouteReflectorClusterID',
} as const;

export const NO_ADDRESS_MESSAGE = `Node has no ${NODE_ANNOTATIONS.ipv4Address} annotation (calico-node sets it)`;

export interface KubeSourceOptions extends DatastoreHooks {
  /** A kubeconfig file (`--kubeconfig`). */
  kubeconfig?: string;
  /** The pod's service account (KUBERNETES_SERVICE_HOST/PORT and /var/run/secrets/kubernetes.io/serviceaccount). */
  inCluster?: boolean;
}

/** The source key of one object: `kubernetes:/api/v1/nodes/node-a`. */
export const kubeKey = (kind: KubeKind, name: string) => `kubernetes:${KUBE_COLLECTIONS[kind]}/${name}`;

type Meta = { name?: unknown; annotations?: unknown; labels?: unknown };

/**
 * One object as the Kubernetes API serves it → the document burrow reads (undefined document and
 * an error: skipped, with why). Calico CRDs pass as they are (their schema accepts
 * crd.projectcalico.org/v1 and the server-set metadata); a core Node becomes the projectcalico.org/v3
 * Node calico-node derives from it (K8sNodeToCalico: name, labels, BGP and tunnel addresses from
 * the projectcalico.org/* annotations).
 */
export function documentOfKube(kind: KubeKind, object: unknown): { document?: RawDocument; error?: string } {
  const meta = ((object as { metadata?: Meta } | null)?.metadata ?? {}) as Meta;
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!object || typeof object !== 'object' || name === '') return { error: `${kind} object without metadata.name` };
  const loc = { file: kubeKey(kind, name), document: 1, prefix: [] as (string | number)[] };
  if (kind !== 'Node') {
    // A list item may come without kind/apiVersion (the list carries them): restore them.
    const value = { ...(object as Record<string, unknown>), apiVersion: (object as { apiVersion?: unknown }).apiVersion ?? CALICO_CRD_API_VERSION, kind: (object as { kind?: unknown }).kind ?? kind };
    return { document: { loc, value } };
  }
  const annotations = (meta.annotations && typeof meta.annotations === 'object' ? meta.annotations : {}) as Record<string, unknown>;
  const a = (k: keyof typeof NODE_ANNOTATIONS): string | undefined => {
    const v = annotations[NODE_ANNOTATIONS[k]];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const ipv4Address = a('ipv4Address');
  if (ipv4Address === undefined) return { error: NO_ADDRESS_MESSAGE };
  const bgp: Record<string, unknown> = { ipv4Address };
  for (const k of ['ipv6Address', 'ipv4IPIPTunnelAddr', 'asNumber', 'routeReflectorClusterID'] as const) {
    const v = a(k);
    if (v !== undefined) bgp[k] = v;
  }
  const spec: Record<string, unknown> = { bgp };
  const vxlan = a('ipv4VXLANTunnelAddr');
  if (vxlan !== undefined) spec['ipv4VXLANTunnelAddr'] = vxlan;
  const mac = a('vxlanTunnelMACAddr');
  if (mac !== undefined) spec['vxlanTunnelMACAddr'] = mac;
  spec['orchRefs'] = [{ nodeName: name, orchestrator: 'k8s' }];
  const metadata: Record<string, unknown> = { name };
  if (meta.labels && typeof meta.labels === 'object' && Object.keys(meta.labels).length > 0) metadata['labels'] = { ...(meta.labels as Record<string, string>) };
  return { document: { loc, value: { apiVersion: CALICO_API_VERSION, kind: 'Node', metadata, spec } } };
}

/** client-go's reflector: a watch lasts minWatchTimeout (5 min) × (1 + random). */
export const watchTimeoutSeconds = (): number => Math.floor(300 * (1 + Math.random()));

/** The library's Watch with the reflector's query parameters added (1.4's informer sends only resourceVersion). */
class ReflectorWatch extends Watch {
  override watch(path: string, queryParams: Parameters<Watch["watch"]>[1], callback: Parameters<Watch["watch"]>[2], done: Parameters<Watch["watch"]>[3]): Promise<AbortController> {
    return super.watch(path, { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds() }, callback, done);
  }
}

const why = (e: unknown): string => {
  if (e && typeof e === 'object') {
    const o = e as { statusCode?: unknown; code?: unknown; message?: unknown };
    const status = typeof o.statusCode === 'number' ? o.statusCode : typeof o.code === 'number' ? o.code : undefined;
    const msg = typeof o.message === 'string' ? o.message.split('\n')[0] : String(e);
    return status !== undefined && !String(msg).includes(String(status)) ? `HTTP ${status}: ${msg}` : String(msg);
  }
  return String(e);
};

interface Watched {
  kind: KubeKind;
  informer: Informer<KubernetesObject>;
  /** Down: the informer stopped on an error and waits for its restart. */
  down: boolean;
  /** An error was reported since the last (re)start. */
  failed: unknown;
  timer: NodeJS.Timeout | undefined;
  backoff: number;
}

export class KubeSource {
  readonly kc = new KubeConfig();
  private readonly watched: Watched[] = [];
  private closed = false;
  private synced = false;
  /** Keys emitted (their last good version is in the engine). */
  private readonly known = new Set<string>();
  private pending: SourceEvent[] = [];
  private flushQueued = false;
  private upReported: boolean | undefined;
  /** Lists made (the first four, and every relist after a 410 or a restart without a resourceVersion). */
  relists = 0;

  constructor(private readonly opts: KubeSourceOptions) {
    if (opts.kubeconfig) this.kc.loadFromFile(opts.kubeconfig);
    else if (opts.inCluster) this.kc.loadFromCluster();
    else this.kc.loadFromDefault();
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const core = this.kc.makeApiClient(CoreV1Api);
    for (const kind of KINDS) {
      const list = kind === 'Node'
        ? () => core.listNode() as Promise<KubernetesListObject<KubernetesObject>>
        : () => custom.listClusterCustomObject({ group: 'crd.projectcalico.org', version: 'v1', plural: PLURALS[kind] }) as Promise<KubernetesListObject<KubernetesObject>>;
      const informer = new ListWatch(KUBE_COLLECTIONS[kind], new ReflectorWatch(this.kc), async () => {
        const l = await list();
        this.relists++;
        return l;
      }, false);
      const w: Watched = { kind, informer, down: false, failed: undefined, timer: undefined, backoff: opts.backoff?.min ?? 200 };
      informer.on('add', (o) => this.upsert(kind, o));
      informer.on('update', (o) => this.upsert(kind, o));
      informer.on('delete', (o) => this.delete(kind, o));
      informer.on('error', (e) => this.failed(w, e));
      this.watched.push(w);
    }
  }

  /**
   * Lists the four collections and opens their watches; the lists reach the sink in one call.
   * Rejects (and stops) when a collection cannot be listed.
   */
  async start(): Promise<void> {
    await Promise.all(this.watched.map((w) => this.startOne(w)));
    const failed = this.watched.find((w) => w.failed !== undefined);
    if (failed) {
      const e = failed.failed;
      this.close();
      throw new Error(`kubernetes datastore: ${KUBE_COLLECTIONS[failed.kind]}: ${why(e)}`);
    }
    this.synced = true;
    this.flush();
    this.connection(true);
  }

  close(): void {
    this.closed = true;
    for (const w of this.watched) {
      if (w.timer) clearTimeout(w.timer);
      void w.informer.stop().catch(() => undefined);
    }
  }

  private async startOne(w: Watched): Promise<void> {
    w.failed = undefined;
    // informer.start() resolves once the list (if one is due) is processed and the watch request
    // has been answered; an error on the way is reported through the 'error' callback before it.
    await w.informer.start();
  }

  private ref = (key: string) => ({ id: key, order: [1, key] });

  private upsert(kind: KubeKind, object: KubernetesObject): void {
    const name = object.metadata?.name ?? '';
    const key = kubeKey(kind, name);
    const { document, error } = documentOfKube(kind, object);
    if (error || !document) {
      this.skip(key, [{ severity: 'error', file: key, document: 1, kind, name, path: '', rule: 'kubernetes-object', message: error ?? 'not convertible' }]);
      return;
    }
    const errors = errorsAlone(document);
    if (errors.length > 0) {
      this.skip(key, errors);
      return;
    }
    this.known.add(key);
    this.opts.onAccepted?.(key);
    this.push({ type: 'replace', source: this.ref(key), items: [document] });
  }

  private delete(kind: KubeKind, object: KubernetesObject): void {
    const key = kubeKey(kind, object.metadata?.name ?? '');
    this.opts.onAccepted?.(key);
    if (this.known.delete(key)) this.push({ type: 'remove', source: this.ref(key) });
  }

  private skip(key: string, diagnostics: readonly ConfigDiagnostic[]): void {
    this.opts.log?.warn({ key, errors: diagnostics.map((d) => d.message).slice(0, 5) }, 'datastore object fails its own rules: skipped (its last good version, if any, stays)');
    this.opts.onSkipped?.(key, diagnostics);
  }

  /** Events of one tick go in one sink call; before the first full list they wait for start(). */
  private push(e: SourceEvent): void {
    this.pending.push(e);
    if (!this.synced || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const events = this.pending;
    this.pending = [];
    this.opts.sink(events);
  }

  private connection(up: boolean, reason?: string): void {
    if (this.upReported === up) return;
    this.upReported = up;
    this.opts.onConnection?.(up, reason);
  }

  /** The informer stopped (the library restarts only after a 410): restart it with backoff. */
  private failed(w: Watched, e: unknown): void {
    w.failed = e;
    if (!this.synced || this.closed || w.timer) return;
    w.down = true;
    const reason = `${KUBE_COLLECTIONS[w.kind]}: ${why(e)}`;
    this.opts.log?.warn({ why: reason, retryInMs: w.backoff }, 'kubernetes watch lost: restarting');
    this.connection(false, reason);
    const delay = w.backoff;
    w.backoff = Math.min(w.backoff * 2, this.opts.backoff?.max ?? 10_000);
    w.timer = setTimeout(() => {
      w.timer = undefined;
      if (this.closed) return;
      this.startOne(w).then(() => {
        if (this.closed) return;
        if (w.failed !== undefined) {
          this.failed(w, w.failed);
          return;
        }
        w.down = false;
        w.backoff = this.opts.backoff?.min ?? 200;
        if (this.watched.every((x) => !x.down)) this.connection(true);
      }, (err: unknown) => this.failed(w, err));
    }, delay);
  }
}
