/**
 * Standalone functions in the shape of the original engine's guide
 * (`lib/compose-api.ts`): `submitRenderJob(request)` and
 * `getRenderStatus(jobId)` against a base URL from the environment, so code
 * written for it keeps working with an import change.
 *
 * The base URL is, in order: configure({baseUrl}); env
 * NEXT_PUBLIC_HYDRA_COMPOSE_API; env NEXT_PUBLIC_AWS_COMPOSE_API (the
 * guide's name); env HYDRA_COMPOSE_API. The API key (server side only) is
 * configure({apiKey}) or env HYDRA_COMPOSE_API_KEY. Each variable is read
 * as a literal `process.env.NAME` so that Next.js and other bundlers inline
 * the NEXT_PUBLIC_ ones into browser code.
 */
import { HydraClient } from './client.js';
import type { HydraClientOptions, RequestOptions, WaitOptions } from './client.js';
import { HydraError } from './errors.js';
import type { JobList, ListJobsParams, RenderRequest, RenderStatus } from './types.js';

declare const process: { env: Record<string, string | undefined> };

/* One try per variable: where `process` does not exist each read throws. */
function envBaseUrl(): string | undefined {
  try {
    if (process.env.NEXT_PUBLIC_HYDRA_COMPOSE_API) return process.env.NEXT_PUBLIC_HYDRA_COMPOSE_API;
  } catch {
    /* no process (browser without a bundler) */
  }
  try {
    if (process.env.NEXT_PUBLIC_AWS_COMPOSE_API) return process.env.NEXT_PUBLIC_AWS_COMPOSE_API;
  } catch {
    /* as above */
  }
  try {
    if (process.env.HYDRA_COMPOSE_API) return process.env.HYDRA_COMPOSE_API;
  } catch {
    /* as above */
  }
  return undefined;
}

function envApiKey(): string | undefined {
  try {
    return process.env.HYDRA_COMPOSE_API_KEY || undefined;
  } catch {
    return undefined;
  }
}

let configured: HydraClient | undefined;
let fromEnv: HydraClient | undefined;

/** Set the client the standalone functions use. */
export function configure(options: HydraClientOptions): HydraClient {
  configured = new HydraClient(options);
  return configured;
}

/** The client the standalone functions use: configure()'s, else one from the environment. */
export function defaultClient(): HydraClient {
  if (configured) return configured;
  const baseUrl = envBaseUrl();
  if (!baseUrl) {
    throw new HydraError(
      0,
      'config_error',
      'no API base URL: call configure({baseUrl}) or set NEXT_PUBLIC_HYDRA_COMPOSE_API (or NEXT_PUBLIC_AWS_COMPOSE_API)',
    );
  }
  const apiKey = envApiKey();
  if (!fromEnv || fromEnv.baseUrl !== baseUrl.replace(/\/+$/, '')) fromEnv = new HydraClient({ baseUrl, apiKey });
  return fromEnv;
}

export async function submitRenderJob(request: RenderRequest, options?: RequestOptions): Promise<RenderStatus> {
  return defaultClient().submitRenderJob(request, options);
}

export async function getRenderStatus(jobId: string, options?: RequestOptions): Promise<RenderStatus> {
  return defaultClient().getRenderStatus(jobId, options);
}

export async function cancelRenderJob(jobId: string, options?: RequestOptions): Promise<RenderStatus> {
  return defaultClient().cancelRenderJob(jobId, options);
}

export async function listJobs(params?: ListJobsParams, options?: RequestOptions): Promise<JobList> {
  return defaultClient().listJobs(params, options);
}

export async function waitForRender(jobId: string, options?: WaitOptions): Promise<RenderStatus> {
  return defaultClient().waitForRender(jobId, options);
}

export async function renderAndWait(request: RenderRequest, options?: WaitOptions): Promise<RenderStatus> {
  return defaultClient().renderAndWait(request, options);
}
