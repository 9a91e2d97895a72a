/**
 * Errors thrown by the client. Everything it throws (other than an abort
 * the caller asked for through its own AbortSignal) is a HydraError, so one
 * `instanceof` check covers HTTP errors, network failures, timeouts and
 * failed renders.
 */
import type { RenderStatus } from './types.js';

/** Codes the client itself uses when there is no server error body. */
export type ClientErrorCode =
  | 'network_error' // fetch rejected: DNS, refused, reset, CORS
  | 'timeout' // a request (timeoutMs) or waitForRender (its timeoutMs) ran out of time
  | 'bad_response' // a 2xx whose body is not the JSON expected
  | 'config_error' // no base URL configured
  | 'render_failed' // waitForRender: the job ended failed and carried no error code
  | 'canceled'; // waitForRender: the job ended canceled

export class HydraError extends Error {
  /** HTTP status of the response that caused it; 0 when there was none (network, timeout, a failed render). */
  readonly status: number;
  /** The server's `error.code` (e.g. `INVAL`, `NOTFOUND`, `CONFLICT`), else a {@link ClientErrorCode} or `http_<status>`. */
  readonly code: string;
  /** The parsed response body when there was one (JSON or text), for diagnostics. */
  readonly body: unknown;
  /** From a Retry-After header (429, 503), in ms. */
  retryAfterMs?: number;

  constructor(status: number, code: string, message: string, body?: unknown, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'HydraError';
    this.status = status;
    this.code = code;
    this.body = body;
  }

  /** The error as the server's `{code, message}` shape. */
  get error(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }

  /** Build from a non-2xx response: `{"error":{"code","message"}}` when the server sent it. */
  static async fromResponse(res: Response): Promise<HydraError> {
    let text = '';
    try {
      text = await res.text();
    } catch {
      /* the body could not be read: keep the status line */
    }
    let body: unknown = text;
    let code = `http_${res.status}`;
    let message = `HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON (a proxy's HTML page): keep a short excerpt */
        message += `: ${text.slice(0, 200)}`;
      }
    }
    const err = (body as { error?: unknown } | null)?.error;
    if (err && typeof err === 'object') {
      const e = err as { code?: unknown; message?: unknown };
      if (typeof e.code === 'string' && e.code) code = e.code;
      if (typeof e.message === 'string' && e.message) message = e.message;
    } else if (typeof err === 'string' && err) {
      message = err; // the original engine's {"error": "..."}
    }
    return new HydraError(res.status, code, message, body);
  }
}

/**
 * Rejection of {@link HydraClient.waitForRender} when the job reached a final
 * state other than `completed`. `job` is that final status; `code` is the
 * job's `error.code` (or `canceled` / `render_failed`); `status` is 0.
 */
export class RenderFailedError extends HydraError {
  readonly job: RenderStatus;

  constructor(job: RenderStatus) {
    const code = job.error?.code || (job.status === 'canceled' ? 'canceled' : 'render_failed');
    const message =
      job.error?.message || (job.status === 'canceled' ? `job ${job.job_id} was canceled` : `job ${job.job_id} failed`);
    super(0, code, message, job);
    this.name = 'RenderFailedError';
    this.job = job;
  }
}
