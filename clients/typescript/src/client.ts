/**
 * HydraClient: the HTTP job API of DESIGN.md §2–§3 over the platform's
 * fetch (Node 18+, browsers, Deno, Bun, edge runtimes). No runtime
 * dependencies.
 *
 * Every method resolves with the parsed body on a 2xx and rejects with a
 * HydraError otherwise (the server's `{"error":{"code","message"}}` becomes
 * its `code` and `message`). An abort through the caller's own AbortSignal
 * rejects with the signal's reason, as fetch does.
 */
import { HydraError, RenderFailedError } from './errors.js';
import type { JobList, ListJobsParams, RenderRequest, RenderStatus } from './types.js';
import { isFinalState } from './types.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface HydraClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:8080` or an API Gateway stage URL. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` (the server's HC_API_KEYS). Keep it out of browser bundles. */
  apiKey?: string;
  /** A fetch implementation (default: the global fetch, looked up at call time). */
  fetch?: FetchLike;
  /** Per-request timeout in ms (default 30000; 0 = none). Rejects with HydraError code `timeout`. */
  timeoutMs?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number;
}

export interface WaitOptions {
  /** First poll interval in ms (default 1000). The first poll is immediate. */
  intervalMs?: number;
  /** Ceiling of the interval in ms (default 10000). */
  maxIntervalMs?: number;
  /** The interval is multiplied by this after each poll (default 1.5). */
  backoffFactor?: number;
  /** Give up after this many ms with HydraError code `timeout` (default: never). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with every status polled (including the final one), before waitForRender settles. */
  onProgress?: (status: RenderStatus) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Statuses worth retrying while polling: the job is fine, the path to it is not. */
function isTransient(e: HydraError): boolean {
  if (e.status === 0) return e.code === 'network_error' || e.code === 'timeout';
  return e.status === 408 || e.status === 425 || e.status === 429 || e.status >= 500;
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('This operation was aborted');
  e.name = 'AbortError';
  return e;
}

/** setTimeout as a promise that an AbortSignal can cut short (rejecting with its reason). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After (seconds or an HTTP date) in ms, or undefined. */
function retryAfterMs(res: Response): number | undefined {
  const v = res.headers.get('retry-after');
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/**
 * Fill absent fields of a status body with their empty values, so the
 * RenderStatus type holds even against an older server. Unknown fields are
 * kept. Throws HydraError `bad_response` when it is not a status at all.
 */
export function normalizeStatus(body: unknown): RenderStatus {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new HydraError(0, 'bad_response', 'expected a job status object', body);
  }
  const b = body as Record<string, unknown>;
  if (typeof b.job_id !== 'string' || typeof b.status !== 'string') {
    throw new HydraError(0, 'bad_response', 'job status without job_id or status', body);
  }
  const orNull = <T>(v: unknown): T | null => (v === undefined ? null : (v as T));
  return {
    ...b,
    job_id: b.job_id,
    status: b.status as RenderStatus['status'],
    progress: typeof b.progress === 'number' ? b.progress : 0,
    current_step: orNull(b.current_step === '' ? null : b.current_step),
    output_url: orNull(b.output_url),
    poster_url: orNull(b.poster_url),
    error: orNull(b.error),
    batch_job_id: orNull(b.batch_job_id),
    created_at: orNull(b.created_at),
    started_at: orNull(b.started_at),
    finished_at: orNull(b.finished_at),
    duration_s: orNull(b.duration_s),
    render_s: orNull(b.render_s),
    encoder: orNull(b.encoder),
    encoder_reason: orNull(b.encoder_reason),
    attempts: typeof b.attempts === 'number' ? b.attempts : 0,
    metadata: orNull(b.metadata),
    frames_done: typeof b.frames_done === 'number' ? b.frames_done : 0,
    frames_total: typeof b.frames_total === 'number' ? b.frames_total : 0,
    warnings: Array.isArray(b.warnings) ? (b.warnings as string[]) : [],
  };
}

export class HydraClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly fetchImpl: FetchLike | undefined;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(options: HydraClientOptions) {
    if (!options || typeof options.baseUrl !== 'string' || !/^https?:\/\//i.test(options.baseUrl)) {
      throw new HydraError(0, 'config_error', 'HydraClient: baseUrl must be an http(s) URL');
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey || undefined;
    this.fetchImpl = options.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.headers = { ...(options.headers ?? {}) };
  }

  /** `POST /render`: resolves with the job's status (202 a new job; 200 the same request submitted before). */
  async submitRenderJob(request: RenderRequest, options?: RequestOptions): Promise<RenderStatus> {
    const body = await this.request('POST', '/render', JSON.stringify(request), options);
    return normalizeStatus(body);
  }

  /** `GET /render/status?job_id=`. A 404 (unknown id) rejects with HydraError status 404. */
  async getRenderStatus(jobId: string, options?: RequestOptions): Promise<RenderStatus> {
    const body = await this.request('GET', `/render/status?job_id=${encodeURIComponent(jobId)}`, undefined, options);
    return normalizeStatus(body);
  }

  /** `DELETE /render/{id}`: resolves with the job's status after the cancel. */
  async cancelRenderJob(jobId: string, options?: RequestOptions): Promise<RenderStatus> {
    const body = await this.request('DELETE', `/render/${encodeURIComponent(jobId)}`, undefined, options);
    // A server that answers 204 (no body) still canceled it: read the state back.
    if (body === null || body === undefined || body === '') return this.getRenderStatus(jobId, options);
    return normalizeStatus(body);
  }

  /** `GET /jobs?status=&limit=&cursor=`: one page, newest first. */
  async listJobs(params: ListJobsParams = {}, options?: RequestOptions): Promise<JobList> {
    const q = new URLSearchParams();
    const st = Array.isArray(params.status) ? params.status.join(',') : params.status;
    if (st) q.set('status', st);
    if (params.limit !== undefined) q.set('limit', String(params.limit));
    if (params.cursor) q.set('cursor', params.cursor);
    const qs = q.toString();
    const body = await this.request('GET', `/jobs${qs ? '?' + qs : ''}`, undefined, options);
    const b = body as { jobs?: unknown; next_cursor?: unknown } | unknown[] | null;
    const raw = Array.isArray(b) ? b : b && Array.isArray(b.jobs) ? b.jobs : null;
    if (!raw) throw new HydraError(0, 'bad_response', 'expected {"jobs": [...]} from GET /jobs', body);
    const next = Array.isArray(b) ? null : b?.next_cursor;
    return {
      jobs: raw.map(normalizeStatus),
      next_cursor: typeof next === 'string' && next !== '' ? next : null,
    };
  }

  /** Every job matching params, page after page (`limit` is the page size). */
  async *iterateJobs(params: ListJobsParams = {}, options?: RequestOptions): AsyncGenerator<RenderStatus> {
    let cursor = params.cursor ?? null;
    do {
      const page = await this.listJobs({ ...params, cursor }, options);
      yield* page.jobs;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /**
   * Poll until the job reaches a final state, the interval growing from
   * intervalMs by backoffFactor up to maxIntervalMs.
   *
   * Resolves with the status when the job `completed`. Rejects with a
   * RenderFailedError (a HydraError whose `job` is the final status) when it
   * ended `failed` or `canceled`, so `await waitForRender(id)` either gives a
   * finished video or throws. Network errors, timeouts, 429 and 5xx while
   * polling are retried (honouring Retry-After); other HTTP errors (404 for
   * an unknown id, 401) reject at once. timeoutMs rejects with HydraError
   * code `timeout` (its `body` is the last status seen).
   */
  async waitForRender(jobId: string, options: WaitOptions = {}): Promise<RenderStatus> {
    const intervalMs = Math.max(0, options.intervalMs ?? 1000);
    const maxIntervalMs = Math.max(intervalMs, options.maxIntervalMs ?? 10_000);
    const factor = Math.max(1, options.backoffFactor ?? 1.5);
    const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Infinity;
    const { signal, onProgress } = options;
    let delay = intervalMs;
    let last: RenderStatus | undefined;
    for (;;) {
      let wait = delay;
      try {
        const remaining = deadline - Date.now();
        const perRequest = this.timeoutMs > 0 ? Math.min(this.timeoutMs, remaining) : remaining;
        const st = await this.getRenderStatus(jobId, {
          signal,
          timeoutMs: Number.isFinite(perRequest) ? Math.max(1, perRequest) : 0,
        });
        last = st;
        onProgress?.(st);
        if (st.status === 'completed') return st;
        if (isFinalState(st.status)) throw new RenderFailedError(st);
      } catch (e) {
        if (signal?.aborted) throw abortReason(signal);
        if (!(e instanceof HydraError) || e instanceof RenderFailedError || !isTransient(e)) throw e;
        if (e.retryAfterMs !== undefined) wait = Math.max(wait, Math.min(e.retryAfterMs, maxIntervalMs));
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new HydraError(0, 'timeout', `job ${jobId} not finished within ${options.timeoutMs} ms`, last);
      }
      await sleep(Math.min(wait, remaining), signal);
      delay = Math.min(delay * factor, maxIntervalMs);
    }
  }

  /** submitRenderJob then waitForRender: resolves with the completed status. */
  async renderAndWait(request: RenderRequest, options: WaitOptions = {}): Promise<RenderStatus> {
    const st = await this.submitRenderJob(request, { signal: options.signal });
    if (st.status === 'completed') {
      options.onProgress?.(st);
      return st;
    }
    return this.waitForRender(st.job_id, options);
  }

  /** `GET /healthz`: resolves with its body (or true for an empty 2xx). */
  async health(options?: RequestOptions): Promise<unknown> {
    const body = await this.request('GET', '/healthz', undefined, options);
    return body ?? true;
  }

  /**
   * One API call: JSON in and out, API key, per-request timeout linked with
   * the caller's signal. Resolves with the parsed JSON (or the text when
   * the body is not JSON, null when empty).
   */
  private async request(method: string, path: string, body: string | undefined, options?: RequestOptions): Promise<unknown> {
    const f: FetchLike | undefined =
      this.fetchImpl ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
    if (!f) throw new HydraError(0, 'config_error', 'no fetch implementation: pass options.fetch');
    const headers: Record<string, string> = { Accept: 'application/json', ...this.headers };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.apiKey) headers['Authorization'] = `Bearer ${this.apiKey}`;

    const userSignal = options?.signal;
    if (userSignal?.aborted) throw abortReason(userSignal);
    const timeoutMs = options?.timeoutMs ?? this.timeoutMs;
    const ctrl = new AbortController();
    let timedOut = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            ctrl.abort();
          }, timeoutMs)
        : undefined;
    const onAbort = () => ctrl.abort(userSignal!.reason);
    userSignal?.addEventListener('abort', onAbort, { once: true });
    const url = this.baseUrl + path;
    try {
      let res: Response;
      try {
        res = await f(url, { method, headers, body, signal: ctrl.signal });
      } catch (e) {
        throw this.transportError(e, method, url, timedOut, timeoutMs, userSignal);
      }
      if (!res.ok) {
        const err = await HydraError.fromResponse(res);
        err.retryAfterMs = retryAfterMs(res);
        throw err;
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        throw this.transportError(e, method, url, timedOut, timeoutMs, userSignal);
      }
      if (!text) return null;
      try {
        return JSON.parse(text);
      } catch {
        throw new HydraError(res.status, 'bad_response', `${method} ${path}: response is not JSON`, text);
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      userSignal?.removeEventListener('abort', onAbort);
    }
  }

  private transportError(
    e: unknown,
    method: string,
    url: string,
    timedOut: boolean,
    timeoutMs: number,
    userSignal: AbortSignal | undefined,
  ): unknown {
    if (userSignal?.aborted) return abortReason(userSignal);
    if (timedOut) return new HydraError(0, 'timeout', `${method} ${url}: no response within ${timeoutMs} ms`, undefined, { cause: e });
    const why = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    return new HydraError(0, 'network_error', `${method} ${url}: ${why}`, undefined, { cause: e });
  }
}
