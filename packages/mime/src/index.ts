export { MISSING_HOST, parseAddressList } from './address.js';
export { decodeHeaderValue } from './encoded-word.js';
export { filterHeaderFields, type HeaderField, parseHeader } from './header.js';
export {
  bodyMatches,
  containsFolded,
  foldText,
  headerFieldMatches,
  headerMayMatch,
  type TextQuery,
  textQuery,
} from './search-match.js';
export { extractSearchText, type SearchText } from './search-text.js';
export { findSection, readSection, type SectionSpec, type SectionText } from './section.js';
export { MAX_MIME_DEPTH, MAX_MIME_PARTS, parseMessageStructure } from './structure.js';
