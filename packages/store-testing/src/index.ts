export { createMemoryStore } from './memory-store.js';
export {
  LineSession,
  type TranscriptOptions,
  type TranscriptResult,
  type TranscriptTarget,
  transcript,
} from './transcript.js';
