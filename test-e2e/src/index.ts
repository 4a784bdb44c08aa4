export {
  curl,
  freePort,
  listening,
  type Ports,
  python,
  REPO_ROOT,
  type Stack,
  startStack,
  stopGroup,
} from './stack.js';
