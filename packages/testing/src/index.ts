export {
  DEFAULT_DOMAIN,
  DEFAULT_WAIT_TIMEOUT_MS,
  type Endpoint,
  type StartYubinOptions,
  startYubin,
  type TestUser,
  WAIT_POLL_MS,
  type WaitForMessageOptions,
  type Yubin,
} from './kit.js';
export { type MessageCriteria, matches, type ReceivedMessage, type TextMatcher } from './match.js';
