/**
 * @hydra-compose/client: TypeScript client for the Hydra Compose Engine
 * HTTP job API. See README.md.
 */
export { HydraClient, normalizeStatus } from './client.js';
export type { FetchLike, HydraClientOptions, RequestOptions, WaitOptions } from './client.js';
export { HydraError, RenderFailedError } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export { verifyWebhookSignature, signWebhookPayload, parseSignatureHeader } from './webhook.js';
export type { VerifyWebhookOptions } from './webhook.js';
export {
  configure,
  defaultClient,
  submitRenderJob,
  getRenderStatus,
  cancelRenderJob,
  listJobs,
  waitForRender,
  renderAndWait,
} from './defaults.js';
export { FINAL_STATES, isFinalState } from './types.js';
export type {
  AiEffects,
  AspectRatio,
  CallbackEvent,
  CallbackPayload,
  ColorGrade,
  EffectPreset,
  Fit,
  Fps,
  Hardware,
  JobList,
  ListJobsParams,
  Quality,
  RenderAudio,
  RenderErrorInfo,
  RenderImage,
  RenderOutput,
  RenderRequest,
  RenderSettings,
  RenderState,
  RenderStatus,
  RenderStep,
  Resolution,
  ScriptLine,
  TextStyle,
  Vibe,
} from './types.js';
