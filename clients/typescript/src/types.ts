/**
 * The shapes of the Hydra Compose HTTP API (DESIGN.md §2 request, §3 status,
 * §9 callback). Field names are the wire names, snake_case, so a request
 * object is sent as is and a status is the parsed response body.
 */

/** `settings.vibe`: the style (DESIGN.md §4). Matched case-insensitively by the server. */
export type Vibe =
  | 'Exciting'
  | 'Emotional'
  | 'Pop'
  | 'Minimal'
  | 'Chill'
  | 'Intense'
  | 'Dreamy'
  | 'Energetic';

/** `settings.effect_preset`: overrides the vibe's transition family and motion emphasis. */
export type EffectPreset =
  | 'zoom_beat'
  | 'crossfade'
  | 'bounce'
  | 'minimal'
  | 'pulse_flow'
  | 'glitch_wave'
  | 'slide'
  | 'swirl';

export type AspectRatio = '9:16' | '16:9' | '1:1' | '4:5' | '4:3';
/** The short side of the output: 720p is 720×1280 at 9:16. */
export type Resolution = '720p' | '1080p' | '1440p' | '2160p';
export type Fps = 24 | 25 | 30 | 50 | 60;
export type TextStyle = 'bold_pop' | 'fade_in' | 'slide_in' | 'minimal';
export type ColorGrade =
  | 'vibrant'
  | 'cinematic'
  | 'bright'
  | 'moody'
  | 'natural'
  | 'bw'
  | 'warm'
  | 'cool'
  | 'vintage'
  | 'sepia';
/** `cover` crops to fill; `contain` letterboxes; `blur` contains over a blurred fill. */
export type Fit = 'cover' | 'contain' | 'blur';
/** `gpu` prefers NVENC and waits for a GPU slot where there is one; `cpu` never uses it. */
export type Hardware = 'auto' | 'gpu' | 'cpu';
export type Quality = 'draft' | 'standard' | 'high';

/** One input photo. A bare URL string is accepted by the server as shorthand for `{url}`. */
export interface RenderImage {
  /** `http(s)://`, `s3://bucket/key` or an S3 virtual-host URL. */
  url: string;
  /** Sort key; images without one keep their array position. */
  order?: number;
  /** Point of interest, 0..1 from the top-left; crops and motions keep it in frame. */
  focus?: { x: number; y: number };
}

export interface RenderAudio {
  url: string;
  /** Seconds into the track where the soundtrack starts (default 0). */
  start_time?: number;
  /** Seconds of music to use; null = as much as the video needs. */
  duration?: number | null;
}

export interface ScriptLine {
  /** Caption text, UTF-8 (Korean, Japanese, Chinese, emoji are shaped properly). */
  text: string;
  /** Start, seconds from the beginning of the video (default 0). */
  timing?: number;
  /** Seconds on screen (default set by the server). */
  duration?: number;
}

/** Effect names by kind; entry i is used at boundary / clip i, cycling. */
export interface AiEffects {
  transitions?: string[];
  motions?: string[];
  filters?: string[];
  text_animations?: string[];
  overlays?: string[];
}

export interface RenderSettings {
  vibe?: Vibe;
  effect_preset?: EffectPreset | null;
  aspect_ratio?: AspectRatio;
  /** Seconds; 0 = automatic (from the music or the vibe). */
  target_duration?: number;
  /** Seconds per image, clamped to 0.3–5; null = the vibe's pace. */
  cut_duration?: number | null;
  text_style?: TextStyle | null;
  color_grade?: ColorGrade | null;
  use_ai_effects?: boolean;
  ai_prompt?: string | null;
  ai_effects?: AiEffects;
  /** Addition over the original engine (default 30). */
  fps?: Fps;
  /** Addition (default `1080p`). */
  resolution?: Resolution;
  /** Addition (default `cover`). */
  fit?: Fit;
  /** Addition (default `auto`). */
  hardware?: Hardware;
  /** Addition (default `standard`). */
  quality?: Quality;
  /** Addition: every pseudo-random choice derives from it (same request, same video). Non-negative integer. */
  seed?: number;
}

export interface RenderOutput {
  s3_bucket?: string;
  /** Object key; default `renders/<job_id>.mp4`. */
  s3_key?: string;
}

/** Body of `POST /render` (DESIGN.md §2), compatible with the original engine's requests. */
export interface RenderRequest {
  /** Optional: the server generates `render-` + 8 hex when absent. Resubmitting the same
   * id with the same body is idempotent (200 with the existing job); a different body is 409. */
  job_id?: string;
  images: Array<RenderImage | string>;
  audio?: RenderAudio | null;
  script?: { lines?: ScriptLine[] } | null;
  settings?: RenderSettings;
  output?: RenderOutput;
  /** POSTed once per final state (see {@link CallbackPayload}). */
  callback_url?: string;
  /** HMAC key for `X-Hydra-Signature`; never sent back. Empty = the server's CALLBACK_SECRET. */
  callback_secret?: string;
  /** Any JSON object up to 1 KiB, echoed back in the status and the callback. */
  metadata?: Record<string, unknown>;
  /** Addition: higher runs first (-100..100, default 0). */
  priority?: number;
}

export type RenderState = 'queued' | 'processing' | 'completed' | 'failed' | 'canceled';
export type RenderStep = 'downloading' | 'analyzing' | 'rendering' | 'uploading' | 'finalizing';

/** The final states: a job in one of these never changes again (except by an explicit retry). */
export const FINAL_STATES: readonly RenderState[] = ['completed', 'failed', 'canceled'];

export function isFinalState(status: string): status is 'completed' | 'failed' | 'canceled' {
  return status === 'completed' || status === 'failed' || status === 'canceled';
}

export interface RenderErrorInfo {
  /** Machine-readable code, e.g. the server's error name. */
  code: string;
  /** Human-readable message naming the field or file and the reason. */
  message: string;
}

/** Body of `GET /render/status?job_id=` (DESIGN.md §3). Times are RFC 3339 UTC strings. */
export interface RenderStatus {
  job_id: string;
  status: RenderState;
  /** 0–100 from real work done (frames encoded, bytes uploaded). */
  progress: number;
  current_step: RenderStep | null;
  output_url: string | null;
  poster_url: string | null;
  error: RenderErrorInfo | null;
  batch_job_id: string | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  /** Length of the output video, seconds. */
  duration_s: number | null;
  /** Wall time of the render, seconds. */
  render_s: number | null;
  /** `libx264`, `h264_nvenc`, ... */
  encoder: string | null;
  /** Why that encoder (e.g. why NVENC was not used). */
  encoder_reason: string | null;
  attempts: number;
  metadata: Record<string, unknown> | null;
  frames_done: number;
  frames_total: number;
  warnings: string[];
}

/** One page of `GET /jobs`. */
export interface JobList {
  jobs: RenderStatus[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

export interface ListJobsParams {
  /** One state, or several (sent comma-separated). */
  status?: RenderState | RenderState[];
  /** 1..1000 (server default applies when absent). */
  limit?: number;
  cursor?: string | null;
}

/** Body of the completion callback (DESIGN.md §9). Verify it first with verifyWebhookSignature. */
export interface CallbackPayload {
  job_id: string;
  status: RenderState;
  output_url: string | null;
  poster_url: string | null;
  error: RenderErrorInfo | null;
  metadata: Record<string, unknown> | null;
  duration_s: number | null;
  render_s: number | null;
}

/** Values of the `X-Hydra-Event` callback header (others may be added; treat unknown ones as informational). */
export type CallbackEvent = 'render.completed' | 'render.failed' | (string & {});
