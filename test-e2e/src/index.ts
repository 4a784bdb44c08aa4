export { curl, freePort, listening, type Ports, python, REPO_ROOT, type Stack, startStack } from './stack.js';
