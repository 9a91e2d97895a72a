// Compile-only check (npm run typecheck): code written as the original
// engine's guide shows it (lib/compose-api.ts) type-checks against this
// library, and the DESIGN.md §2 request with every field is a RenderRequest.
import {
  HydraClient,
  HydraError,
  RenderFailedError,
  getRenderStatus,
  submitRenderJob,
  verifyWebhookSignature,
  type CallbackPayload,
  type RenderRequest,
  type RenderStatus,
} from '../src/index.js';

// As in the guide: submitRenderJob(request: RenderRequest), getRenderStatus(jobId: string).
export async function guideUsage(): Promise<void> {
  const request: RenderRequest = {
    job_id: 'test-001',
    images: [{ url: 'https://example.com/image1.jpg' }],
    settings: { vibe: 'Pop', aspect_ratio: '9:16', target_duration: 15 },
  };
  const submitted = await submitRenderJob(request);
  const status: RenderStatus = await getRenderStatus(submitted.job_id);
  if (status.status === 'completed') console.log(status.output_url?.toUpperCase());
}

// DESIGN.md §2 in full, with the additions.
export const full: RenderRequest = {
  job_id: 'test-001',
  images: [{ url: 'https://a/a.jpg', order: 0, focus: { x: 0.5, y: 0.3 } }, 'https://a/b.jpg'],
  audio: { url: 'https://a/m.mp3', start_time: 0, duration: null },
  script: { lines: [{ text: '안녕하세요', timing: 1.0, duration: 3 }] },
  settings: {
    vibe: 'Pop',
    effect_preset: 'zoom_beat',
    aspect_ratio: '9:16',
    target_duration: 15,
    cut_duration: null,
    text_style: 'bold_pop',
    color_grade: 'vibrant',
    use_ai_effects: true,
    ai_prompt: null,
    ai_effects: { transitions: [], motions: [], filters: [], text_animations: [], overlays: [] },
    fps: 30,
    resolution: '1080p',
    fit: 'blur',
    hardware: 'auto',
    quality: 'standard',
    seed: 42,
  },
  output: { s3_bucket: 'b', s3_key: 'renders/test-001.mp4' },
  callback_url: 'https://app/api/callback',
  callback_secret: 's',
  metadata: { user: 1 },
  priority: 10,
};

// @ts-expect-error: an unknown vibe is a compile error
export const badVibe: RenderRequest = { images: [], settings: { vibe: 'Loud' } };
// @ts-expect-error: fps is one of 24, 25, 30, 50, 60
export const badFps: RenderRequest = { images: [], settings: { fps: 29 } };

export async function clientUsage(): Promise<string | null> {
  const c = new HydraClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: 'k', timeoutMs: 5000 });
  try {
    const done = await c.waitForRender('x', { intervalMs: 500, maxIntervalMs: 5000, onProgress: (s) => s.progress });
    const page = await c.listJobs({ status: 'failed', limit: 10 });
    page.jobs.forEach((j) => j.error?.code);
    await c.cancelRenderJob('x');
    return done.output_url;
  } catch (e) {
    if (e instanceof RenderFailedError) return e.job.error?.message ?? null;
    if (e instanceof HydraError && e.status === 404) return null;
    throw e;
  }
}

export async function webhook(raw: string, header: string | null): Promise<CallbackPayload | null> {
  if (!(await verifyWebhookSignature(raw, header, 'secret'))) return null;
  return JSON.parse(raw) as CallbackPayload;
}
